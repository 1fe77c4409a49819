"""``citypulse replay FILE``: send a recording back into topics.

The file is read completely once before anything is sent: a damaged or truncated file fails
with the line and record it breaks at and **sends nothing** (``--salvage`` replays the
complete records of a file that merely ends early). Keys, values, headers and partitions are
kept (records go to the partition they were recorded from, so per-partition order is exactly
the recorded one); the broker timestamp is kept too, unless event times are rebased. Topics
missing on the target are created with the recording's partition count.
"""

from __future__ import annotations

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
from citypulse.producers.recording import Recorded, RecordingInfo, event_time, read_recording
from citypulse.producers.selection import Selection, rebase_shift, shift_event_times

from .settings import Settings
from .topics import ensure_topics

__all__ = ["ReplayOptions", "ReplayPlan", "ReplayResult", "plan_replay", "replay", "replayed"]


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
