"""``citypulse simulate``: the simulator streamed into the topics, with progress and a summary."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from citypulse.producers.faults import Message
from citypulse.producers.pacing import paced
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import DeliveryReport, Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC

from . import bootstrap
from .interrupts import deferred_interrupts
from .settings import Settings

__all__ = ["SimulateOptions", "simulate_to_file", "simulate_to_kafka"]


@dataclass(frozen=True)
class SimulateOptions:
    events: int | None = None
    hours: float | None = None
    rate: float | None = None
    speed: float | None = None
    seed: int = 42
    faults: Faults = field(default_factory=Faults)
    #: late-resolution share per agency code (a degraded agency, e.g. {"CAT": 0.6})
    late_share: Mapping[str, float] = field(default_factory=dict)


def _messages(settings: Settings, options: SimulateOptions) -> Iterator[Message]:
    config = SimulationConfig(
        seed=options.seed,
        faults=options.faults,
        allowed_lateness=settings.allowed_lateness.total_seconds(),
        agency_late_share=dict(options.late_share),
    )
    simulator = Simulator(bootstrap.reference(settings), config)
    until = None if options.hours is None else config.start + timedelta(hours=options.hours)
    stream: Iterator[Message] = simulator.messages(until=until)
    if options.events is not None:
        stream = itertools.islice(stream, options.events)
    return paced(stream, speed=options.speed, rate=options.rate)


def simulate_to_kafka(
    settings: Settings, options: SimulateOptions, console: Console
) -> DeliveryReport:
    """Send the simulated stream to the configured topics; the report says what was delivered."""
    topics = {
        "citypulse.dossier-events": settings.dossier_topic,
        "citypulse.document-events": settings.document_topic,
    }
    publisher = Publisher(settings.bootstrap_servers, settings.kafka_client_options())
    columns = (
        TextColumn("[bold]simulate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    queued = 0
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("send", total=options.events, rate="")
        try:
            for message in _messages(settings, options):
                publisher.send(message, topic=topics[message.topic])
                queued += 1
                if queued % 1000 == 0:
                    elapsed = progress.tasks[0].elapsed or 1e-9
                    progress.update(task, completed=queued, rate=f"{queued / elapsed:,.0f} msg/s")
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: flushing what was queued[/yellow]")
        report = publisher.close()
        progress.update(task, completed=queued)
    style = "green" if report.ok else "red"
    console.print(
        f"[{style}]sent {report.sent:,} · failed {report.failed:,}[/{style}]"
        + (f" · first error: {report.first_error}" if report.first_error else "")
    )
    return report


def simulate_to_file(
    settings: Settings, options: SimulateOptions, path: Path, console: Console
) -> dict[str, object]:
    """Write the simulated stream as a recording (no broker): each message in the partition
    Kafka's default partitioner would give its key (murmur2, ``CITYPULSE_PARTITIONS``), with
    consecutive offsets and its simulated time as the timestamp. Returns the summary."""
    from citypulse.producers.recording import write_messages

    source = {
        "simulator": {
            "seed": options.seed,
            "events": options.events,
            "hours": options.hours,
            "faults": asdict(options.faults),
            "late_share": dict(options.late_share),
            "partitions": settings.partitions,
        }
    }
    with deferred_interrupts() as interrupted:
        summary = write_messages(
            path,
            _messages(settings, replace(options, rate=None, speed=None)),
            topics={DOSSIER_TOPIC: settings.dossier_topic, DOCUMENT_TOPIC: settings.document_topic},
            partitions=settings.partitions,
            source=source,
            created_at=SimulationConfig().start.astimezone(UTC),  # same input, same file
            stop=lambda: bool(interrupted),
        )
    console.print(
        f"[green]wrote {summary['records']:,} simulated records to {path} "
        f"({path.stat().st_size / 1e6:,.1f} MB)[/green]"
    )
    return summary
