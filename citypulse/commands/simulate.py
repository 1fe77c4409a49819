"""``citypulse simulate``: the simulator streamed into the topics, with progress and a summary."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from citypulse import bootstrap
from citypulse.interrupts import deferred_interrupts
from citypulse.producers.faults import Message
from citypulse.producers.pacing import paced
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import DeliveryReport, Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.schemas.reference import SHIPPED, load_references
from citypulse.settings import Settings

from .arguments import Subcommands, add_command, require_broker

__all__ = ["SimulateOptions", "add_parser", "run", "simulate_to_file", "simulate_to_kafka"]


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
    #: the provinces to simulate (codes of the packaged reference data); None: the first
    #: province watched (CITYPULSE_PROVINCES, or CITYPULSE_REFERENCE_FILE's)
    provinces: tuple[str, ...] | None = None


def _messages(settings: Settings, options: SimulateOptions) -> Iterator[Message]:
    config = SimulationConfig(
        seed=options.seed,
        faults=options.faults,
        allowed_lateness=settings.allowed_lateness.total_seconds(),
        agency_late_share=dict(options.late_share),
    )
    references = (
        bootstrap.references(settings)[:1]
        if options.provinces is None
        else load_references(options.provinces)
    )
    simulator = Simulator(references, config)
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


#: one option per kind of upstream fault the simulator injects (--duplicate RATE, ...)
FAULT_NAMES = tuple(f.name for f in fields(Faults))


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "simulate")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--events", type=int, help="stop after N messages")
    size.add_argument("--hours", type=float, help="stop after H simulated hours")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="messages per second")
    pace.add_argument("--speed", type=float, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--provinces",
        metavar="CODES",
        help=f"simulate these provinces together, comma-separated, of {','.join(SHIPPED)} "
        "(default: the first province watched)",
    )
    for fault in FAULT_NAMES:
        parser.add_argument(
            f"--{fault}",
            type=float,
            default=0.0,
            metavar="RATE",
            help=f"inject {fault} faults at this rate per event (0-1)",
        )
    parser.add_argument(
        "--to",
        type=Path,
        metavar="FILE",
        help="write a recording file instead of sending (no broker; replay it later)",
    )
    parser.add_argument(
        "--late-agency",
        action="append",
        default=[],
        metavar="CODE=SHARE",
        help="a degraded agency: its share of late resolutions (repeatable), e.g. CAT=0.6",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    provinces = None if args.provinces is None else _provinces(args.provinces)
    if provinces == ():
        console.print(f"[red]simulate --provinces takes some of {','.join(SHIPPED)}[/red]")
        return 2
    options = SimulateOptions(
        events=args.events,
        hours=args.hours,
        rate=args.rate,
        speed=args.speed,
        seed=args.seed,
        faults=Faults(**{name: getattr(args, name) for name in FAULT_NAMES}),
        late_share=_late_shares(args.late_agency),
        provinces=provinces,
    )
    if args.to is None:
        require_broker(settings)
        return 0 if simulate_to_kafka(settings, options, console).ok else 1
    if args.events is None and args.hours is None:
        console.print("[red]simulate --to FILE needs --events N or --hours H[/red]")
        return 2
    if args.rate is not None or args.speed is not None:
        console.print("[red]simulate --to FILE writes as fast as it can: no --rate/--speed[/red]")
        return 2
    simulate_to_file(settings, options, args.to, console)
    return 0


def _provinces(codes: str) -> tuple[str, ...]:
    """The codes given, or () if any is not a packaged province's."""
    chosen = tuple(c.strip() for c in codes.split(",") if c.strip())
    return chosen if chosen and all(c in SHIPPED for c in chosen) else ()


def _late_shares(pairs: list[str]) -> dict[str, float]:
    shares = {}
    for pair in pairs:
        code, _, share = pair.partition("=")
        shares[code] = float(share)
    return shares
