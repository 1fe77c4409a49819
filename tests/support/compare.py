"""Comparing an engine report with the oracle's."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from citypulse.schemas import Event
from citypulse.streams.kpi import KpiConfig, KpiEngine

from .oracle import oracle_report


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
            stream_of=stream_of,
        )
    )


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
