"""Terminal views of the KPIs (the demo's refreshing table), from a report or from /metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.table import Table
from rich.text import Text

from citypulse.schemas import Reference
from citypulse.schemas.reference import ScoringTable
from citypulse.streams.kpi import KpiReport, PipelineStats
from citypulse.streams.kpi.ratios import TODAY_ITEMS, index, today_ratios
from citypulse.streams.kpi.service_index import TOTAL, mean_share, service_index

__all__ = ["Health", "TableRow", "kpi_table", "kpi_view", "rows_from_samples"]

_GAUGES = {
    "citypulse_dossiers_open": "open",
    "citypulse_dossiers_overdue": "overdue",
    "citypulse_dossiers_due_soon": "due_soon",
    "citypulse_documents_undelivered": "undelivered",
}
_HEADERS = (
    "agency",
    "recv",
    "onl%",
    "full%",
    "open",
    "overdue",
    "due<24h",
    "ontime%",
    "dig%",
    "pay%",
    "eres%",
    "sat%",
    "e-doc%",
    "sign%",
    "undlv",
    "index",
    "svc-m",
)


@dataclass(frozen=True)
class TableRow:
    today: Mapping[str, float]
    open: float
    overdue: float
    due_soon: float
    undelivered: float
    index: float | None
    month: Mapping[str, float]
    published_share: float | None

    @property
    def rates(self) -> dict[str, float | None]:
        return today_ratios({c.item: int(self.today.get(c.item, 0)) for c in TODAY_ITEMS})

    def month_points(self, table: ScoringTable) -> float | None:
        """The service index of the month (total points), from the month's counts."""
        rates = today_ratios({c.item: int(self.month.get(c.item, 0)) for c in TODAY_ITEMS})
        return service_index(rates, self.published_share, table).get(TOTAL)


@dataclass(frozen=True)
class Health:
    events_per_second: float
    events: float
    duplicates: float
    late: float
    conflict: float
    invalid: Mapping[str, float]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _cells(name: str, row: TableRow, table: ScoringTable) -> list[str]:
    r = row.rates
    points = row.month_points(table)
    return [
        name,
        f"{row.today.get('received', 0):.0f}",
        _pct(r["online_submission"]),
        _pct(r["full_process"]),
        f"{row.open:.0f}",
        f"{row.overdue:.0f}",
        f"{row.due_soon:.0f}",
        _pct(r["on_time_resolution"]),
        _pct(r["digitization"]),
        _pct(r["online_payment"]),
        _pct(r["electronic_result"]),
        _pct(r["satisfaction"]),
        _pct(r["electronic_document"]),
        _pct(r["digital_signature"]),
        f"{row.undelivered:.0f}",
        "-" if row.index is None else f"{row.index:.3f}",
        "-" if points is None else f"{points:.1f}",
    ]


def kpi_table(
    references: Sequence[Reference],
    stream_time: float | None,
    agencies: Mapping[tuple[str, str], TableRow],
    weights: Iterable[tuple[str, float]],
    health: Health,
    limit: int = 20,
) -> Group:
    """Agencies ranked by today's digital-government index, province totals, pipeline health."""
    first = references[0]
    zone = ZoneInfo(first.timezone)
    now = "-"
    if stream_time is not None:
        now = (
            datetime.fromtimestamp(stream_time, UTC).astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
        )
    shown = f"top {limit} of {len(agencies)}" if len(agencies) > limit else "all"
    table = Table(
        title=f"citypulse · {', '.join(r.province_name for r in references)} · stream time "
        f"{now} · today's KPIs "
        f"· agencies ranked by digital-government index ({shown}) · svc-m: service index of the "
        "month, points out of 100"
    )
    for header in _HEADERS:
        if header == "agency":
            table.add_column(header, no_wrap=True, min_width=10)
        else:
            table.add_column(header, justify="right")
    provinces = sorted({p for p, _ in agencies})
    ranked = sorted(agencies, key=lambda k: -(agencies[k].index or 0.0))
    for key in ranked[:limit]:
        name = "/".join(key) if len(provinces) > 1 else key[1]
        table.add_row(*_cells(name, agencies[key], first.scoring))
    weights = list(weights)
    for province in provinces:
        rows = [r for (p, _), r in agencies.items() if p == province]
        today = {c.item: sum(r.today.get(c.item, 0) for r in rows) for c in TODAY_ITEMS}
        month = {c.item: sum(r.month.get(c.item, 0) for r in rows) for c in TODAY_ITEMS}
        share = mean_share(
            a.published_share for r in references if r.province == province for a in r.agencies
        )
        total = TableRow(
            today,
            sum(r.open for r in rows),
            sum(r.overdue for r in rows),
            sum(r.due_soon for r in rows),
            sum(r.undelivered for r in rows),
            index(today_ratios({k: int(v) for k, v in today.items()}), weights),
            month,
            share,
        )
        table.add_row(*_cells(f"{province} total", total, first.scoring), style="bold")
    invalid = ", ".join(f"{reason} {n:.0f}" for reason, n in sorted(health.invalid.items())) or "0"
    line = Text(
        f"{health.events_per_second:,.0f} events/s · events {health.events:,.0f} · "
        f"duplicates {health.duplicates:.0f} · dead-letter: late {health.late:.0f}, "
        f"conflict {health.conflict:.0f}, invalid {invalid}"
    )
    return Group(table, line)


