"""Terminal views of the KPIs (the demo's refreshing table)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.table import Table
from rich.text import Text

from citypulse.schemas import Reference
from citypulse.streams.kpi import KpiReport, KpiSnapshot, PipelineStats

__all__ = ["kpi_view"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _row(name: str, snap: KpiSnapshot, index: float | None) -> list[str]:
    r = snap.today_rates
    return [
        name,
        str(snap.today["received"]),
        _pct(r["online_submission"]),
        _pct(r["full_process"]),
        str(snap.open),
        str(snap.overdue),
        str(snap.due_soon),
        _pct(r["on_time_resolution"]),
        _pct(r["satisfaction"]),
        _pct(r["electronic_document"]),
        _pct(r["digital_signature"]),
        str(snap.undelivered),
        "-" if index is None else f"{index:.3f}",
    ]


def kpi_view(
    report: KpiReport,
    reference: Reference,
    stats: PipelineStats,
    events_per_second: float,
    limit: int = 20,
) -> Group:
    """Agencies ranked by today's digital-government index, province totals, pipeline health."""
    zone = ZoneInfo(reference.timezone)
    now = (
        "-"
        if report.stream_time is None
        else datetime.fromtimestamp(report.stream_time, UTC)
        .astimezone(zone)
        .strftime("%a %Y-%m-%d %H:%M")
    )
    shown = f"top {limit} of {len(report.agencies)}" if len(report.agencies) > limit else "all"
    table = Table(
        title=f"citypulse · {reference.province_name} · stream time {now} · today's KPIs "
        f"· agencies ranked by digital-government index ({shown})"
    )
    for header in ("agency", "recv", "online%", "full%", "open", "overdue", "due<24h",
                   "on-time%", "satisf%", "e-doc%", "signed%", "undeliv", "index"):  # fmt: skip
        table.add_column(header, justify="left" if header == "agency" else "right")
    ranked = sorted(report.agencies, key=lambda k: -(report.index(k) or 0.0))
    several = len(report.provinces) > 1
    for key in ranked[:limit]:
        name = "/".join(key) if several else key[1]
        table.add_row(*_row(name, report.agencies[key], report.index(key)))
    for province, snap in sorted(report.provinces.items()):
        index = snap.digital_government_index(report.index_weights)
        table.add_row(*_row(f"{province} total", snap, index), style="bold")
    by_reason: dict[str, int] = {}
    for (_, reason), n in stats.invalid.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    invalid = ", ".join(f"{reason} {n}" for reason, n in sorted(by_reason.items())) or "0"
    health = Text(
        f"{events_per_second:,.0f} events/s · events {sum(stats.events.values()):,} · "
        f"duplicates {sum(stats.duplicate.values())} · "
        f"dead-letter: late {sum(stats.late.values())}, "
        f"conflict {sum(stats.conflict.values())}, invalid {invalid}"
    )
    return Group(table, health)
