"""``citypulse replay FILE``: send a recording back into topics.

The file is read completely once before anything is sent: a damaged or truncated file fails
with the line and record it breaks at and **sends nothing** (``--salvage`` replays the
complete records of a file that merely ends early). Keys, values, headers and partitions are
kept (records go to the partition they were recorded from, so per-partition order is exactly
the recorded one); the broker timestamp is kept too, unless event times are rebased. Topics
missing on the target are created with the recording's partition count.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from citypulse.producers.pacing import paced
from citypulse.producers.publisher import DeliveryReport, Publisher
from citypulse.producers.recording import (
    Recorded,
    RecordingError,
    RecordingInfo,
    event_time,
    read_recording,
)
from citypulse.producers.selection import Selection, rebase_shift, shift_event_times
from citypulse.settings import Settings
from citypulse.topic_admin import ensure_topics

from .arguments import (
    Subcommands,
    add_command,
    add_selection_arguments,
    parse_time,
    require_broker,
)

__all__ = [
    "ReplayOptions",
    "ReplayPlan",
    "ReplayResult",
    "add_parser",
    "plan_replay",
    "replay",
    "replay_options",
    "replayed",
    "run",
]


@dataclass(frozen=True)
class ReplayOptions:
    path: Path
    speed: float | None = None
    rate: float | None = None
    rebase_time: str | None = None  # "now" or ISO 8601 with an offset
    selection: Selection = field(default_factory=Selection)
    topic_prefix: str = ""
    salvage: bool = False


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay will send: how many records, from which partitions, shifted by how much."""

    info: RecordingInfo
    records: int  # records the selection keeps
    partitions: dict[str, int]  # recorded topic -> partition count needed
    first_event: float | None  # event time of the first kept event, before any shift
    shift: float  # seconds added to event times


@dataclass
class ReplayResult:
    plan: ReplayPlan
    report: DeliveryReport
    seconds: float


@dataclass
class _Timed:
    record: Recorded
    at: float  # stream time (newest event time so far), for pacing by event time


