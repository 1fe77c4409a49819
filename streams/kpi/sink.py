"""What an entity reducer tells the owner of per-agency aggregates (the facts it emits).

Entity state (one dossier, one document) and per-agency aggregates are kept apart so that
they can live in different places: in one process the sink is the :class:`AgencyBook`
itself; in a sharded worker, facts can be recorded and routed to the single owner of the
agency (CONTRACT §5, "any number of workers").
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["AgencyKey", "AgencySink"]

#: (province, agency) as exported in labels (after the cardinality bound is applied).
AgencyKey = tuple[str, str]


class AgencySink(Protocol):
    def received(self, key: AgencyKey, day: str, channel: str, service_level: str) -> None:
        """A dossier was submitted."""

    def opened(self, key: AgencyKey, delta: int) -> None:
        """The number of open dossiers changed by ``delta``."""

    def due_added(self, key: AgencyKey, due_at: float) -> None:
        """An open dossier has deadline ``due_at`` (it counts for overdue / due soon)."""

    def due_removed(self, key: AgencyKey, due_at: float) -> None:
        """An open dossier with deadline ``due_at`` was closed."""

    def resolved(
        self,
        key: AgencyKey,
        dossier_id: str,
        resolved_at: float,
        day: str,
        outcome: str,
        on_time: bool | None,
    ) -> None:
        """A dossier was resolved; ``on_time`` is None while its acceptance is not known."""

    def resolution_settled(self, key: AgencyKey, dossier_id: str, on_time: bool) -> None:
        """The acceptance of a pending resolution arrived (in time): it is on time or late."""

    def processed(self, key: AgencyKey, seconds: float) -> None:
        """A dossier's processing time (resolved - submitted) is known."""

    def withdrawn(self, key: AgencyKey) -> None:
        """An open or not yet submitted dossier was withdrawn."""

    def result_returned(self, key: AgencyKey, day: str, delivery: str) -> None:
        """A dossier's result was returned."""

    def rated(self, key: AgencyKey, day: str, satisfied: bool) -> None:
        """A dossier was rated."""

    def sent(self, key: AgencyKey, day: str, fmt: str, signed: bool) -> None:
        """A document was sent."""

    def awaiting(self, key: AgencyKey, sent_at: float) -> None:
        """A document sent at ``sent_at`` is not known to be received (undelivered candidate)."""

    def delivered(self, key: AgencyKey, sent_at: float, seconds: float, awaited: bool) -> None:
        """A document's delivery time is known; ``awaited``: it had been reported awaiting."""
