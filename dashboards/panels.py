"""The house style of citypulse panels, on top of grafana-foundation-sdk's builders.

Every panel has a title, a description (what the number means, what to do when it is red)
and an explicit position, so a dashboard module reads like its layout. Colour thresholds
of KPI tiles come from the alert threshold table (:data:`citypulse.dashboards.alerts.THRESHOLDS`),
so a tile turns orange exactly where the warning alert starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import bargauge, piechart, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
    StackingConfig,
    VizLegendOptions,
    VizTextDisplayOptions,
)
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import piechart as pie_model

from citypulse.streams.kpi.ratios import RATIOS

from .alerts import THRESHOLDS, KpiThreshold

#: the titles of the ``citypulse_kpi_ratio`` series: each rate's (ratios.py), and the index
KPI_TITLES: dict[str, str] = {
    **{r.kpi: r.title for r in RATIOS},
    "digital_government_index": "Digital-government index",
}

__all__ = [
    "DATASOURCE",
    "KPI_TITLES",
    "PROMETHEUS_UID",
    "Query",
    "bars",
    "dashboard",
    "datasource_variable",
    "kpi_steps",
    "pie",
    "place",
    "province_variable",
    "steps",
    "tile",
    "trend",
    "variable",
]

#: the uid of the Prometheus datasource provisioning and ``dashboards push`` create
PROMETHEUS_UID = "citypulse-prometheus"
#: what every panel and query variable uses: the dashboard's ``$datasource`` variable, which
#: defaults to citypulse's Prometheus (a site with its own Prometheus picks it there)
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")

GREEN, ORANGE, RED, BLUE = "green", "orange", "red", "blue"

Query = tuple[str, str]  # (PromQL, legend)


def steps(base: str, *above: tuple[float, str]) -> Builder[model.ThresholdsConfig]:
    """Colour ``base`` below the first value, then each colour from its value up."""
    return (
        builders.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps(
            [model.Threshold(value=None, color=base)]
            + [model.Threshold(value=v, color=c) for v, c in above]
        )
    )


def _threshold_of(kpi: str) -> KpiThreshold | None:
    return next((t for t in THRESHOLDS if t.kpi == kpi), None)


def kpi_steps(kpi: str) -> Builder[model.ThresholdsConfig]:
    """The alert thresholds of a KPI as colours: red below critical, orange below warning,
    green above; a KPI nobody is paged for is plain blue."""
    t = _threshold_of(kpi)
    if t is None:
        return steps(BLUE)
    if t.critical is None:
        return steps(ORANGE, (t.warning, GREEN))
    return steps(RED, (t.critical, ORANGE), (t.warning, GREEN))


def _target(expr: str, legend: str, ref: str, instant: bool) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
    return query.instant() if instant else query.range()


def _targets(panel: Any, queries: Sequence[Query], instant: bool) -> Any:
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_target(expr, legend, chr(ord("A") + i), instant))
    return panel


def place(panel: Any, title: str, description: str, x: int, y: int, w: int, h: int) -> Any:
    return (
        panel.title(title)
        .description(description)
        .datasource(DATASOURCE)
        .grid_pos(model.GridPos(x=x, y=y, w=w, h=h))
    )


def tile(
    title: str,
    description: str,
    query: Query,
    at: tuple[int, int, int, int],
    *,
    unit: str = "percentunit",
    thresholds: Builder[model.ThresholdsConfig] | None = None,
    decimals: int = 1,
) -> stat.Panel:
    """A big number for the wall: last value, background in its threshold colour."""
    panel = (
        stat.Panel()
        .unit(unit)
        .decimals(decimals)
        .thresholds(thresholds or steps(BLUE))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE)
        .justify_mode(common.BigValueJustifyMode.CENTER)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text(VizTextDisplayOptions().title_size(22).value_size(56))
        .no_value("–")
    )
    return _targets(place(panel, title, description, *at), [query], instant=True)  # type: ignore[no-any-return]


def trend(
    title: str,
    description: str,
    queries: Sequence[Query],
    at: tuple[int, int, int, int],
    *,
    unit: str = "percentunit",
    thresholds: Builder[model.ThresholdsConfig] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    stacked: bool = False,
) -> timeseries.Panel:
    """Lines over the dashboard's time range, legend below; thresholds drawn as dashed lines."""
    panel = (
        timeseries.Panel()
        .unit(unit)
        .line_width(2)
        .fill_opacity(20 if stacked else 0)
        .legend(
            VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
    )
    if stacked:
        panel = panel.stacking(StackingConfig().mode(common.StackingMode.NORMAL))
    if thresholds is not None:
        panel = panel.thresholds(thresholds).thresholds_style(
            GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    return _targets(place(panel, title, description, *at), queries, instant=False)  # type: ignore[no-any-return]


def bars(
    title: str,
    description: str,
    query: Query,
    at: tuple[int, int, int, int],
    *,
    unit: str = "percentunit",
    thresholds: Builder[model.ThresholdsConfig] | None = None,
    maximum: float | None = None,
    reference: Query | None = None,
    link: tuple[str, str] | None = None,
) -> bargauge.Panel:
    """A ranking: one horizontal bar per series, in the query's order (``sort_desc``); then
    a ``reference`` bar if given (a figure to compare with). ``link``: (title, URL) of what a
    click on a bar opens (``${__field.labels.<label>}`` names the bar's series)."""
    panel = (
        bargauge.Panel()
        .unit(unit)
        .min(0)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .value_mode(common.BarGaugeValueMode.COLOR)
        .show_unfilled(True)
        .thresholds(thresholds or steps(BLUE))
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text(VizTextDisplayOptions().title_size(18).value_size(20))
    )
    if maximum is not None:
        panel = panel.max(maximum)
    if link is not None:
        panel = panel.data_links([builders.DashboardLink(link[0]).url(link[1])])
    queries = [query] if reference is None else [query, reference]
    return _targets(place(panel, title, description, *at), queries, instant=True)  # type: ignore[no-any-return]


def pie(
    title: str,
    description: str,
    queries: Sequence[Query],
    at: tuple[int, int, int, int],
    *,
    unit: str = "short",
) -> piechart.Panel:
    """Shares of a whole (e.g. the channel mix), with percentages in the legend."""
    panel = (
        piechart.Panel()
        .unit(unit)
        .pie_type(pie_model.PieChartType.DONUT)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .legend(
            piechart.PieChartLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .values([pie_model.PieChartLegendValues.PERCENT])
        )
    )
    return _targets(place(panel, title, description, *at), queries, instant=True)  # type: ignore[no-any-return]


def datasource_variable() -> builders.DatasourceVariable:
    """``$datasource``: which Prometheus the panels query; citypulse's own by default."""
    return (
        builders.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(model.VariableOption(selected=True, text=PROMETHEUS_UID, value=PROMETHEUS_UID))
    )


def province_variable() -> builders.QueryVariable:
    return variable("province", "Province", "label_values(citypulse_kpi_ratio, province)")


def variable(name: str, label: str, query: str, *, hidden: bool = False) -> builders.QueryVariable:
    """A template variable from a label's values; refreshed when the time range changes."""
    var = (
        builders.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(DATASOURCE)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .include_all(False)
        .multi(False)
    )
    if hidden:
        var = var.hide(model.VariableHide.HIDE_VARIABLE)
    return var


def dashboard(uid: str, title: str, description: str, tags: list[str]) -> builders.Dashboard:
    """A citypulse dashboard: last 24 h, refreshed every 30 s, crosshair shared between
    panels, and a drop-down to the other citypulse dashboards (keeping time and variables)."""
    return (
        builders.Dashboard(title)
        .uid(uid)
        .tags(["citypulse", *tags])
        .description(description)
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
        .link(
            builders.DashboardLink("citypulse")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags(["citypulse"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
