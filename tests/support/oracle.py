"""Reference oracle: every KPI recomputed naively from a finished list of events.

Deliberately written without the engine's code (no import from ``citypulse.streams``):
it walks the arrival order once to decide what is a duplicate or late, then groups the
accepted events by entity and counts. Semantics it encodes (docs/kpis.md):

* stream time = largest ``occurred_at`` accepted; late = older than stream time - lateness
  on arrival; duplicate = an ``event_id`` already accepted;
* per entity, the first accepted event of each once-per-lifecycle step counts (resolution
  and withdrawal share one "closing" step);
* a dossier's labels are those of its submission, else of its first accepted event;
  a document's those of its ``document.sent``;
* a resolution is on time if the dossier was accepted no later than the resolution and
  resolved by ``due_at``; without such an acceptance it counts as late once stream time is
  past ``resolved_at + lateness`` (until then it is pending and not counted);
* today and the month: the local day and calendar month of stream time; a step counts in a
  period if its own time falls in it;
* the service index: CONTRACT §8 as written, from the period's rates and the published shares
  of the reference data (a province's: the mean of its agencies' that have one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from citypulse.schemas import Event
from citypulse.schemas.document import DocumentEventBase
from citypulse.schemas.reference import ScoringTable

__all__ = ["classify", "oracle_report"]

_ONCE = {
    "dossier.submitted": "submitted",
    "dossier.accepted": "accepted",
    "dossier.resolved": "closing",
    "dossier.withdrawn": "closing",
    "dossier.result_returned": "returned",
    "dossier.rated": "rated",
    "dossier.paid": "paid",
    "document.sent": "sent",
    "document.received": "received",
}

_TODAY = (
    "received", "received_online", "received_full_process", "resolved", "resolved_on_time",
    "results_returned", "results_online", "ratings", "ratings_satisfied", "documents_sent",
    "documents_electronic", "documents_signed", "accepted", "accepted_digitized", "payments",
    "payments_online", "results_electronic",
)  # fmt: skip


def _ts(e: Event) -> float:
    return e.occurred_at.timestamp()


def _div(a: int, b: int) -> float | None:
    return a / b if b else None


def _histogram(bounds: Sequence[float], values: Iterable[float]) -> dict[str, Any]:
    counts = [0] * (len(bounds) + 1)
    total = 0.0
    for v in values:
        i = 0
        while i < len(bounds) and v > bounds[i]:
            i += 1
        counts[i] += 1
        total += v
    return {"bounds": list(bounds), "counts": counts, "sum": total}


def _period_rates(t: Mapping[str, int]) -> dict[str, float | None]:
    """The rates of a period's counts (today, the month)."""
    return {
        "online_submission": _div(t["received_online"], t["received"]),
        "full_process": _div(t["received_full_process"], t["received"]),
        "on_time_resolution": _div(t["resolved_on_time"], t["resolved"]),
        "online_result": _div(t["results_online"], t["results_returned"]),
        "satisfaction": _div(t["ratings_satisfied"], t["ratings"]),
        "electronic_document": _div(t["documents_electronic"], t["documents_sent"]),
        "digital_signature": _div(t["documents_signed"], t["documents_electronic"]),
        "digitization": _div(t["accepted_digitized"], t["accepted"]),
        "online_payment": _div(t["payments_online"], t["payments"]),
        "electronic_result": _div(t["results_electronic"], t["results_returned"]),
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _service_index(
    rates: Mapping[str, float | None], share: float | None, scoring: ScoringTable
) -> dict[str, float]:
    """CONTRACT §8, as written there: undefined indicators and groups left out, rescaled."""
    groups: dict[str, float] = {}
    for group, most in scoring.groups:
        scores = []
        for i in scoring.indicators:
            rate = share if i.rate == "published" else rates[i.rate]
            if i.group == group and rate is not None:
                scores.append((i.points * min(1.0, rate / i.full_marks_at), i.points))
        if scores:
            groups[group] = most * sum(s for s, _ in scores) / sum(p for _, p in scores)
    if not groups:
        return {}
    defined = sum(most for group, most in scoring.groups if group in groups)
    return {**groups, "total": 100 * sum(groups.values()) / defined}


def classify(
    arrivals: Sequence[Event], lateness: float, stream_of: Callable[[Event], str] | None = None
) -> list[str]:
    """For each arrival: "applied", "duplicate" or "late" (per stream, in arrival order)."""
    seen: set[str] = set()
    streams: dict[str, float] = {}
    out = []
    for e in arrivals:
        name = stream_of(e) if stream_of else ""
        if e.event_id in seen:
            out.append("duplicate")
        elif name in streams and _ts(e) < streams[name] - lateness:
            out.append("late")
        else:
            seen.add(e.event_id)
            streams[name] = max(streams.get(name, _ts(e)), _ts(e))
            out.append("applied")
    return out


def oracle_report(
    arrivals: Sequence[Event],
    *,
    lateness: float,
    due_soon_horizon: float,
    undelivered_after: float,
    timezone: str,
    processing_bounds: Sequence[float],
    delivery_bounds: Sequence[float],
    index_weights: Sequence[tuple[str, float]],
    scoring: ScoringTable | None = None,
    published_shares: Mapping[tuple[str, str], float] | None = None,
    stream_of: Callable[[Event], str] | None = None,
) -> dict[str, Any]:
    """KPIs of ``arrivals`` (decoded events in arrival order), shaped like ``KpiReport.to_dict()``.

    ``stream_of(event)`` names the stream (input partition) an event arrived on: lateness is
    judged against that stream's time, and a pending resolution settles against it. Without
    it everything is one stream. "Now" for every KPI is the largest time of all streams.
    """
    zone = ZoneInfo(timezone)
    published_shares = published_shares or {}

    def day(t: float) -> str:
        return datetime.fromtimestamp(t, zone).date().isoformat()

    # 1. arrival order: what counts at all
    accepted: list[Event] = []
    seen: set[str] = set()
    streams: dict[str, float] = {}
    stream_name: dict[str, str] = {}  # entity -> stream
    for e in arrivals:
        name = stream_of(e) if stream_of else ""
        if e.event_id in seen:
            continue
        if name in streams and _ts(e) < streams[name] - lateness:
            continue
        seen.add(e.event_id)
        accepted.append(e)
        streams[name] = max(streams.get(name, _ts(e)), _ts(e))
        stream_name[e.document_id if isinstance(e, DocumentEventBase) else e.dossier_id] = name
    if not streams:
        return {"stream_time": None, "day": "", "agencies": {}, "provinces": {}}
    now = max(streams.values())
    today = day(now)

    def periods(t: float) -> list[str]:
        """The periods (today, the local calendar month of stream time) ``t`` falls in."""
        d = day(t)
        return [p for p, within in (("today", d == today), ("month", d[:7] == today[:7])) if within]

    # 2. group by entity, first of each once-per-lifecycle step
    steps: dict[str, dict[str, Event]] = defaultdict(dict)
    first_seen: dict[str, Event] = {}
    for e in accepted:
        entity = e.document_id if isinstance(e, DocumentEventBase) else e.dossier_id
        first_seen.setdefault(entity, e)
        once = steps[entity]
        if e.event_type in _ONCE:  # supplement requests and answers count in no KPI
            once.setdefault(_ONCE[e.event_type], e)

    # 3. facts per (province, agency)
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "received": Counter(), "resolved": Counter(), "resolution_pending": 0,
            "withdrawn": 0, "open": 0, "overdue": 0, "due_soon": 0, "accepted": Counter(),
            "results_returned": Counter(), "results_electronic": Counter(),
            "payments": Counter(), "ratings": Counter(), "documents_sent": Counter(),
            "undelivered": 0, "processing": [], "delivery": [], "today": Counter(),
            "month": Counter(),
        }
    )  # fmt: skip
    for entity, s in steps.items():
        if "sent" in s or "received" in s:
            sent = s.get("sent")
            if sent is None:
                continue
            r = rows[(sent.province, sent.agency)]
            fmt, signed = sent.format, sent.signed  # type: ignore[union-attr]
            r["documents_sent"][f"{fmt}/{str(signed).lower()}"] += 1
            for period in periods(_ts(sent)):
                r[period]["documents_sent"] += 1
                r[period]["documents_electronic"] += fmt == "electronic"
                r[period]["documents_signed"] += fmt == "electronic" and signed
            if "received" in s:
                r["delivery"].append(_ts(s["received"]) - _ts(sent))
            elif now - _ts(sent) > undelivered_after:
                r["undelivered"] += 1
            continue

        origin = s.get("submitted", first_seen[entity])
        r = rows[(origin.province, origin.agency)]
        sub, acc, closing = s.get("submitted"), s.get("accepted"), s.get("closing")
        if sub is not None:
            r["received"][f"{sub.channel}/{sub.service_level}"] += 1  # type: ignore[union-attr]
            for period in periods(_ts(sub)):
                r[period]["received"] += 1
                r[period]["received_online"] += sub.channel == "online"  # type: ignore[union-attr]
                r[period]["received_full_process"] += sub.service_level == "full_process"  # type: ignore[union-attr]
            if closing is None:
                r["open"] += 1
                if acc is not None:
                    due = acc.due_at.timestamp()  # type: ignore[union-attr]
                    if now > due:
                        r["overdue"] += 1
                    elif due - now <= due_soon_horizon:
                        r["due_soon"] += 1
        if acc is not None:
            digitized = acc.digitized  # type: ignore[union-attr]
            r["accepted"][str(digitized).lower()] += 1
            for period in periods(_ts(acc)):
                r[period]["accepted"] += 1
                r[period]["accepted_digitized"] += digitized
        if "paid" in s:
            channel = s["paid"].channel  # type: ignore[union-attr]
            r["payments"][channel] += 1
            for period in periods(_ts(s["paid"])):
                r[period]["payments"] += 1
                r[period]["payments_online"] += channel == "online"
        if closing is not None and closing.event_type == "dossier.withdrawn":
            r["withdrawn"] += 1
        elif closing is not None:
            resolved_at = _ts(closing)
            if acc is not None and _ts(acc) <= resolved_at:
                on_time: bool | None = resolved_at <= acc.due_at.timestamp()  # type: ignore[union-attr]
            elif resolved_at < streams[stream_name[entity]] - lateness:
                on_time = False
            else:
                on_time = None
            if on_time is None:
                r["resolution_pending"] += 1
            else:
                r["resolved"][f"{closing.outcome}/{'on_time' if on_time else 'late'}"] += 1  # type: ignore[union-attr]
                for period in periods(resolved_at):
                    r[period]["resolved"] += 1
                    r[period]["resolved_on_time"] += on_time
            if sub is not None:
                r["processing"].append(resolved_at - _ts(sub))
        if "returned" in s:
            delivery = s["returned"].delivery  # type: ignore[union-attr]
            electronic = s["returned"].electronic_result  # type: ignore[union-attr]
            r["results_returned"][delivery] += 1
            r["results_electronic"][delivery] += electronic
            for period in periods(_ts(s["returned"])):
                r[period]["results_returned"] += 1
                r[period]["results_online"] += delivery in ("online", "postal")
                r[period]["results_electronic"] += electronic
        if "rated" in s:
            satisfied = s["rated"].score >= 4  # type: ignore[union-attr]
            r["ratings"][str(satisfied).lower()] += 1
            for period in periods(_ts(s["rated"])):
                r[period]["ratings"] += 1
                r[period]["ratings_satisfied"] += satisfied

    def finish(parts: list[dict[str, Any]], share: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in (
            "received",
            "resolved",
            "accepted",
            "results_returned",
            "results_electronic",
            "payments",
            "ratings",
            "documents_sent",
            "today",
            "month",
        ):
            total: Counter[str] = Counter()
            for p in parts:
                total.update(p[name])
            out[name] = {k: v for k, v in total.items() if v}
        for name in (
            "resolution_pending",
            "withdrawn",
            "open",
            "overdue",
            "due_soon",
            "undelivered",
        ):
            out[name] = sum(p[name] for p in parts)
        out["processing"] = _histogram(
            processing_bounds, [v for p in parts for v in p["processing"]]
        )
        out["delivery"] = _histogram(delivery_bounds, [v for p in parts for v in p["delivery"]])
        out["today"] = {k: out["today"].get(k, 0) for k in _TODAY}
        out["month"] = {k: out["month"].get(k, 0) for k in _TODAY}
        rec, res, ret, rat, snt, acc_, pay, ele = (
            out[k]
            for k in (
                "received", "resolved", "results_returned", "ratings", "documents_sent",
                "accepted", "payments", "results_electronic",
            )
        )  # fmt: skip
        n_rec = sum(rec.values())
        electronic = sum(n for k, n in snt.items() if k.split("/")[0] == "electronic")
        out["rates"] = {
            "online_submission": _div(
                sum(n for k, n in rec.items() if k.split("/")[0] == "online"), n_rec
            ),
            "full_process": _div(
                sum(n for k, n in rec.items() if k.split("/")[1] == "full_process"), n_rec
            ),
            "on_time_resolution": _div(
                sum(n for k, n in res.items() if k.split("/")[1] == "on_time"), sum(res.values())
            ),
            "online_result": _div(ret.get("online", 0) + ret.get("postal", 0), sum(ret.values())),
            "satisfaction": _div(rat.get("true", 0), sum(rat.values())),
            "electronic_document": _div(electronic, sum(snt.values())),
            "digital_signature": _div(snt.get("electronic/true", 0), electronic),
            "digitization": _div(acc_.get("true", 0), sum(acc_.values())),
            "online_payment": _div(pay.get("online", 0), sum(pay.values())),
            "electronic_result": _div(sum(ele.values()), sum(ret.values())),
        }
        out["today_rates"] = _period_rates(out["today"])
        out["month_rates"] = _period_rates(out["month"])
        out["published_share"] = share
        out["service_index"] = (
            {}
            if scoring is None
            else {
                period: _service_index(out[f"{period}_rates"], share, scoring)
                for period in ("today", "month")
            }
        )
        num = den = 0.0
        for kpi, w in index_weights:
            value = out["today_rates"][kpi]
            if value is not None and w > 0:
                num += w * value
                den += w
        out["index"] = num / den if den else None
        return out

    provinces: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (province, _), r in rows.items():
        provinces[province].append(r)
    return {
        "stream_time": now,
        "day": today,
        "agencies": {
            f"{p}/{a}": finish([r], published_shares.get((p, a)))
            for (p, a), r in sorted(rows.items())
        },
        "provinces": {
            p: finish(parts, _mean([s for (q, _), s in published_shares.items() if q == p]))
            for p, parts in sorted(provinces.items())
        },
    }
