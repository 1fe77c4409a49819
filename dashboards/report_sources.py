"""Where a :class:`~citypulse.dashboards.report.Report` gets its figures.

* :func:`from_prometheus`: the series the wall shows, through Prometheus' HTTP API (the
  province's recorded ratios, the agencies' gauges), at the end of the period, and the
  province's rates over it (``query_range``);
* :func:`from_kpi_reports`: the core engine's reports, taken along a recording's stream time
  (``citypulse report --recording``), the same figures without any server.

Names come from the reference data in both cases, so the two pages read alike.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from citypulse.schemas import Reference
from citypulse.streams.kpi import KpiReport

from .report import KPIS, TRENDS, AgencyLine, Period, Report

__all__ = ["PrometheusError", "from_kpi_reports", "from_prometheus", "period_start", "step"]


class PrometheusError(RuntimeError):
    """Prometheus could not answer a query; the message says which and why."""


def period_start(period: Period, end: datetime) -> datetime:
    """The local midnight that starts the day (or the 7 days) ending at ``end``."""
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if period == "day" else midnight - timedelta(days=6)


def step(period: Period) -> timedelta:
    """The spacing of the trend charts' points."""
    return timedelta(minutes=15) if period == "day" else timedelta(hours=2)


def _name(reference: Reference, code: str) -> str:
    try:
        return reference.agency(code).name
    except KeyError:
        return code


def _query(url: str, path: str, **params: str) -> list[dict[str, Any]]:
    address = f"{url.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(address, timeout=30) as reply:
            body = json.load(reply)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    except OSError as exc:
        raise PrometheusError(f"Prometheus at {url} cannot be reached: {exc}") from exc
    if body.get("status") != "success":
        raise PrometheusError(f"Prometheus at {url}: {params}: {body.get('error')}")
    return list(body["data"]["result"])


def from_prometheus(
    url: str, reference: Reference, period: Period, end: datetime, province: str | None = None
) -> Report:
    """The report of ``province`` (the reference's by default) for the period ending at
    ``end`` (timezone-aware)."""
    zone = ZoneInfo(reference.timezone)
    end = end.astimezone(zone)
    start = period_start(period, end)
    p = province or reference.province
    at = str(end.timestamp())

    def instant(expr: str) -> list[dict[str, Any]]:
        return _query(url, "query", query=expr, time=at)

    def by(label: str, expr: str) -> dict[str, float]:
        return {s["metric"].get(label, ""): float(s["value"][1]) for s in instant(expr)}

    def total(expr: str) -> int:
        values = by("province", expr)
        return int(values.get(p, 0))

    rates: dict[str, float | None] = dict.fromkeys((k for k, _, _ in KPIS), None)
    rates.update(by("kpi", f'province:citypulse_kpi_ratio:today{{province="{p}"}}'))
    index = by("agency", _per_agency(p, "citypulse_kpi_ratio", 'kpi="digital_government_index"'))
    on_time = by("agency", _per_agency(p, "citypulse_kpi_ratio", 'kpi="on_time_resolution"'))
    overdue = by("agency", _per_agency(p, "citypulse_dossiers_overdue"))
    agencies = tuple(
        AgencyLine(code, _name(reference, code), index.get(code), on_time.get(code),
                   int(overdue.get(code, 0)))
        for code in sorted({*index, *on_time, *overdue})
    )  # fmt: skip
    trends = {}
    for kpi in TRENDS:
        series = _query(
            url,
            "query_range",
            query=f'province:citypulse_kpi_ratio:today{{province="{p}", kpi="{kpi}"}}',
            start=str(start.timestamp()),
            end=at,
            step=str(int(step(period).total_seconds())),
        )
        trends[kpi] = tuple(
            (datetime.fromtimestamp(float(t), zone), float(v))
            for s in series
            for t, v in s["values"]
        )
    return Report(
        province=p,
        province_name=reference.province_name if p == reference.province else p,
        period=period,
        start=start,
        end=end,
        source=f"Prometheus {url}",
        rates=rates,
        received_today=total(
            f'sum by (province) (citypulse_today_items{{province="{p}", item="received"}})'
        ),
        overdue=total(f'sum by (province) (citypulse_dossiers_overdue{{province="{p}"}})'),
        agencies=agencies,
        trends=trends,
    )


def _per_agency(province: str, metric: str, matchers: str = "") -> str:
    """one value per agency of ``province`` (a series may come from several workers during a
    rebalance: the same value)"""
    selector = ", ".join(m for m in (f'province="{province}"', matchers) if m)
    return f"max by (agency) ({metric}{{{selector}}})"


def from_kpi_reports(
    reports: Iterable[KpiReport], reference: Reference, period: Period, source: str
) -> Report:
    """The report of the period ending at the last report's stream time; ``reports`` are
    taken along the stream (oldest first), and those inside the period make the trends."""
    zone = ZoneInfo(reference.timezone)
    taken = [r for r in reports if r.stream_time is not None]
    if not taken:
        raise ValueError("no event: nothing to report")
    last = taken[-1]
    assert last.stream_time is not None
    end = datetime.fromtimestamp(last.stream_time, zone)
    start = period_start(period, end)
    p = reference.province
    trends: dict[str, list[tuple[datetime, float]]] = {kpi: [] for kpi in TRENDS}
    for r in taken:
        assert r.stream_time is not None
        at = datetime.fromtimestamp(r.stream_time, zone)
        if at < start or p not in r.provinces:
            continue
        for kpi in TRENDS:
            value = r.provinces[p].today_rates.get(kpi)
            if value is not None:
                trends[kpi].append((at, value))
    province = last.provinces.get(p)
    agencies = tuple(
        AgencyLine(
            code,
            _name(reference, code),
            last.index((prov, code)),
            snap.today_rates.get("on_time_resolution"),
            snap.overdue,
        )
        for (prov, code), snap in sorted(last.agencies.items())
        if prov == p
    )
    return Report(
        province=p,
        province_name=reference.province_name,
        period=period,
        start=start,
        end=end,
        source=source,
        rates={k: None if province is None else province.today_rates.get(k) for k, _, _ in KPIS},
        received_today=0 if province is None else province.today.get("received", 0),
        overdue=0 if province is None else province.overdue,
        agencies=agencies,
        trends={k: tuple(v) for k, v in trends.items()},
    )
