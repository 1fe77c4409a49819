"""The two flows citypulse folds (dossiers and documents), each described once.

A flow is what differs between them: the contract topic that carries it (its id field and
event union), the base class of its events, the record kept per entity and the reducer that
folds an event into that record. The engine, the worker's stages and their tables take
everything flow-specific from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final, Generic, TypeVar

from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, INPUT_TOPICS, Event, TopicSpec
from citypulse.schemas.document import DocumentEventBase
from citypulse.schemas.dossier import DossierEventBase

from .document import DocumentState, apply_document_event
from .dossier import DossierState, apply_dossier_event
from .facts import AgencyKey, Emit
from .outcome import Outcome

__all__ = ["DOCUMENTS", "DOSSIERS", "FLOWS", "Flow", "flow_of", "flow_of_topic"]

R = TypeVar("R", DossierState, DocumentState)
E = TypeVar("E", DossierEventBase, DocumentEventBase)


@dataclass(frozen=True, slots=True)
class Flow(Generic[R, E]):
    name: str  # "dossier": its table is ``entities-dossier``
    topic: TopicSpec
    event_base: type[E]
    record: type[R]
    #: fold an event (at unix time t, local day) into its record, emitting facts
    reduce: Callable[[R, E, float, str, Emit, AgencyKey], Outcome]
    #: an event's entity id (its topic's key field), read in one C call: once per event
    entity_id: Callable[[E], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entity_id", attrgetter(self.topic.key_field))


DOSSIERS: Final[Flow[DossierState, DossierEventBase]] = Flow(
    "dossier", INPUT_TOPICS[DOSSIER_TOPIC], DossierEventBase, DossierState, apply_dossier_event
)
DOCUMENTS: Final[Flow[DocumentState, DocumentEventBase]] = Flow(
    "document",
    INPUT_TOPICS[DOCUMENT_TOPIC],
    DocumentEventBase,
    DocumentState,
    apply_document_event,
)
FLOWS: Final[tuple[Flow[Any, Any], ...]] = (DOSSIERS, DOCUMENTS)


def flow_of(event: Event) -> Flow[Any, Any]:
    return DOSSIERS if isinstance(event, DossierEventBase) else DOCUMENTS


def flow_of_topic(contract_topic: str) -> Flow[Any, Any]:
    """The flow a contract topic carries (``KeyError`` for another topic)."""
    return {f.topic.name: f for f in FLOWS}[contract_topic]
