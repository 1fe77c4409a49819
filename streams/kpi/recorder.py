"""A sink that records facts instead of applying them (for a second stage to apply)."""

from __future__ import annotations

from typing import Any

from .sink import AgencyKey

__all__ = ["Fact", "FactRecorder"]

#: ``[name, [province, agency], *args]``: JSON-ready, applied by ``AgencyBook.apply_fact``.
Fact = list[Any]


class FactRecorder:
    """Implements :class:`~.sink.AgencySink` by appending each call to :attr:`facts`."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def _record(self, name: str, key: AgencyKey, *args: Any) -> None:
        self.facts.append([name, list(key), *args])

    def received(self, key: AgencyKey, day: str, channel: str, service_level: str) -> None:
        self._record("received", key, day, channel, service_level)

    def opened(self, key: AgencyKey, delta: int) -> None:
        self._record("opened", key, delta)

    def due_added(self, key: AgencyKey, due_at: float) -> None:
        self._record("due_added", key, due_at)

    def due_removed(self, key: AgencyKey, due_at: float) -> None:
        self._record("due_removed", key, due_at)

    def resolved(
        self,
        key: AgencyKey,
        dossier_id: str,
        resolved_at: float,
        day: str,
        outcome: str,
        on_time: bool | None,
    ) -> None:
        self._record("resolved", key, dossier_id, resolved_at, day, outcome, on_time)

    def resolution_settled(self, key: AgencyKey, dossier_id: str, on_time: bool) -> None:
        self._record("resolution_settled", key, dossier_id, on_time)

    def processed(self, key: AgencyKey, seconds: float) -> None:
        self._record("processed", key, seconds)

    def withdrawn(self, key: AgencyKey) -> None:
        self._record("withdrawn", key)

    def result_returned(self, key: AgencyKey, day: str, delivery: str) -> None:
        self._record("result_returned", key, day, delivery)

    def rated(self, key: AgencyKey, day: str, satisfied: bool) -> None:
        self._record("rated", key, day, satisfied)

    def sent(self, key: AgencyKey, day: str, fmt: str, signed: bool) -> None:
        self._record("sent", key, day, fmt, signed)

    def awaiting(self, key: AgencyKey, sent_at: float) -> None:
        self._record("awaiting", key, sent_at)

    def delivered(self, key: AgencyKey, sent_at: float, seconds: float, awaited: bool) -> None:
        self._record("delivered", key, sent_at, seconds, awaited)
