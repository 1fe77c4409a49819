"""The province wall: one screen (1920×1080, kiosk mode, no scrolling) for the control centre.

Top: today's tiles, coloured like the alerts. Middle: the last 24 hours. Bottom: the
province's service index of the month and its lowest agencies, the agencies lagging today,
and where dossiers and documents are stuck. 27 grid rows of
30 px plus margins is 1,018 px: the whole wall fits a 1080p screen in kiosk mode.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from .panels import (
    GREEN,
    KPI_TITLES,
    ORANGE,
    RED,
    bars,
    dashboard,
    kpi_steps,
    province_variable,
    steps,
    tile,
    trend,
)
from .promql import rolling_ratio
from .service_index_rules import INDEX_THRESHOLDS

__all__ = ["UID", "build"]

UID = "citypulse-wall"
P = 'province="$province"'

#: (kpi, what it means), titles from KPI_TITLES; the counts (received, overdue) go in between
RATE_TILES = (
    ("online_submission",
     "Share of today's dossiers submitted online (vs. one-stop counter or post)."),
    ("full_process",
     "Share of today's dossiers whose procedure runs online end to end."),
    ("on_time_resolution",
     "Share of today's resolutions made by their due date; dossiers never accepted count as "
     "late."),
)  # fmt: skip
DOC_TILES = (
    ("electronic_document",
     "Share of documents sent today between agencies in electronic form."),
    ("digital_signature",
     "Share of today's electronic documents that carry a digital signature."),
    ("satisfaction",
     "Share of today's citizen ratings with a score of 4 or 5."),
)  # fmt: skip

RED_ACTION = {
    "on_time_resolution": "Red or orange: open the agency ranking below and the Agency "
    "drill-down of the lowest agency; see the runbook of CitypulseOnTimeResolutionLow.",
    "electronic_document": "Orange: an agency is sending on paper; find it in the Agency "
    "drill-down (document mix) and see the runbook of CitypulseElectronicDocumentLow.",
    "digital_signature": "Orange: electronic documents go out unsigned; see the runbook of "
    "CitypulseDigitalSignatureLow.",
    "satisfaction": "Orange: citizens rate the service poorly; see the runbook of "
    "CitypulseSatisfactionLow.",
}
NEUTRAL = "Blue: informative, nobody is paged on it."


def _rate_tile(kpi: str, meaning: str, x: int) -> object:
    title = KPI_TITLES[kpi]
    description = f"{meaning} {RED_ACTION.get(kpi, NEUTRAL)}"
    return tile(
        title,
        description,
        (f'province:citypulse_kpi_ratio:today{{kpi="{kpi}", {P}}}', title),
        (x, 0, 3, 5),
        thresholds=kpi_steps(kpi),
    )


def build() -> builders.Dashboard:
    board = dashboard(
        UID,
        "citypulse · Province wall",
        "Today's e-government KPIs of the province, for the wall display (kiosk mode).",
        ["wall"],
    ).with_variable(province_variable())
    tiles: list[object] = [
        tile(
            "Dossiers received today",
            "Dossiers submitted today (event time, the province's day), all channels.",
            (f'sum(citypulse_today_items{{item="received", {P}}})', "received"),
            (0, 0, 3, 5),
            unit="none",
            decimals=0,
        ),
        *(_rate_tile(kpi, meaning, 3 + 3 * i) for i, (kpi, meaning) in enumerate(RATE_TILES)),
        tile(
            "Overdue backlog",
            "Open accepted dossiers past their due date, now (stream time). Red from the "
            "first one: open the Agency drill-down of the agencies in 'Overdue by agency' "
            "below; runbook of CitypulseDossiersOverdue.",
            (f"province:citypulse_dossiers_overdue:sum{{{P}}}", "overdue"),
            (12, 0, 3, 5),
            unit="none",
            decimals=0,
            thresholds=steps(GREEN, (1, RED)),
        ),
        *(_rate_tile(kpi, meaning, 15 + 3 * i) for i, (kpi, meaning) in enumerate(DOC_TILES)),
    ]  # fmt: skip
    for panel in tiles:
        board = board.with_panel(panel)  # type: ignore[arg-type]

    board = board.with_panel(
        trend(
            "KPI rates, rolling hour, last 24 h",
            "Each rate over the hour before every point (from the counters, by arrival "
            "time), so a dip shows when it happened rather than being diluted by the whole "
            "day. Dashed lines: the on-time warning and critical thresholds.",
            [
                (
                    rolling_ratio("citypulse_dossiers_received_total", 'channel="online"', P),
                    "online submission",
                ),
                (
                    rolling_ratio("citypulse_dossiers_resolved_total", 'timeliness="on_time"', P),
                    "on-time resolution",
                ),
                (
                    rolling_ratio("citypulse_documents_sent_total", 'format="electronic"', P),
                    "electronic documents",
                ),
                (
                    rolling_ratio(
                        "citypulse_documents_sent_total",
                        'format="electronic", signed="true"',
                        P,
                        'format="electronic"',
                    ),
                    "digital signatures",
                ),
                (
                    rolling_ratio("citypulse_dossier_ratings_total", 'satisfied="true"', P),
                    "satisfaction",
                ),
            ],
            (0, 5, 12, 10),
            thresholds=kpi_steps("on_time_resolution"),
            minimum=0,
            maximum=1,
        )
    ).with_panel(
        trend(
            "Backlog, last 24 h",
            "Open dossiers, those due within the horizon, those overdue, and documents sent "
            "but not received in time, summed over the province. A growing overdue line "
            "means agencies are resolving slower than deadlines expire.",
            [
                (f"province:citypulse_dossiers_open:sum{{{P}}}", "open"),
                (f"province:citypulse_dossiers_due_soon:sum{{{P}}}", "due soon"),
                (f"province:citypulse_dossiers_overdue:sum{{{P}}}", "overdue"),
                (f"province:citypulse_documents_undelivered:sum{{{P}}}", "documents undelivered"),
            ],
            (12, 5, 12, 10),
            unit="none",
            minimum=0,
        )
    )
    dgi = f'citypulse_kpi_ratio{{kpi="digital_government_index", {P}}}'
    index_note = (
        "The digital-government index is a 0-1 weighted mean of the agency's rates of today "
        "(weights in the reference data, see the README)."
    )
    province_index = next(t for t in INDEX_THRESHOLDS if t.scope == "province")
    agency_index = next(t for t in INDEX_THRESHOLDS if t.scope == "agency")
    points = f'citypulse_service_index_points{{period="month", group="total", {P}}}'
    board = (
        board.with_panel(
            tile(
                "Service index this month",
                "The province's points out of 100 after Decision 766/QĐ-TTg (transparency, "
                "progress, online service, digitisation, satisfaction; docs/kpis.md), from the "
                "summed counts of the month. Orange below "
                f"{province_index.warning:g}: see the runbook of "
                "CitypulseProvinceServiceIndexLow and the agencies below it.",
                (
                    f'province:citypulse_service_index_points:month{{group="total", {P}}}',
                    "points",
                ),
                (0, 15, 6, 4),
                unit="none",
                thresholds=steps(RED, (60, ORANGE), (province_index.warning, GREEN)),
            )
        )
        .with_panel(
            bars(
                "Lowest agencies · service index this month",
                "The ten agencies with the fewest points this month (each from its own "
                f"counts). Orange below {agency_index.warning:g}: CitypulseServiceIndexLow, "
                "for an agency with at least "
                f"{agency_index.min_received} dossiers this month.",
                (f"sort(bottomk(10, {points}))", "{{agency}}"),
                (0, 19, 6, 8),
                unit="none",
                thresholds=steps(RED, (60, ORANGE), (agency_index.warning, GREEN)),
                maximum=100,
            )
        )
        .with_panel(
            bars(
                "Lagging agencies · digital-government index",
                f"{index_note} The ten lowest today: these are the agencies to call first.",
                (f"sort(bottomk(10, {dgi}))", "{{agency}}"),
                (6, 15, 6, 12),
                thresholds=steps(RED, (0.7, ORANGE), (0.9, GREEN)),
                maximum=1,
            )
        )
    )
    board = board.with_panel(
        bars(
            "Overdue dossiers by agency",
            "Open accepted dossiers past their due date, the ten agencies with most. "
            "Any bar above zero is paged (CitypulseDossiersOverdue after 15 min).",
            (f"sort_desc(topk(10, citypulse_dossiers_overdue{{{P}}}))", "{{agency}}"),
            (12, 15, 6, 12),
            unit="none",
            thresholds=steps(GREEN, (1, RED)),
        )
    ).with_panel(
        bars(
            "Undelivered documents by agency",
            "Documents sent by the agency and not received within the delivery threshold "
            "(default one day), the ten agencies with most. Orange: check the receiving "
            "side's document system (runbook of CitypulseDocumentsUndelivered).",
            (f"sort_desc(topk(10, citypulse_documents_undelivered{{{P}}}))", "{{agency}}"),
            (18, 15, 6, 12),
            unit="none",
            thresholds=steps(GREEN, (1, ORANGE)),
        )
    )
    return board
