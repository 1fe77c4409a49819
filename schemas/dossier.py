"""Dossier events: administrative procedure applications (CONTRACT §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .envelope import Code, EntityId, Envelope, Timestamp, whole

__all__ = [
    "LEGACY_LEVELS",
    "AnyDossierEvent",
    "Channel",
    "Delivery",
    "DossierAccepted",
    "DossierEventBase",
    "DossierPaid",
    "DossierRated",
    "DossierResolved",
    "DossierResultReturned",
    "DossierSubmitted",
    "DossierSupplementRequested",
    "DossierSupplemented",
    "DossierWithdrawn",
    "PaymentChannel",
    "ResolutionOutcome",
    "ServiceLevel",
]

Channel = Literal["online", "counter", "postal"]
ServiceLevel = Literal["full_process", "partial", "offline"]
ResolutionOutcome = Literal["approved", "rejected"]
Delivery = Literal["online", "postal", "counter"]
#: online: through the national payment platform
PaymentChannel = Literal["online", "offline"]

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
    """Map a legacy ``level`` 1-4 (an integer, :func:`whole`) to ``service_level``; strings
    pass through."""
    value = whole(value)
    if type(value) is not int:
        return value
    if value not in LEGACY_LEVELS:
        raise PydanticCustomError(
            "legacy_level",
            "the legacy service level (field level) must be 1, 2, 3 or 4, got {level}",
            {"level": value},
        )
    return LEGACY_LEVELS[value]


def _legacy_level_schema(schema: dict[str, Any]) -> None:
    """The exported JSON Schema of ``dossier.submitted`` says what the decoder does: either
    ``service_level``, or else a legacy ``level`` (1-4, or a service level by name)."""
    properties = schema["properties"]
    service_level = {k: v for k, v in properties["service_level"].items() if k != "title"}
    schema["required"].remove("service_level")
    schema["if"] = {"required": ["service_level"]}
    schema["else"] = {
        "required": ["level"],
        "properties": {
            "level": {
                "anyOf": [{"type": "integer", "enum": sorted(LEGACY_LEVELS)}, service_level],
                "description": "legacy service level, read when service_level is absent",
            }
        },
    }


class DossierSubmitted(DossierEventBase):
    model_config = ConfigDict(json_schema_extra=_legacy_level_schema)

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
    due_at: Timestamp
    #: v1.1: the dossier's papers were digitised at reception (số hóa hồ sơ)
    digitized: bool = False


class DossierSupplementRequested(DossierEventBase):
    event_type: Literal["dossier.supplement_requested"]
    reason: Annotated[str, Field(max_length=500)] | None = None


class DossierSupplemented(DossierEventBase):
    event_type: Literal["dossier.supplemented"]


class DossierResolved(DossierEventBase):
    event_type: Literal["dossier.resolved"]
    outcome: ResolutionOutcome


class DossierResultReturned(DossierEventBase):
    event_type: Literal["dossier.result_returned"]
    delivery: Delivery
    #: v1.1: the result was issued as a digitally signed electronic document (kết quả điện tử)
    electronic_result: bool = False


class DossierPaid(DossierEventBase):
    """v1.1: the dossier's fee was paid (at most once per dossier)."""

    event_type: Literal["dossier.paid"]
    channel: PaymentChannel
    amount_vnd: Annotated[int, Field(ge=0), BeforeValidator(whole)]


class DossierWithdrawn(DossierEventBase):
    event_type: Literal["dossier.withdrawn"]


class DossierRated(DossierEventBase):
    event_type: Literal["dossier.rated"]
    score: Annotated[int, Field(ge=1, le=5), BeforeValidator(whole)]


#: every dossier event, in lifecycle order (the dossier topic's union: topics.py)
AnyDossierEvent = (
    DossierSubmitted
    | DossierAccepted
    | DossierSupplementRequested
    | DossierSupplemented
    | DossierResolved
    | DossierResultReturned
    | DossierPaid
    | DossierWithdrawn
    | DossierRated
)