def kpi_view(
    report: KpiReport,
    references: Sequence[Reference],
    stats: PipelineStats,
    events_per_second: float,
) -> Group:
    """The table from an in-process engine's report (the offline demo)."""
    rows = {
        key: TableRow(
            s.today,
            s.open,
            s.overdue,
            s.due_soon,
            s.undelivered,
            report.index(key),
            s.month,
            s.published_share,
        )
        for key, s in report.agencies.items()
    }
    invalid: dict[str, float] = {}
    for (_, reason), n in stats.invalid.items():
        invalid[reason] = invalid.get(reason, 0) + n
    health = Health(
        events_per_second,
        sum(stats.events.values()),
        sum(stats.duplicate.values()),
        sum(stats.late.values()),
        sum(stats.conflict.values()),
        invalid,
    )
    return kpi_table(references, report.stream_time, rows, report.index_weights, health)


def rows_from_samples(
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float],
) -> tuple[dict[tuple[str, str], TableRow], Health, float | None]:
    """Table rows, pipeline health and stream time from a /metrics scrape."""
    per: dict[tuple[str, str], dict[str, float]] = {}
    today: dict[tuple[str, str], dict[str, float]] = {}
    month: dict[tuple[str, str], dict[str, float]] = {}
    shares: dict[tuple[str, str], float] = {}
    idx: dict[tuple[str, str], float] = {}
    invalid: dict[str, float] = {}
    sums = {
        "citypulse_events_total": 0.0,
        "citypulse_events_duplicate_total": 0.0,
        "citypulse_events_late_total": 0.0,
        "citypulse_events_conflict_total": 0.0,
    }
    stream_time: float | None = None
    for (name, label_items), value in samples.items():
        labels = dict(label_items)
        key = (labels.get("province", ""), labels.get("agency", ""))
        if name in sums:
            sums[name] += value
        elif name == "citypulse_events_invalid_total":
            invalid[labels["reason"]] = invalid.get(labels["reason"], 0) + value
        elif name == "citypulse_stream_time_seconds":
            stream_time = max(value, stream_time or value)
        elif name == "citypulse_today_items":
            today.setdefault(key, {})[labels["item"]] = value
        elif name == "citypulse_month_items":
            month.setdefault(key, {})[labels["item"]] = value
        elif name == "citypulse_agency_published_share":
            shares[key] = value
        elif name == "citypulse_kpi_ratio" and labels["kpi"] == "digital_government_index":
            idx[key] = value
        elif name in _GAUGES:
            per.setdefault(key, {})[_GAUGES[name]] = value
    rows = {
        key: TableRow(
            today.get(key, {}),
            g.get("open", 0),
            g.get("overdue", 0),
            g.get("due_soon", 0),
            g.get("undelivered", 0),
            idx.get(key),
            month.get(key, {}),
            shares.get(key),
        )
        for key, g in per.items()
    }
    health = Health(
        0.0,
        sums["citypulse_events_total"],
        sums["citypulse_events_duplicate_total"],
        sums["citypulse_events_late_total"],
        sums["citypulse_events_conflict_total"],
        invalid,
    )
    return rows, health, stream_time
