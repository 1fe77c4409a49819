"""The report for the People's Committee's meeting: a province's day or week on one page.

:class:`Report` is what the page shows, whatever it was computed from (Prometheus' HTTP API,
or a recording through the core engine: ``report_sources.py``); :func:`write` renders it as an
HTML page with PNG charts (matplotlib), readable offline and printable.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from citypulse.streams.kpi.ratios import RATIOS

from .alerts import THRESHOLDS

__all__ = ["KPIS", "AgencyLine", "Period", "Report", "write"]

Period = Literal["day", "week"]

#: the province's rates of today, in the order of the wall's tiles: (kpi, English, Vietnamese)
KPIS: tuple[tuple[str, str, str], ...] = tuple((r.kpi, r.title, r.title_vi) for r in RATIOS)
#: the trends charted over the period
TRENDS = ("online_submission", "on_time_resolution", "electronic_document")


@dataclass(frozen=True)
class AgencyLine:
    agency: str
    name: str
    index: float | None  # digital-government index of today (0-1)
    on_time: float | None  # on-time resolution rate of today
    overdue: int  # dossiers overdue now


@dataclass(frozen=True)
class Report:
    province: str
    province_name: str
    period: Period
    start: datetime  # the period, local time of the province
    end: datetime
    source: str  # where the figures come from, for the page's footer
    rates: dict[str, float | None]  # kpi -> the province's rate of today, at ``end``
    received_today: int
    overdue: int
    agencies: tuple[AgencyLine, ...]
    trends: dict[str, tuple[tuple[datetime, float], ...]]  # kpi -> province rate over time

    def ranking(self) -> list[AgencyLine]:
        """Agencies by index, best first; those without an index (nothing today) last."""
        return sorted(self.agencies, key=lambda a: (a.index is None, -(a.index or 0), a.agency))

    def most_overdue(self, n: int = 10) -> list[AgencyLine]:
        late = [a for a in self.agencies if a.overdue > 0]
        return sorted(late, key=lambda a: (-a.overdue, a.agency))[:n]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _warning(kpi: str) -> float | None:
    return next((t.warning for t in THRESHOLDS if t.kpi == kpi), None)


def _charts(report: Report, out: Path) -> dict[str, str]:
    """The PNG charts of the page: name -> file name."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    names = {kpi: (en, vi) for kpi, en, vi in KPIS}
    files: dict[str, str] = {}

    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
    for kpi in TRENDS:
        points = report.trends.get(kpi, ())
        if points:
            times = mdates.date2num([t for t, _ in points])  # type: ignore[no-untyped-call]
            ax.plot(times, [v for _, v in points], label=names[kpi][0], lw=2)
    for kpi in TRENDS:
        warning = _warning(kpi)
        if warning is not None:
            ax.axhline(warning, color="grey", ls="--", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    zone = report.end.tzinfo  # the province's local time, not matplotlib's UTC
    locator: mdates.DateLocator
    if report.period == "day":
        locator = mdates.HourLocator(interval=3, tz=zone)  # type: ignore[no-untyped-call]
        shown = "%H:%M"
    else:
        locator = mdates.DayLocator(tz=zone)  # type: ignore[no-untyped-call]
        shown = "%a %d"
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(shown, tz=zone))  # type: ignore[no-untyped-call]
    ax.set_title(f"{report.province_name}: rates of the day over the {report.period}")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    files["trends"] = "trends.png"
    fig.savefig(out / files["trends"])
    plt.close(fig)

    ranked = [a for a in report.ranking() if a.index is not None]
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.28 * len(ranked) + 1)), dpi=110)
    ax.barh([a.name for a in ranked][::-1], [a.index or 0 for a in ranked][::-1], color="#3274d9")
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("Digital-government index by agency (today)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    files["ranking"] = "ranking.png"
    fig.savefig(out / files["ranking"])
    plt.close(fig)
    return files


_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #222; max-width: 1100px }
h1 { margin-bottom: 0 } .sub { color: #666; margin-top: 4px }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 }
.tile { border-radius: 6px; padding: 10px 14px; min-width: 130px; color: white;
 background: #3274d9 }
.tile.ok { background: #37872d } .tile.low { background: #e0752d } .tile .v { font-size: 28px }
.tile .t { font-size: 12px }
table { border-collapse: collapse; margin: 8px 0 20px } td, th { padding: 3px 10px;
 border-bottom: 1px solid #ddd; text-align: left } td.n { text-align: right }
footer { color: #888; font-size: 12px; margin-top: 24px }
"""


def _tile(kpi: str, en: str, vi: str, value: float | None) -> str:
    warning = _warning(kpi)
    state = "" if warning is None or value is None else ("ok" if value >= warning else "low")
    return (
        f'<div class="tile {state}"><div class="v">{_percent(value)}</div>'
        f'<div class="t">{html.escape(en)}<br>{html.escape(vi)}</div></div>'
    )


def write(report: Report, out: Path) -> Path:
    """Write ``index.html`` and its charts into ``out``; the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(report, out)
    e = html.escape
    tiles = "".join(_tile(kpi, en, vi, report.rates.get(kpi)) for kpi, en, vi in KPIS)
    tiles += (
        f'<div class="tile"><div class="v">{report.received_today:,}</div>'
        '<div class="t">Dossiers received today<br>Hồ sơ tiếp nhận hôm nay</div></div>'
        f'<div class="tile {"low" if report.overdue else "ok"}"><div class="v">'
        f'{report.overdue:,}</div><div class="t">Overdue now<br>Quá hạn</div></div>'
    )
    ranking = "".join(
        f"<tr><td class=n>{i}</td><td>{e(a.name)} <small>[{e(a.agency)}]</small></td>"
        f"<td class=n>{_percent(a.index)}</td><td class=n>{_percent(a.on_time)}</td>"
        f"<td class=n>{a.overdue}</td></tr>"
        for i, a in enumerate(report.ranking(), start=1)
    )
    overdue = (
        "".join(
            f"<tr><td>{e(a.name)} <small>[{e(a.agency)}]</small></td>"
            f"<td class=n>{a.overdue}</td></tr>"
            for a in report.most_overdue()
        )
        or "<tr><td colspan=2>No overdue dossier.</td></tr>"
    )
    span = f"{report.start:%Y-%m-%d %H:%M} – {report.end:%Y-%m-%d %H:%M}"
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>citypulse report · {e(report.province_name)} · {e(span)}</title>
<style>{_STYLE}</style></head><body>
<h1>{e(report.province_name)}: e-government {report.period} report</h1>
<p class="sub">Báo cáo chính quyền điện tử · {e(span)} ·
figures of the day at the end of the period</p>
<div class="tiles">{tiles}</div>
<h2>Trends · Xu hướng</h2>
<img src="{charts["trends"]}" alt="Province rates over the period">
<h2>Agency ranking · Xếp hạng cơ quan</h2>
<table><tr><th>#</th><th>Agency</th><th>Index</th><th>On time</th><th>Overdue</th></tr>
{ranking}</table>
<img src="{charts["ranking"]}" alt="Digital-government index by agency">
<h2>Most overdue dossiers · Cơ quan có nhiều hồ sơ quá hạn</h2>
<table><tr><th>Agency</th><th>Overdue</th></tr>{overdue}</table>
<footer>citypulse report · source: {e(report.source)}</footer>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
