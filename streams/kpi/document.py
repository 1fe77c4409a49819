"""One document's state, and how document events change it and the agency aggregates.

Document KPIs are attributed to the sending agency (CONTRACT §5), so nothing is counted
for a document until its ``document.sent`` event is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from citypulse.schemas import DocumentReceived, DocumentSent
from citypulse.schemas.document import DocumentEventBase

from .facts import AgencyKey, Awaiting, Delivered, Emit, Sent
from .outcome import APPLIED, CONFLICT, Outcome

__all__ = ["DocumentState", "apply_document_event"]


@dataclass(slots=True)
class DocumentState:
    key: AgencyKey
    last_at: float
    event_ids: list[str] = field(default_factory=list)
    sent_at: float | None = None
    received_at: float | None = None

    @property
    def is_open(self) -> bool:
        """Sent and not yet received."""
        return self.sent_at is not None and self.received_at is None

    @property
    def in_progress(self) -> bool:
        """State is kept while the document is in flight."""
        return self.is_open


def apply_document_event(
    rec: DocumentState,
    event: DocumentEventBase,
    t: float,
    day: str,
    emit: Emit,
    event_key: AgencyKey,
) -> Outcome:
    """Fold ``event`` into ``rec`` and ``emit`` its facts; ``event_key``: the label key of its
    envelope."""
    if isinstance(event, DocumentSent):
        if rec.sent_at is not None:
            return CONFLICT
        rec.sent_at = t
        rec.key = event_key
        emit(Sent(event_key, day, event.format, event.signed))
        if rec.received_at is None:
            emit(Awaiting(event_key, t))
        else:
            emit(Delivered(event_key, t, rec.received_at - t, awaited=False))
    elif isinstance(event, DocumentReceived):
        if rec.received_at is not None:
            return CONFLICT
        rec.received_at = t
        if rec.sent_at is not None:
            emit(Delivered(rec.key, rec.sent_at, t - rec.sent_at, awaited=True))
    return APPLIED
