"""One dossier's state, and how each dossier event changes it and the agency aggregates.

The facts a dossier contributes depend only on the set of its events, never on the order
they arrive in (within the allowed lateness): every step is a slot filled once, and each
fact is emitted when the slots it needs are filled, whichever came first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from citypulse.schemas import (
    DossierAccepted,
    DossierPaid,
    DossierRated,
    DossierResolved,
    DossierResultReturned,
    DossierSubmitted,
    DossierWithdrawn,
)
from citypulse.schemas.dossier import DossierEventBase

from . import facts as fact
from .facts import AgencyKey, Emit
from .outcome import APPLIED, CONFLICT, Outcome

__all__ = ["DossierState", "apply_dossier_event"]


@dataclass(slots=True)
class DossierState:
    """What is known of one dossier.

    ``key`` is the (province, agency) the dossier's facts are counted under: that of its
    ``dossier.submitted`` event, or, until (unless) that event is seen, the envelope of
    the first event applied.
    """

    key: AgencyKey
    last_at: float
    event_ids: list[str] = field(default_factory=list)
    submitted_at: float | None = None
    channel: str | None = None
    service_level: str | None = None
    accepted_at: float | None = None
    due_at: float | None = None
    closed: str | None = None  # "resolved" | "withdrawn"
    closed_at: float | None = None
    outcome: str | None = None
    resolution_pending: bool = False
    delivery: str | None = None
    paid: str | None = None  # the payment's channel
    score: int | None = None

    @property
    def is_open(self) -> bool:
        """Submitted and not yet resolved or withdrawn (the backlog)."""
        return self.submitted_at is not None and self.closed is None

    @property
    def in_progress(self) -> bool:
        """Submitted or accepted, and not closed: its state is kept until it is closed.

        (Not only open ones: a dossier whose submission was late, or predates citypulse,
        still needs its acceptance to judge its resolution on time or late.)
        """
        return self.closed is None and (
            self.submitted_at is not None or self.accepted_at is not None
        )


def apply_dossier_event(
    rec: DossierState,
    event: DossierEventBase,
    t: float,
    day: str,
    emit: Emit,
    event_key: AgencyKey,
) -> Outcome:
    """Fold ``event`` (at unix time ``t``, local ``day``) into ``rec``; ``emit`` the facts.

    ``event_key`` is the label key of the event's own envelope; a submission sets the
    dossier's key to it (a dossier's dimensions are those of its submission).
    """
    key = rec.key
    match event:
        case DossierSubmitted():
            if rec.submitted_at is not None:
                return CONFLICT
            rec.key = key = event_key
            rec.submitted_at = t
            rec.channel = event.channel
            rec.service_level = event.service_level
            emit(fact.Received(key, day, event.channel, event.service_level))
            if rec.closed is None:
                emit(fact.Opened(key, 1))
                if rec.due_at is not None:
                    emit(fact.DueAdded(key, rec.due_at))
            elif rec.closed == "resolved" and rec.closed_at is not None:
                emit(fact.Processed(key, rec.closed_at - t))

        case DossierAccepted():
            if rec.accepted_at is not None:
                return CONFLICT
            due_at = event.due_at.timestamp()
            rec.accepted_at = t
            rec.due_at = due_at
            emit(fact.Accepted(key, day, event.digitized))
            if rec.is_open:
                emit(fact.DueAdded(key, due_at))
            elif rec.resolution_pending and rec.closed_at is not None and t <= rec.closed_at:
                rec.resolution_pending = False
                emit(fact.ResolutionSettled(key, event.dossier_id, rec.closed_at <= due_at))

        case DossierResolved():
            if rec.closed is not None:
                return CONFLICT
            _close(rec, "resolved", t, emit)
            rec.outcome = event.outcome
            on_time: bool | None = None
            if rec.accepted_at is not None and rec.due_at is not None and rec.accepted_at <= t:
                on_time = t <= rec.due_at
            else:
                rec.resolution_pending = True
            emit(fact.Resolved(key, event.dossier_id, t, day, event.outcome, on_time))
            if rec.submitted_at is not None:
                emit(fact.Processed(key, t - rec.submitted_at))

        case DossierResultReturned():
            if rec.delivery is not None:
                return CONFLICT
            rec.delivery = event.delivery
            emit(fact.ResultReturned(key, day, event.delivery, event.electronic_result))

        case DossierPaid():
            if rec.paid is not None:
                return CONFLICT
            rec.paid = event.channel
            emit(fact.Paid(key, day, event.channel))

        case DossierRated():
            if rec.score is not None:
                return CONFLICT
            rec.score = event.score
            emit(fact.Rated(key, day, event.score >= 4))

        case DossierWithdrawn():
            if rec.closed is not None:
                return CONFLICT
            _close(rec, "withdrawn", t, emit)
            emit(fact.Withdrawn(key))

        case _:  # supplement requested / supplemented: in the lifecycle, in no KPI
            pass
    return APPLIED


def _close(rec: DossierState, how: str, t: float, emit: Emit) -> None:
    if rec.is_open:
        emit(fact.Opened(rec.key, -1))
        if rec.due_at is not None:
            emit(fact.DueRemoved(rec.key, rec.due_at))
    rec.closed = how
    rec.closed_at = t
