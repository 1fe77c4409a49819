"""``citypulse record``: capture topics into a recording file (see producers/recording.py).

Reads with kafka-python's ``assign()`` + ``seek`` (no consumer group: nothing is committed, and
it works on the embedded broker too, BROKER-NOTES #9). Where to start, per partition: the
beginning, given offsets, or the first record whose *event time* (``occurred_at``) is at or
after a point in time, found by reading, since a broker's offsets-for-times index holds
arrival times (and is unreliable on the embedded broker, BROKER-NOTES #5). Where to stop: the
end offsets seen at start (on the embedded broker, ListOffsets under-reports the end of a
partition written in batches, BROKER-NOTES #1, so the highwater of the first fetch counts
too), after N records, or on Ctrl-C; the file is valid in every case.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from citypulse.interrupts import deferred_interrupts
from citypulse.producers.recording import Recorded, RecordingWriter, event_time
from citypulse.settings import Settings

from .arguments import Subcommands, add_command, parse_time, require_broker

__all__ = ["RecordOptions", "RecordResult", "add_parser", "record", "run"]


@dataclass(frozen=True)
class RecordOptions:
    topics: list[str]
    out: Path
    offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)  # start per partition
    since: datetime | None = None  # start by event time
    max_records: int | None = None
    idle_timeout: float = 10.0  # stop if nothing arrives for this long before the end


@dataclass
class RecordResult:
    records: int
    ended: str  # end_offsets | max_records | interrupted | idle
    summary: dict[str, Any]


class RecordError(RuntimeError):
    pass


def _partitions(consumer: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    tps = []
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise RecordError(f"topic {topic!r} does not exist (or has no partitions)")
        tps += [TopicPartition(topic, p) for p in sorted(partitions)]
    return tps


def record(settings: Settings, options: RecordOptions, console: Console) -> RecordResult:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="citypulse-record",
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5000,
        **settings.kafka_client_options(),
    )
    try:
        return _record(consumer, settings, options, console)
    finally:
        consumer.close()


def _record(
    consumer: KafkaConsumer, settings: Settings, options: RecordOptions, console: Console
) -> RecordResult:
    tps = _partitions(consumer, options.topics)
    consumer.assign(tps)
    first = consumer.beginning_offsets(tps)
    end: dict[TopicPartition, int] = dict(consumer.end_offsets(tps))
    start: dict[str, Any] = {"mode": "beginning"}
    for tp in tps:
        offset = options.offsets.get((tp.topic, tp.partition), first[tp])
        consumer.seek(tp, max(offset, first[tp]))
    if options.offsets:
        start = {
            "mode": "offsets",
            "offsets": {f"{t}:{p}": o for (t, p), o in options.offsets.items()},
        }
    since = None if options.since is None else options.since.timestamp()
    if options.since is not None:
        start = {"mode": "event_time", "since": options.since.isoformat()}
    reached_start = dict.fromkeys(tps, since is None)  # by event time: seen a record >= since
    highwater_seen: set[TopicPartition] = set()
    done = {tp for tp in tps if consumer.position(tp) >= end[tp] and end[tp] == first[tp]}
    source = {"bootstrap": settings.bootstrap_servers, "broker": settings.broker}
    writer = RecordingWriter(options.out, source=source, topics=options.topics, start=start)
    ended: str | None = None
    last_arrival = time.monotonic()
    columns = (
        TextColumn("[bold]record"),
        TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[size]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    full = options.max_records or float("inf")
    with Progress(*columns, console=console) as progress, deferred_interrupts() as interrupted:
        task = progress.add_task("record", total=None, size="", rate="")
        while ended is None:
            if len(done) == len(tps):
                ended = "end_offsets"
                break
            batch = consumer.poll(timeout_ms=500)
            for tp in tps:
                if tp not in highwater_seen and consumer.highwater(tp) is not None:
                    highwater_seen.add(tp)  # the partition's true end (BROKER-NOTES #1)
                    end[tp] = max(end[tp], consumer.highwater(tp))
                seen_end = tp in highwater_seen and consumer.position(tp) >= end[tp]
                if tp not in done and seen_end:
                    done.add(tp)
                    consumer.pause(tp)
            if batch:
                last_arrival = time.monotonic()
            for tp, records in batch.items():
                for r in records:
                    if interrupted or writer.tally.records >= full:
                        break  # between two records: the file stays consistent
                    if r.offset >= end[tp]:
                        done.add(tp)
                        consumer.pause(tp)
                        break
                    if not reached_start[tp]:
                        t = event_time(r.value)
                        if t is None or since is None or t < since:
                            continue
                        reached_start[tp] = True
                    writer.write(
                        Recorded(
                            r.topic,
                            r.partition,
                            r.offset,
                            r.timestamp,
                            r.key,
                            r.value,
                            tuple((k, v or b"") for k, v in r.headers or ()),
                        )
                    )
            count = writer.tally.records
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(
                task,
                completed=count,
                size=f"{writer.bytes_written / 1e6:,.1f} MB",
                rate=f"{count / elapsed:,.0f} rec/s",
            )
            if interrupted:
                ended = "interrupted"
            elif count >= full:
                ended = "max_records"
            elif time.monotonic() - last_arrival > options.idle_timeout:
                ended = "idle"
                console.print(
                    f"[yellow]nothing arrived for {options.idle_timeout:g} s before the "
                    "end offsets: stopping[/yellow]"
                )
        summary = writer.close(ended)
        progress.update(task, completed=writer.tally.records)
    console.print(
        f"[green]recorded {summary['records']:,} records into {options.out} "
        f"({options.out.stat().st_size / 1e6:,.1f} MB; stopped: {ended})[/green]"
    )
    return RecordResult(summary["records"], ended, summary)


def add_parser(commands: Subcommands) -> None:
    parser = add_command(
        commands,
        "record",
        description="Capture topics into a recording file (gzip JSON Lines: header, records, "
        "summary). Stops at the end offsets seen at start, after --max-records, or on Ctrl-C, "
        "leaving a valid file in every case.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="file to write")
    parser.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="TOPIC",
        help="topic to record (repeatable; default: the two input topics)",
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--from-offset",
        action="append",
        default=[],
        metavar="TOPIC:PARTITION:OFFSET",
        help="start this partition at this offset (repeatable; others from the beginning)",
    )
    start.add_argument(
        "--since",
        metavar="TIME",
        help="start each partition at its first event with occurred_at >= TIME (ISO 8601 "
        "with offset), found by reading the partition",
    )
    parser.add_argument("--max-records", type=int, metavar="N", help="stop after N records")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="stop when nothing arrives for S seconds before the end (default 10)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    require_broker(settings)
    offsets = {}
    try:
        for spec in args.from_offset:
            topic, partition, offset = spec.rsplit(":", 2)
            offsets[(topic, int(partition))] = int(offset)
        options = RecordOptions(
            topics=args.topics or list(settings.input_topics),
            out=args.out,
            offsets=offsets,
            since=parse_time(args.since),
            max_records=args.max_records,
            idle_timeout=args.idle_timeout,
        )
        record(settings, options, console)
    except (RecordError, ValueError) as exc:
        console.print(f"record: {exc}", style="red", markup=False)
        return 2
    return 0
