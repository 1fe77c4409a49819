"""``citypulse verify FILE``: the KPIs a recording must produce, computed offline.

The recording goes through the same selection and time shift as ``citypulse replay`` would
apply, then through :class:`~citypulse.streams.kpi.PartitionedKpis` (one engine per recorded
input partition, as the worker does), so the result is what a worker's ``/metrics`` must show
after replaying it. A topic is read as dossier (document) events if it is the configured
``CITYPULSE_DOSSIER_TOPIC`` (``_DOCUMENT_TOPIC``) or its name ends with the contract's topic
name (e.g. ``test.citypulse.dossier-events``); other topics are skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from rich.console import Console

from citypulse import bootstrap
from citypulse.console import kpi_view
from citypulse.producers.recording import RecordingError, event_time
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.settings import Settings
from citypulse.streams.kpi import KpiReport, PartitionedKpis, PipelineStats

from .arguments import Subcommands, add_command, add_selection_arguments
from .replay import ReplayOptions, ReplayPlan, plan_replay, replay_options, replayed

__all__ = ["Verified", "add_parser", "as_prometheus", "run", "verify"]


@dataclass
class Verified:
    plan: ReplayPlan
    report: KpiReport
    stats: PipelineStats
    skipped: Counter[str]  # records of topics that are not input topics
    #: reports taken along the stream (``every``), oldest first, the final one last
    taken: list[KpiReport] = field(default_factory=list)


def _contract(settings: Settings, topic: str) -> str | None:
    for configured, contract in (
        (settings.dossier_topic, DOSSIER_TOPIC),
        (settings.document_topic, DOCUMENT_TOPIC),
    ):
        if topic == configured or topic.endswith(contract):
            return contract
    return None


def verify(settings: Settings, options: ReplayOptions, every: float | None = None) -> Verified:
    """The KPIs of the recording; with ``every`` (seconds), also a report each time stream
    time passes a multiple of it (what the wall showed along the way)."""
    plan = plan_replay(options)
    kpis = PartitionedKpis(bootstrap.kpi_config(settings))
    skipped: Counter[str] = Counter()
    taken: list[KpiReport] = []
    next_at: float | None = None
    for r in replayed(options, plan):
        contract = _contract(settings, r.topic)
        if contract is None:
            skipped[r.topic] += 1
            continue
        kpis.feed(contract, r.partition, r.value or b"")
        t = event_time(r.value) if every else None
        if every and t is not None and (next_at is None or t >= next_at):
            if next_at is not None:
                taken.append(kpis.report())
            next_at = (t // every + 1) * every
    report = kpis.report()
    return Verified(plan, report, kpis.stats(), skipped, [*taken, report])


def as_prometheus(report: KpiReport) -> str:
    """The KPI series a worker's /metrics must serve for this report (exposition format)."""
    from citypulse.streams.exposition.metrics import KpiCollector

    registry = CollectorRegistry()
    registry.register(KpiCollector(lambda: report))
    return generate_latest(registry).decode()


def as_json(verified: Verified) -> str:
    return json.dumps(
        {
            "records": verified.plan.records,
            "shift_seconds": verified.plan.shift,
            "skipped": dict(verified.skipped),
            "kpis": verified.report.to_dict(),
        },
        indent=2,
        sort_keys=True,
        default=str,
    )


def add_parser(commands: Subcommands) -> None:
    parser = add_command(
        commands,
        "verify",
        description="Compute the KPIs of a recording with the core engine (one engine per "
        "recorded partition, as the worker), after the same selection and time shift a replay "
        "would apply: what /metrics must show once the worker has processed the replay.",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--format", choices=("table", "json", "prometheus"), default="table", help="output"
    )
    add_selection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    try:
        verified = verify(settings, replay_options(args))
    except (RecordingError, ValueError) as exc:
        console.print(f"verify: {exc}", style="red", markup=False)
        return 2
    if args.format == "prometheus":
        sys.stdout.write(as_prometheus(verified.report))
    elif args.format == "json":
        sys.stdout.write(as_json(verified) + "\n")
    else:
        console.print(kpi_view(verified.report, bootstrap.references(settings), verified.stats, 0))
        if verified.skipped:
            console.print(f"skipped (not an input topic): {dict(verified.skipped)}")
    return 0
