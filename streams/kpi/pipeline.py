"""Bytes in, KPIs out: decoding plus the engine, with the pipeline-health counts.

The counts mirror the ``citypulse_events_*`` metrics of CONTRACT §6: ``events`` counts
every schema-valid event received (applied or not) by (topic, event_type); ``invalid``,
``duplicate``, ``late`` and ``conflict`` count what was not applied, and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from citypulse.schemas import DecodeError, decode

from .engine import KpiEngine
from .outcome import Outcome

__all__ = ["Pipeline", "PipelineStats"]


@dataclass
class PipelineStats:
    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    invalid: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicate: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    conflict: Counter[str] = field(default_factory=Counter)


class Pipeline:
    """Decode each message of an input topic and fold it into an engine."""

    def __init__(self, engine: KpiEngine) -> None:
        self.engine = engine
        self.stats = PipelineStats()

    def feed(self, topic: str, raw: bytes | str) -> Outcome | DecodeError:
        """Decode and fold one message; the result says what happened to it."""
        event = decode(topic, raw)
        if isinstance(event, DecodeError):
            self.stats.invalid[(topic, event.reason)] += 1
            return event
        self.stats.events[(topic, event.event_type)] += 1
        outcome = self.engine.apply(event)
        if outcome == "duplicate":
            self.stats.duplicate[topic] += 1
        elif outcome == "late":
            self.stats.late[topic] += 1
        elif outcome == "conflict":
            self.stats.conflict[topic] += 1
        return outcome
