"""The national view: every province citypulse watches, ranked, for a region's or a ministry's
control centre (1920×1080, kiosk mode). A click on a province's bar opens its wall.

Top: provinces by the service index of the month (CONTRACT §8, the official ranking's shape)
and by today's digital-government index. Bottom: their electronic-document and on-time rates
today against the national electronic-document exchange rate of 2019 (86.5 %, CONTRACT §5),
a bar of its own under the provinces. Every figure is a province's, from its summed counts
(recording rules), never an average of agencies.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from . import wall
from .panels import GREEN, ORANGE, RED, bars, dashboard, kpi_steps, steps
from .service_index_rules import INDEX_THRESHOLDS

__all__ = ["NATIONAL_REFERENCE", "UID", "build"]

UID = "citypulse-national"
#: the national electronic-document exchange rate of 2019 (CONTRACT §5, §7)
NATIONAL_REFERENCE = 0.865
_WALL = (
    "Province wall",
    f"/d/{wall.UID}?var-province=${{__field.labels.province}}&${{__url_time_range}}",
)
_REFERENCE = (
    f'label_replace(vector({NATIONAL_REFERENCE}), "province", "national 2019", "", "")',
    "national 2019 (86.5 %)",
)
_PROVINCE_INDEX = next(t for t in INDEX_THRESHOLDS if t.scope == "province")


def build() -> builders.Dashboard:
    board = dashboard(
        UID,
        "citypulse · Provinces",
        "Every province citypulse watches, ranked by the service index of the month and by "
        "today's digital-government index, with their electronic-document and on-time rates "
        "against the national figure.",
        ["national"],
    )
    index = 'province:citypulse_service_index_points:month{group="total"}'
    dgi = 'province:citypulse_kpi_ratio:today{kpi="digital_government_index"}'
    board = board.with_panel(
        bars(
            "Provinces · service index this month",
            "Points out of 100 after Decision 766/QĐ-TTg (transparency, progress, online "
            "service, digitisation, satisfaction; docs/kpis.md), from each province's "
            "summed counts of the month. Orange below "
            f"{_PROVINCE_INDEX.warning:g}: CitypulseProvinceServiceIndexLow. Click a "
            "province for its wall.",
            (f"sort_desc({index})", "{{province}}"),
            (0, 0, 12, 13),
            unit="none",
            thresholds=steps(RED, (60, ORANGE), (_PROVINCE_INDEX.warning, GREEN)),
            maximum=100,
            link=_WALL,
        )
    ).with_panel(
        bars(
            "Provinces · digital-government index today",
            "The weighted mean of each province's rates of today (weights in the "
            "reference data), the index the wall ranks agencies by. Click a province for "
            "its wall.",
            (f"sort_desc({dgi})", "{{province}}"),
            (12, 0, 12, 13),
            thresholds=steps(RED, (0.7, ORANGE), (0.9, GREEN)),
            maximum=1,
            link=_WALL,
        )
    )
    against = (
        ("electronic_document", "Electronic documents",
         "Share of documents sent between each province's agencies today in electronic form, "
         "coloured at the alert threshold (orange below 90 %); the last bar is the national "
         "exchange rate of 2019."),
        ("on_time_resolution", "On-time resolution",
         "Share of each province's resolutions today made by their due date, coloured at the "
         "alert thresholds; the last bar is the national electronic-document figure, the "
         "reference the provinces are compared with."),
    )  # fmt: skip
    for i, (kpi, title, meaning) in enumerate(against):
        board = board.with_panel(
            bars(
                f"{title} today · against the national 86.5 %",
                meaning,
                (f'sort_desc(province:citypulse_kpi_ratio:today{{kpi="{kpi}"}})', "{{province}}"),
                (12 * i, 13, 12, 14),
                thresholds=kpi_steps(kpi),
                maximum=1,
                reference=_REFERENCE,
                link=_WALL,
            )
        )
    return board
