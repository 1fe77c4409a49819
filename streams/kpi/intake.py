"""Bytes in, KPIs out: decoding plus the engine, with the pipeline-health counts.

The counts mirror the ``citypulse_events_*`` metrics of CONTRACT §6: ``events`` counts
every schema-valid event received (applied or not) by (topic, event_type); ``invalid``,
``duplicate``, ``late`` and ``conflict`` count what was not applied, and why. What is
counted when is written once, here (:func:`read`, :meth:`Tally.refused`); where it goes is
a :class:`Tally`: :class:`PipelineStats` in the core, the metrics in a worker.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from citypulse.schemas import DecodeError, Event, decode

from .engine import KpiEngine
from .outcome import APPLIED, Outcome

__all__ = ["Intake", "PipelineStats", "Tally", "read"]


class Tally(Protocol):
    """The pipeline-health counts of one input topic."""

    def event(self, event_type: str) -> None:
        """A schema-valid event was received (applied or not)."""

    def invalid(self, reason: str) -> None:
        """A message was rejected by the schemas."""

    def refused(self, outcome: Outcome) -> None:
        """An event was not applied: a duplicate, late or a conflict."""


def read(topic: str, raw: bytes | str, tally: Tally) -> Event | DecodeError:
    """Decode one message of contract ``topic``, counting it valid or invalid."""
    event = decode(topic, raw)
    if isinstance(event, DecodeError):
        tally.invalid(event.reason)
    else:
        tally.event(event.event_type)
    return event


@dataclass
class PipelineStats:
    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    invalid: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicate: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    conflict: Counter[str] = field(default_factory=Counter)

    def tally(self, topic: str) -> Tally:
        return _StatsTally(self, topic)


@dataclass(frozen=True, slots=True)
class _StatsTally:
    stats: PipelineStats
    topic: str

    def event(self, event_type: str) -> None:
        self.stats.events[(self.topic, event_type)] += 1

    def invalid(self, reason: str) -> None:
        self.stats.invalid[(self.topic, reason)] += 1

    def refused(self, outcome: Outcome) -> None:
        counter: Counter[str] = getattr(self.stats, outcome)
        counter[self.topic] += 1


class Intake:
    """Decode each message of an input topic and fold it into an engine."""

    def __init__(self, engine: KpiEngine) -> None:
        self.engine = engine
        self.stats = PipelineStats()
        self._tallies: dict[str, Tally] = {}

    def feed(self, topic: str, raw: bytes | str) -> Outcome | DecodeError:
        """Decode and fold one message; the result says what happened to it."""
        tally = self._tallies.get(topic)
        if tally is None:
            tally = self._tallies[topic] = self.stats.tally(topic)
        event = read(topic, raw, tally)
        if isinstance(event, DecodeError):
            return event
        outcome = self.engine.apply(event)
        if outcome != APPLIED:
            tally.refused(outcome)
        return outcome
