"""The envelope every event carries (CONTRACT §3) and the constrained field types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

__all__ = ["Code", "EntityId", "Envelope", "EventId"]

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


class Envelope(BaseModel):
    """Fields common to every event.

    Strict: no type coercion (``"5"`` is not a score), timestamps must carry an offset.
    Unknown fields are dropped (``extra="ignore"``): this is how personal data that an
    upstream system adds (names, citizen ids, phone numbers) is kept out of the pipeline.
    """

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    event_id: EventId
    schema_version: Literal[1]
    occurred_at: AwareDatetime
    province: Code
    agency: Code
