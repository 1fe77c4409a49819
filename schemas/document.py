"""Document events: official papers exchanged between state agencies (CONTRACT §3)."""

from __future__ import annotations

from typing import Literal

from .envelope import Code, EntityId, Envelope

__all__ = [
    "AnyDocumentEvent",
    "DocumentEventBase",
    "DocumentReceived",
    "DocumentSent",
    "Format",
    "Urgency",
]

Format = Literal["electronic", "paper"]
Urgency = Literal["normal", "urgent"]


class DocumentEventBase(Envelope):
    document_id: EntityId


class DocumentSent(DocumentEventBase):
    event_type: Literal["document.sent"]
    receiver_agency: Code
    format: Format
    signed: bool
    urgency: Urgency


class DocumentReceived(DocumentEventBase):
    event_type: Literal["document.received"]
    receiver_agency: Code


#: every document event (the document topic's union: topics.py)
AnyDocumentEvent = DocumentSent | DocumentReceived
