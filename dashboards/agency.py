"""Agency drill-down: one agency's KPIs, deadlines, processing times and channel mix.

Reached from the wall's drop-down (variables and time range kept); pick the province and
the agency at the top.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import timeseries

from .panels import (
    GREEN,
    KPI_TITLES,
    ORANGE,
    RED,
    dashboard,
    kpi_steps,
    pie,
    province_variable,
    steps,
    tile,
    trend,
    variable,
)
from .promql import quantile

__all__ = ["UID", "build"]

UID = "citypulse-agency"
A = 'province="$province", agency="$agency"'

RATES = (
    ("online_submission",
     "Share of today's dossiers submitted online."),
    ("full_process",
     "Share of today's dossiers whose procedure runs online end to end."),
    ("on_time_resolution",
     "Share of today's resolutions made by their due date. Red or orange: look at "
     "'Backlog and overdue' and the processing times below; runbook of "
     "CitypulseOnTimeResolutionLow."),
    ("electronic_document",
     "Share of documents sent today in electronic form. Orange: see the document mix below; "
     "runbook of CitypulseElectronicDocumentLow."),
    ("digital_signature",
     "Share of today's electronic documents digitally signed. Orange: runbook of "
     "CitypulseDigitalSignatureLow."),
    ("satisfaction",
     "Share of today's ratings with a score of 4 or 5. Orange: runbook of "
     "CitypulseSatisfactionLow."),
    ("online_result",
     "Share of today's results returned online or by post rather than at the counter."),
    ("digital_government_index",
     "The agency's 0-1 weighted mean of its rates of today, used to rank agencies on the "
     "wall."),
)  # fmt: skip

COUNTS = (
    ("Received today", f'citypulse_today_items{{item="received", {A}}}',
     "Dossiers submitted today (event time), all channels.", None),
    ("Resolved today", f'citypulse_today_items{{item="resolved", {A}}}',
     "Dossiers resolved today, on time or late.", None),
    ("Open backlog", f"citypulse_dossiers_open{{{A}}}",
     "Dossiers submitted and not yet resolved or withdrawn.", None),
    ("Due soon", f"citypulse_dossiers_due_soon{{{A}}}",
     "Open accepted dossiers due within the horizon (default 24 h): resolve these first. "
     "Orange from the first one.", steps(GREEN, (1, ORANGE))),
    ("Overdue", f"citypulse_dossiers_overdue{{{A}}}",
     "Open accepted dossiers past their due date. Red: the runbook of "
     "CitypulseDossiersOverdue.", steps(GREEN, (1, RED))),
    ("Documents sent today", f'citypulse_today_items{{item="documents_sent", {A}}}',
     "Documents the agency sent today, electronic or paper.", None),
    ("Documents undelivered", f"citypulse_documents_undelivered{{{A}}}",
     "Documents sent and not received within the threshold (default 1 day). Orange: runbook "
     "of CitypulseDocumentsUndelivered.", steps(GREEN, (1, ORANGE))),
    ("Ratings today", f'citypulse_today_items{{item="ratings", {A}}}',
     "Citizen ratings received today (the satisfaction rate's volume).", None),
)  # fmt: skip


def build() -> builders.Dashboard:
    board = (
        dashboard(
            UID,
            "citypulse · Agency drill-down",
            "One agency's e-government KPIs: today's rates, deadlines, processing times and "
            "the mix of channels and document formats.",
            ["agency"],
        )
        .with_variable(province_variable())
        .with_variable(
            variable(
                "agency",
                "Agency",
                'label_values(citypulse_kpi_ratio{province="$province"}, agency)',
            )
        )
    )
    for i, (kpi, meaning) in enumerate(RATES):
        title = KPI_TITLES[kpi]
        board = board.with_panel(
            tile(
                title,
                meaning,
                (f'citypulse_kpi_ratio{{kpi="{kpi}", {A}}}', title),
                (3 * i, 0, 3, 4),
                thresholds=kpi_steps(kpi),
            )
        )
    for i, (title, expr, meaning, colours) in enumerate(COUNTS):
        board = board.with_panel(
            tile(title, meaning, (expr, title), (3 * i, 4, 3, 4), unit="none", decimals=0,
                 thresholds=colours)
        )  # fmt: skip
    return (
        board.with_panel(
            _percentiles(
                "Processing time percentiles",
                "Time from submission to resolution of the dossiers resolved in the hour "
                "before each point (from the histogram, so values are bucket estimates). A "
                "rising p90 announces on-time resolution falling a few days later.",
                "citypulse_dossier_processing_seconds",
                (0, 8, 12, 9),
            )
        )
        .with_panel(
            _percentiles(
                "Document delivery time percentiles",
                "Time from sending to receipt of the agency's documents received in the hour "
                "before each point. Paper documents take days; electronic ones minutes.",
                "citypulse_document_delivery_seconds",
                (12, 8, 12, 9),
            )
        )
        .with_panel(
            trend(
                "Backlog and overdue",
                "Open dossiers, those due soon and those overdue (stream time), and "
                "undelivered documents. Overdue should stay at zero; a rising due-soon line "
                "is the early warning.",
                [
                    (f"citypulse_dossiers_open{{{A}}}", "open"),
                    (f"citypulse_dossiers_due_soon{{{A}}}", "due soon"),
                    (f"citypulse_dossiers_overdue{{{A}}}", "overdue"),
                    (f"citypulse_documents_undelivered{{{A}}}", "documents undelivered"),
                ],
                (0, 17, 12, 9),
                unit="none",
                minimum=0,
            )
        )
        .with_panel(
            trend(
                "Rates of today",
                "How today's rates evolved during the day (they restart at midnight, event "
                "time). Dashed lines: the on-time warning and critical thresholds.",
                [
                    (
                        f'citypulse_kpi_ratio{{kpi!="digital_government_index", {A}}}',
                        "{{kpi}}",
                    )
                ],
                (12, 17, 12, 9),
                thresholds=kpi_steps("on_time_resolution"),
                minimum=0,
                maximum=1,
            )
        )
        .with_panel(
            pie(
                "Channel mix, last 24 h",
                "How dossiers arrived over the last 24 hours: online, at the one-stop "
                "counter, or by post. The province's goal is to move the counter share online.",
                [
                    (
                        f"sum by (channel) "
                        f"(increase(citypulse_dossiers_received_total{{{A}}}[24h]))",
                        "{{channel}}",
                    )
                ],
                (0, 26, 8, 8),
            )
        )
        .with_panel(
            pie(
                "Service level, last 24 h",
                "Dossiers by how far their procedure runs online: full process, partial, or "
                "offline only.",
                [
                    (
                        f"sum by (service_level) "
                        f"(increase(citypulse_dossiers_received_total{{{A}}}[24h]))",
                        "{{service_level}}",
                    )
                ],
                (8, 26, 8, 8),
            )
        )
        .with_panel(
            pie(
                "Documents sent, last 24 h",
                "Documents the agency sent by format and signature. A paper or unsigned slice "
                "is what lowers the electronic-document and digital-signature rates.",
                [
                    (
                        f"sum by (format, signed) "
                        f"(increase(citypulse_documents_sent_total{{{A}}}[24h]))",
                        "{{format}} · signed {{signed}}",
                    )
                ],
                (16, 26, 8, 8),
            )
        )
    )


def _percentiles(
    title: str, description: str, histogram: str, at: tuple[int, int, int, int]
) -> timeseries.Panel:
    """p50, p90 and p99 of one of the agency's duration histograms."""
    queries = [(quantile(q, histogram, A), f"p{round(q * 100)}") for q in (0.5, 0.9, 0.99)]
    return trend(title, description, queries, at, unit="s", minimum=0)