def plan_replay(
    options: ReplayOptions, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> ReplayPlan:
    """Read the whole file (raises RecordingError, naming the line, if it is damaged)."""
    info = RecordingInfo({}, None, 0, None, None)
    kept = 0
    partitions: dict[str, int] = {}
    first_event: float | None = None
    timed = options.rebase_time is not None or options.speed is not None
    for r in read_recording(options.path, salvage=options.salvage, info=info):
        if not options.selection.keeps(r.value):
            continue
        kept += 1
        if r.partition >= partitions.get(r.topic, 0):
            partitions[r.topic] = r.partition + 1
        if timed:
            t = event_time(r.value)
            if t is not None and (first_event is None or t < first_event):
                first_event = t
    shift = 0.0
    if options.rebase_time is not None and first_event is not None:
        shift = rebase_shift(options.rebase_time, first_event, now)
    return ReplayPlan(info, kept, partitions, first_event, shift)


def replayed(options: ReplayOptions, plan: ReplayPlan) -> Iterator[Recorded]:
    """The records a replay sends, in file order: selected, and event times shifted."""
    for r in read_recording(options.path, salvage=options.salvage):
        if not options.selection.keeps(r.value):
            continue
        if plan.shift:
            r = Recorded(
                r.topic,
                r.partition,
                r.offset,
                None,  # a rebased replay is timestamped now, like live traffic
                r.key,
                shift_event_times(r.value, plan.shift),
                r.headers,
            )
        yield r


def _timed(records: Iterator[Recorded], start: float) -> Iterator[_Timed]:
    stream_time = start
    for r in records:
        t = event_time(r.value)
        if t is not None:
            stream_time = max(stream_time, t)
        yield _Timed(r, stream_time)


def _check_topics(settings: Settings, plan: ReplayPlan, prefix: str) -> None:
    """Create missing target topics; refuse one with fewer partitions than recorded."""
    targets = {prefix + topic: n for topic, n in plan.partitions.items()}
    report = ensure_topics(
        settings.bootstrap_servers,
        targets,
        max(targets.values(), default=1),
        settings.replication_factor,
        settings.kafka_client_options(),
    )
    for topic, have in report.mismatched.items():
        if have < targets[topic]:
            raise ValueError(
                f"topic {topic!r} has {have} partitions, the recording uses {targets[topic]}: "
                "replay into a topic with at least as many"
            )


def replay(
    settings: Settings, options: ReplayOptions, plan: ReplayPlan, console: Console
) -> ReplayResult:
    _check_topics(settings, plan, options.topic_prefix)
    publisher = Publisher(settings.bootstrap_servers, settings.kafka_client_options())
    start = (plan.first_event or 0.0) + plan.shift
    records: Iterator[_Timed] = (
        paced(_timed(replayed(options, plan), start), speed=options.speed, at=lambda t: t.at)
        if options.speed is not None  # by event time: the stream time of every record
        else paced((_Timed(r, 0.0) for r in replayed(options, plan)), rate=options.rate)
    )
    columns = (
        TextColumn("[bold]replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    began = time.monotonic()
    sent = 0
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("replay", total=plan.records, rate="")
        try:
            for timed in records:
                r = timed.record
                publisher.send_record(
                    options.topic_prefix + r.topic,
                    r.key,
                    r.value,
                    partition=r.partition,
                    headers=list(r.headers),
                    timestamp_ms=r.timestamp,
                )
                sent += 1
                if sent % 500 == 0:
                    elapsed = time.monotonic() - began
                    progress.update(task, completed=sent, rate=f"{sent / elapsed:,.0f} rec/s")
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: flushing what was queued[/yellow]")
        report = publisher.close()
        progress.update(task, completed=sent)
    return ReplayResult(plan, report, time.monotonic() - began)


def add_parser(commands: Subcommands) -> None:
    parser = add_command(
        commands,
        "replay",
        description="Send a recording back into topics, keeping keys, values, headers and "
        "partitions. The whole file is checked first: a damaged or truncated file fails with "
        "the line and record where it breaks, and nothing is sent.",
    )
    parser.add_argument("file", type=Path)
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=float, help="paced by event time, N x real time (60: an hour a minute)"
    )
    pace.add_argument("--rate", type=float, help="records per second")
    parser.add_argument(
        "--topic-prefix", default="", metavar="P", help="send to P<topic> (e.g. test.)"
    )
    add_selection_arguments(parser)
    parser.set_defaults(run=run)


def replay_options(args: argparse.Namespace) -> ReplayOptions:
    """The options of ``replay`` (and of ``verify``, which takes the same selection)."""

    def names(text: str | None) -> frozenset[str] | None:
        return None if text is None else frozenset(n.strip() for n in text.split(",") if n.strip())

    since, until = parse_time(args.since), parse_time(args.until)
    if args.rebase_time not in (None, "now"):
        parse_time(args.rebase_time)
    selection = Selection(
        None if since is None else since.timestamp(),
        None if until is None else until.timestamp(),
        names(args.types),
        names(args.agencies),
    )
    return ReplayOptions(
        args.file,
        speed=getattr(args, "speed", None),
        rate=getattr(args, "rate", None),
        rebase_time=args.rebase_time,
        selection=selection,
        topic_prefix=getattr(args, "topic_prefix", ""),
        salvage=args.salvage,
    )


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    require_broker(settings)
    try:
        options = replay_options(args)
        plan = plan_replay(options)
        if plan.shift:
            first = datetime.fromtimestamp((plan.first_event or 0) + plan.shift, UTC)
            console.print(
                f"rebased: event times shifted by {plan.shift:+,.0f} s; first event at "
                f"{first.isoformat()} (give verify --rebase-time {first.isoformat()})"
            )
        result = replay(settings, options, plan, console)
    except (RecordingError, ValueError) as exc:
        console.print(f"replay: {exc} (nothing was sent)", style="red", markup=False)
        return 2
    report = result.report
    style = "green" if report.ok else "red"
    console.print(
        f"sent {report.sent:,} · failed {report.failed:,} · selected {plan.records:,} of "
        f"{plan.info.records:,} records · {result.seconds:,.1f} s "
        f"({report.sent / max(result.seconds, 1e-9):,.0f} rec/s)"
        + (f" · first error: {report.first_error}" if report.first_error else ""),
        style=style,
        markup=False,
    )
    return 0 if report.ok and report.sent == plan.records else 1
