"""The envelope every event carries (CONTRACT §3) and the constrained field types."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

__all__ = ["RFC3339", "Code", "EntityId", "Envelope", "EventId", "Timestamp", "whole"]

#: Province, agency, district and procedure codes: 1-32 characters of ``A-Z a-z 0-9 . _ -``.
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]

#: Dossier and document ids (Kafka keys): 1-64 characters of ``A-Z a-z 0-9 . _ : / -``.
EntityId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,64}$")]

#: A UUID in its canonical text form; upper case is accepted and folded to lower case so
#: that the same id written twice in different case is recognised as a duplicate.
EventId = Annotated[
    str,
    StringConstraints(
        to_lower=True,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    ),
]


def whole(value: Any) -> Any:
    """``3.0`` is the integer 3, as JSON Schema counts it (the exported schemas say
    "integer"); anything else passes unchanged, for the field's own check. Put it after the
    field's bounds (``Annotated[int, Field(ge=0), BeforeValidator(whole)]``): before them,
    pydantic exports the bounds under names JSON Schema does not know (``ge``)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: An RFC 3339 timestamp with its offset (CONTRACT §3): seconds required, fraction optional,
#: ``Z`` or ``±HH:MM``. Field ranges are checked here too, so that a JSON Schema validator that
#: does not check formats classifies a timestamp as citypulse does (but for impossible days
#: such as 30 February, which only a calendar, or a validator checking ``date-time``, rejects).
RFC3339 = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_RFC3339 = re.compile(RFC3339)


def _rfc3339(value: Any) -> Any:
    """pydantic parses more than RFC 3339 (``+0700``, no seconds, a digit string read as Unix
    time): those are refused here, before parsing, with the contract's wording. (A validator
    before a field makes pydantic validate the field in Python mode, where a strict datetime
    is no string: hence the lax datetime below, given only strings that passed here.)"""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError(
            "rfc3339",
            "not an RFC 3339 timestamp with an offset (e.g. 2026-03-02T08:15:00+07:00): {value}",
            {"value": str(value)[:40]},
        )
    return value


#: An event time: RFC 3339 with an offset, decoded to an aware datetime.
Timestamp = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339}),
]


class Envelope(BaseModel):
    """Fields common to every event.

    Strict: no type coercion (``"5"`` is not a score), timestamps must carry an offset.
    Unknown fields are dropped (``extra="ignore"``): this is how personal data that an
    upstream system adds (names, citizen ids, phone numbers) is kept out of the pipeline.
    """

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    event_id: EventId
    schema_version: Literal[1]
    occurred_at: Timestamp
    province: Code
    agency: Code
