"""Dossier events: administrative procedure applications (CONTRACT §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .envelope import Code, EntityId, Envelope

__all__ = [
    "LEGACY_LEVELS",
    "Channel",
    "Delivery",
    "DossierAccepted",
    "DossierEventBase",
    "DossierRated",
    "DossierResolved",
    "DossierResultReturned",
    "DossierSubmitted",
    "DossierSupplementRequested",
    "DossierSupplemented",
    "DossierWithdrawn",
    "Outcome",
    "ServiceLevel",
]

Channel = Literal["online", "counter", "postal"]
ServiceLevel = Literal["full_process", "partial", "offline"]
Outcome = Literal["approved", "rejected"]
Delivery = Literal["online", "postal", "counter"]

#: Legacy online service levels 1-4 (Decree 43/2011) mapped to ``service_level``.
LEGACY_LEVELS: dict[int, ServiceLevel] = {
    4: "full_process",
    3: "partial",
    2: "offline",
    1: "offline",
}


class DossierEventBase(Envelope):
    dossier_id: EntityId


def _legacy_level(value: Any) -> Any:
    """Map a legacy ``level`` 1-4 (an integer) to ``service_level``; strings pass through."""
    if type(value) is not int:
        return value
    if value not in LEGACY_LEVELS:
        raise PydanticCustomError(
            "legacy_level",
            "the legacy service level (field level) must be 1, 2, 3 or 4, got {level}",
            {"level": value},
        )
    return LEGACY_LEVELS[value]


class DossierSubmitted(DossierEventBase):
    event_type: Literal["dossier.submitted"]
    procedure_code: Code
    district: Code
    channel: Channel
    #: ``service_level``; a legacy ``level`` 1-4 is accepted in its place (CONTRACT §3).
    #: A field validator, not a model ``before`` validator: the latter would make pydantic
    #: validate the whole dict in Python mode, where strict datetimes reject ISO strings.
    service_level: Annotated[
        ServiceLevel,
        BeforeValidator(_legacy_level),
        Field(validation_alias=AliasChoices("service_level", "level")),
    ]


class DossierAccepted(DossierEventBase):
    event_type: Literal["dossier.accepted"]
    due_at: AwareDatetime


class DossierSupplementRequested(DossierEventBase):
    event_type: Literal["dossier.supplement_requested"]
    reason: Annotated[str, Field(max_length=500)] | None = None


class DossierSupplemented(DossierEventBase):
    event_type: Literal["dossier.supplemented"]


class DossierResolved(DossierEventBase):
    event_type: Literal["dossier.resolved"]
    outcome: Outcome


class DossierResultReturned(DossierEventBase):
    event_type: Literal["dossier.result_returned"]
    delivery: Delivery


class DossierWithdrawn(DossierEventBase):
    event_type: Literal["dossier.withdrawn"]


class DossierRated(DossierEventBase):
    event_type: Literal["dossier.rated"]
    score: Annotated[int, Field(ge=1, le=5)]
