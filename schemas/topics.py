"""Topic names and the event union each input topic carries (CONTRACT §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter

from .document import AnyDocumentEvent
from .dossier import AnyDossierEvent

__all__ = [
    "DEAD_LETTER_TOPIC",
    "DOCUMENT_TOPIC",
    "DOSSIER_TOPIC",
    "INPUT_TOPICS",
    "DocumentEvent",
    "DossierEvent",
    "Event",
    "TopicSpec",
]

DOSSIER_TOPIC: Final = "citypulse.dossier-events"
DOCUMENT_TOPIC: Final = "citypulse.document-events"
DEAD_LETTER_TOPIC: Final = "citypulse.dead-letter"

#: A message of the dossier topic (discriminated on ``event_type``).
DossierEvent = Annotated[AnyDossierEvent, Field(discriminator="event_type")]
#: A message of the document topic (discriminated on ``event_type``).
DocumentEvent = Annotated[AnyDocumentEvent, Field(discriminator="event_type")]
#: Any event of any input topic.
Event = AnyDossierEvent | AnyDocumentEvent


@dataclass(frozen=True)
class TopicSpec:
    """An input topic: its name, the field that is its message key, and its event union."""

    name: str
    key_field: str
    union: Any
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.union))

    @property
    def event_types(self) -> tuple[str, ...]:
        members = self.union.__args__[0].__args__
        return tuple(m.model_fields["event_type"].annotation.__args__[0] for m in members)


INPUT_TOPICS: Final[dict[str, TopicSpec]] = {
    DOSSIER_TOPIC: TopicSpec(DOSSIER_TOPIC, "dossier_id", DossierEvent),
    DOCUMENT_TOPIC: TopicSpec(DOCUMENT_TOPIC, "document_id", DocumentEvent),
}
