"""One table per KPI of CONTRACT §5: a few events in, the KPI out.

Times are local (Asia/Ho_Chi_Minh). Stream time is the latest event's time, so a case moves
"now" forward with a ``tick`` (an event of an unrelated document).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from citypulse.schemas import Event
from citypulse.streams.kpi import KpiConfig, KpiEngine, KpiSnapshot
from tests.support.events import document, dossier

STP = ("TTH", "STP")
_ticks = iter(range(1, 10**9))


def tick(when: str) -> Event:
    """Move stream time to ``when`` without touching any dossier (a document from elsewhere)."""
    return document("received", f"TICK-{next(_ticks)}", when, agency="SNV")


def snapshot(events: Sequence[Event], **config: Any) -> KpiSnapshot:
    engine = KpiEngine(KpiConfig(**config))
    for e in events:
        engine.apply(e)
    return engine.report().agencies[STP]


CASES: list[tuple[str, list[Event], str, object]] = [
    # dossiers received, by channel and service level
    ("received counts submissions by label",
     [dossier("submitted", "D1", "2026-03-02 08:00", channel="online"),
      dossier("submitted", "D2", "2026-03-02 08:05", channel="counter", service_level="partial")],
     "received", {"online/full_process": 1, "counter/partial": 1}),
    # online submission rate
    ("online submission rate",
     [dossier("submitted", f"D{i}", "2026-03-02 08:00", channel=c)
      for i, c in enumerate(["online", "online", "online", "postal"])],
     "rates.online_submission", 0.75),
    # full-process online rate
    ("full-process rate",
     [dossier("submitted", f"D{i}", "2026-03-02 08:00", service_level=lv)
      for i, lv in enumerate(["full_process", "partial", "offline", "offline"])],
     "rates.full_process", 0.25),
    # open dossiers (backlog)
    ("open: submitted, not resolved or withdrawn",
     [dossier("submitted", "D1", "2026-03-02 08:00"), dossier("submitted", "D2", "2026-03-02 08:00"),
      dossier("submitted", "D3", "2026-03-02 08:00"),
      dossier("resolved", "D2", "2026-03-02 09:00"), dossier("withdrawn", "D3", "2026-03-02 09:00")],
     "open", 1),
    # overdue open dossiers
    ("overdue once stream time passes due_at",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:10"),
      tick("2026-03-03 08:11")],
     "overdue", 1),
    ("not overdue at due_at exactly",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:10"),
      tick("2026-03-03 08:10")],
     "overdue", 0),
    ("not overdue when not accepted",
     [dossier("submitted", "D1", "2026-03-02 08:00"), tick("2026-04-02 08:00")],
     "overdue", 0),
    ("not overdue once resolved",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:10"),
      dossier("resolved", "D1", "2026-03-04 08:00")],
     "overdue", 0),
    # due-soon open dossiers
    ("due soon within 24 h",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:00")],
     "due_soon", 1),
    ("not due soon beyond 24 h",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:11")],
     "due_soon", 0),
    ("due soon at due_at exactly",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-03 08:10"),
      tick("2026-03-03 08:10")],
     "due_soon", 1),
    # on-time resolution rate
    ("resolved by due_at is on time",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-05 17:00"),
      dossier("resolved", "D1", "2026-03-05 17:00")],
     "resolved", {"approved/on_time": 1}),
    ("resolved after due_at is late",
     [dossier("submitted", "D1", "2026-03-02 08:00"),
      dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-05 17:00"),
      dossier("resolved", "D1", "2026-03-05 17:01", outcome="rejected")],
     "resolved", {"rejected/late": 1}),
    ("never accepted counts as late once the lateness has passed",
     [dossier("submitted", "D1", "2026-03-02 08:00"), dossier("resolved", "D1", "2026-03-02 09:00"),
      tick("2026-03-02 10:01")],
     "resolved", {"approved/late": 1}),
    ("never accepted is pending while an acceptance could still arrive",
     [dossier("submitted", "D1", "2026-03-02 08:00"), dossier("resolved", "D1", "2026-03-02 09:00"),
      tick("2026-03-02 10:00")],
     "resolution_pending", 1),
    ("on-time rate",
     sorted((e for i, late in enumerate([False, False, False, True]) for e in (
         dossier("submitted", f"D{i}", "2026-03-02 08:00"),
         dossier("accepted", f"D{i}", "2026-03-02 08:10", due_at="2026-03-03 08:00"),
         dossier("resolved", f"D{i}", "2026-03-03 09:00" if late else "2026-03-02 15:00"))),
         key=lambda e: e.occurred_at),
     "rates.on_time_resolution", 0.75),
    # processing time
    ("processing time is resolved - submitted, in seconds",
     [dossier("submitted", "D1", "2026-03-02 08:00"), dossier("resolved", "D1", "2026-03-03 08:00")],
     "processing.sum", 86400.0),
    ("processing time falls in the le=1d bucket",
     [dossier("submitted", "D1", "2026-03-02 08:00"), dossier("resolved", "D1", "2026-03-03 08:00")],
     "processing.counts[3]", 1),
    # online result rate
    ("online result rate: online and postal over all",
     [dossier("result_returned", f"D{i}", "2026-03-02 10:00", delivery=d)
      for i, d in enumerate(["online", "postal", "counter"])],
     "rates.online_result", 2 / 3),
    # satisfaction
    ("satisfaction: score >= 4",
     [dossier("rated", f"D{i}", "2026-03-02 10:00", score=s) for i, s in enumerate([5, 4, 3, 1])],
     "ratings", {"true": 2, "false": 2}),
    # documents sent, electronic rate, digital signature rate
    ("documents sent by format and signature",
     [document("sent", "V1", "2026-03-02 08:00", format="electronic", signed=True),
      document("sent", "V2", "2026-03-02 08:00", format="electronic", signed=False),
      document("sent", "V3", "2026-03-02 08:00", format="paper", signed=False)],
     "documents_sent", {"electronic/true": 1, "electronic/false": 1, "paper/false": 1}),
    ("electronic document rate",
     [document("sent", f"V{i}", "2026-03-02 08:00", format=f, signed=False)
      for i, f in enumerate(["electronic", "electronic", "electronic", "paper"])],
     "rates.electronic_document", 0.75),
    ("digital signature rate is over electronic documents only",
     [document("sent", "V1", "2026-03-02 08:00", format="electronic", signed=True),
      document("sent", "V2", "2026-03-02 08:00", format="electronic", signed=False),
      document("sent", "V3", "2026-03-02 08:00", format="paper", signed=True)],
     "rates.digital_signature", 0.5),
    # delivery time
    ("delivery time is received - sent",
     [document("sent", "V1", "2026-03-02 08:00"), document("received", "V1", "2026-03-02 08:20")],
     "delivery.sum", 1200.0),
    ("delivery is attributed to the sender even when received is seen first",
     [document("received", "V1", "2026-03-02 08:20", agency="SNV"),
      document("sent", "V1", "2026-03-02 08:00")],
     "delivery.counts[3]", 1),
    # undelivered documents
    ("undelivered after more than 24 h",
     [document("sent", "V1", "2026-03-02 08:00"), tick("2026-03-03 08:01")],
     "undelivered", 1),
    ("not undelivered at 24 h",
     [document("sent", "V1", "2026-03-02 08:00"), tick("2026-03-03 08:00")],
     "undelivered", 0),
    ("not undelivered once received",
     [document("sent", "V1", "2026-03-02 08:00"), document("received", "V1", "2026-03-04 08:00")],
     "undelivered", 0),
]  # fmt: skip


def lookup(snap: KpiSnapshot, path: str) -> object:
    value: Any = snap
    for part in path.split("."):
        name, _, index = part.partition("[")
        value = value[name] if isinstance(value, dict) else getattr(value, name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value


@pytest.mark.parametrize(
    ("events", "path", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_kpi(events: list[Event], path: str, expected: object) -> None:
    assert lookup(snapshot(events), path) == expected


@pytest.mark.parametrize(
    ("config", "path", "expected"),
    [
        ({"due_soon_horizon": 48 * 3600}, "due_soon", 1),
        ({"undelivered_after": 3600}, "undelivered", 1),
    ],
)
def test_horizons_are_configurable(config: dict[str, Any], path: str, expected: int) -> None:
    events = [
        dossier("submitted", "D1", "2026-03-02 08:00"),
        dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-04 08:00"),
        document("sent", "V1", "2026-03-02 08:00"),
        tick("2026-03-02 09:30"),
    ]
    assert lookup(snapshot(events, **config), path) == expected


def test_today_ratios_and_the_index_use_todays_events_only() -> None:
    events = [
        dossier("submitted", "Y1", "2026-03-01 10:00", channel="counter"),  # yesterday
        dossier("submitted", "D1", "2026-03-02 08:00", channel="online"),
        dossier("submitted", "D2", "2026-03-02 08:30", channel="counter"),
        document("sent", "V1", "2026-03-02 09:00", format="electronic", signed=True),
    ]
    snap = snapshot(events)
    assert snap.today["received"] == 2
    assert snap.today_rates["online_submission"] == 0.5
    assert snap.rates["online_submission"] == 1 / 3
    weights = dict(KpiConfig().index_weights)
    # defined today: online_submission 0.5, full_process 1.0, electronic 1.0, signature 1.0
    expected = (
        weights["online_submission"] * 0.5 + weights["full_process"] * 1.0
        + weights["electronic_document"] * 1.0 + weights["digital_signature"] * 1.0
    ) / (weights["online_submission"] + weights["full_process"] + weights["electronic_document"]
         + weights["digital_signature"])  # fmt: skip
    assert snap.digital_government_index(KpiConfig().index_weights) == pytest.approx(expected)


def test_province_totals_are_sums_and_ratios_are_recomputed_not_averaged() -> None:
    engine = KpiEngine()
    for e in [
        dossier("submitted", "A1", "2026-03-02 08:00", agency="STP", channel="online"),
        dossier("submitted", "B1", "2026-03-02 08:00", agency="SXD", channel="counter"),
        dossier("submitted", "B2", "2026-03-02 08:00", agency="SXD", channel="counter"),
        dossier("submitted", "B3", "2026-03-02 08:00", agency="SXD", channel="counter"),
    ]:
        engine.apply(e)
    report = engine.report()
    assert report.agencies[("TTH", "STP")].rates["online_submission"] == 1.0
    assert report.agencies[("TTH", "SXD")].rates["online_submission"] == 0.0
    assert report.provinces["TTH"].rates["online_submission"] == 0.25  # not (1 + 0) / 2
    assert report.provinces["TTH"].open == 4
