"""Comparing an engine report with the oracle's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from citypulse.schemas import DecodeError, Event, decode
from citypulse.streams.kpi import KpiConfig, KpiEngine

from .oracle import classify, oracle_report

#: where a message sits: contract topic, partition, offset
Position = tuple[str, int, int]


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for k, v in value.items() if k != "bounds")
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value in (0, None)


def normalised(report: dict[str, Any]) -> dict[str, Any]:
    """JSON round trip (tuples become lists); agencies with nothing to report dropped."""
    data: dict[str, Any] = json.loads(json.dumps(report))
    data["agencies"] = {k: v for k, v in data["agencies"].items() if not _empty(v)}
    data["provinces"] = {k: v for k, v in data["provinces"].items() if not _empty(v)}
    return data


def oracle_for(
    events: Sequence[Event], config: KpiConfig, stream_of: Callable[[Event], str] | None = None
) -> dict[str, Any]:
    return normalised(
        oracle_report(
            events,
            lateness=config.allowed_lateness,
            due_soon_horizon=config.due_soon_horizon,
            undelivered_after=config.undelivered_after,
            timezone=config.timezone,
            processing_bounds=config.processing_buckets,
            delivery_bounds=config.delivery_buckets,
            index_weights=config.index_weights,
            scoring=config.scoring,
            published_shares=config.published_share,
            stream_of=stream_of,
        )
    )


@dataclass(frozen=True)
class PartitionedExpectation:
    report: dict[str, Any]  # the oracle's KPIs (normalised)
    rejected: dict[Position, str]  # every message to dead-letter, with its reason


def expected_for_partitions(
    records: Iterable[tuple[str, int, int, bytes]], config: KpiConfig
) -> PartitionedExpectation:
    """What a worker must show for what its input partitions hold (contract topic, partition,
    offset, value; in offset order per partition): the oracle with one stream per input
    partition, and the messages it must dead-letter (undecodable, or late in their stream)."""
    events: list[Event] = []
    where: dict[int, Position] = {}
    rejected: dict[Position, str] = {}
    for topic, partition, offset, value in records:
        event = decode(topic, value)
        if isinstance(event, DecodeError):
            rejected[(topic, partition, offset)] = event.reason
        else:
            where[id(event)] = (topic, partition, offset)
            events.append(event)

    def stream_of(e: Event) -> str:
        topic, partition, _ = where[id(e)]
        return f"{topic}:{partition}"

    verdicts = classify(events, config.allowed_lateness, stream_of)
    for event, verdict in zip(events, verdicts, strict=True):
        if verdict == "late":
            rejected[where[id(event)]] = "late"
    return PartitionedExpectation(oracle_for(events, config, stream_of=stream_of), rejected)


def engine_for(events: Sequence[Event], config: KpiConfig) -> dict[str, Any]:
    engine = KpiEngine(config)
    for e in events:
        engine.apply(e)
    return normalised(engine.report().to_dict())


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two nested structures first differ (readable assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}/{k}: only in {'engine' if k in a else 'oracle'}"
            found = first_difference(a[k], b[k], f"{path}/{k}")
            if found:
                return found
        return None
    return None if a == b else f"{path}: engine {a!r} != oracle {b!r}"
