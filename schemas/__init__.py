"""Event models, topic names, decoding and reference data. Imports nothing of the project."""

from .decoding import DecodeError, InvalidReason, decode
from .document import DocumentReceived, DocumentSent
from .dossier import (
    DossierAccepted,
    DossierPaid,
    DossierRated,
    DossierResolved,
    DossierResultReturned,
    DossierSubmitted,
    DossierSupplemented,
    DossierSupplementRequested,
    DossierWithdrawn,
)
from .reference import Agency, Procedure, Reference, load_reference
from .topics import (
    DEAD_LETTER_TOPIC,
    DOCUMENT_TOPIC,
    DOSSIER_TOPIC,
    INPUT_TOPICS,
    DocumentEvent,
    DossierEvent,
    Event,
    TopicSpec,
)

__all__ = [
    "DEAD_LETTER_TOPIC",
    "DOCUMENT_TOPIC",
    "DOSSIER_TOPIC",
    "INPUT_TOPICS",
    "Agency",
    "DecodeError",
    "DocumentEvent",
    "DocumentReceived",
    "DocumentSent",
    "DossierAccepted",
    "DossierEvent",
    "DossierPaid",
    "DossierRated",
    "DossierResolved",
    "DossierResultReturned",
    "DossierSubmitted",
    "DossierSupplementRequested",
    "DossierSupplemented",
    "DossierWithdrawn",
    "Event",
    "InvalidReason",
    "Procedure",
    "Reference",
    "TopicSpec",
    "decode",
    "load_reference",
]
