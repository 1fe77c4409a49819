"""``citypulse report``: the day's or week's page for the People's Committee's meeting.

From a running Prometheus (``--prometheus URL``: what the wall shows, at the end of the period)
or offline from a recording (``--recording FILE``: the core engine along the recording's
stream time, the period ending at its last event). Writes ``index.html`` and PNG charts.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from citypulse import bootstrap
from citypulse.dashboards import report as page
from citypulse.dashboards.report_sources import (
    PrometheusError,
    from_kpi_reports,
    from_prometheus,
    step,
)
from citypulse.producers.recording import RecordingError
from citypulse.settings import Settings

from .arguments import Subcommands, add_command, parse_time
from .replay import ReplayOptions
from .verify import verify

__all__ = ["add_parser", "run"]


def add_parser(commands: Subcommands) -> None:
    parser = add_command(
        commands,
        "report",
        description="The province's tiles, the agencies ranked by digital-government index, "
        "the agencies with the most overdue dossiers and the rates over the period, as an "
        "HTML page with PNG charts: from Prometheus, or offline from a recording.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", metavar="URL", help="Prometheus that scrapes the workers")
    source.add_argument(
        "--recording", type=Path, metavar="FILE", help="compute the figures from a recording"
    )
    parser.add_argument("--period", choices=("day", "week"), default="day")
    parser.add_argument(
        "--end",
        type=parse_time,
        metavar="TIME",
        help="end of the period with --prometheus (ISO 8601 with offset; default now)",
    )
    parser.add_argument("--province", help="province code (default: the reference data's)")
    parser.add_argument(
        "--out", type=Path, default=Path("report"), help="directory to write (default report/)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    reference = bootstrap.reference(settings)
    try:
        if args.prometheus:
            end = args.end or datetime.now(UTC)
            report = from_prometheus(args.prometheus, reference, args.period, end, args.province)
        else:
            every = step(args.period).total_seconds()
            verified = verify(settings, ReplayOptions(args.recording), every=every)
            report = from_kpi_reports(
                verified.taken, reference, args.period, f"recording {args.recording.name}"
            )
    except (PrometheusError, RecordingError, ValueError) as exc:
        console.print(f"report: {exc}", style="red", markup=False)
        return 2
    path = page.write(report, args.out)
    span = f"{report.start:%Y-%m-%d} – {report.end:%Y-%m-%d %H:%M}"
    console.print(f"wrote {path} ({report.province_name}, {span})")
    return 0
