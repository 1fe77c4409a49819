"""Bytes to events: an event, or a typed error with a reason code for the dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .topics import INPUT_TOPICS, Event

__all__ = ["DecodeError", "InvalidReason", "decode"]

InvalidReason = Literal["invalid_json", "invalid_schema", "unknown_event_type"]

_MAX_DETAIL_ERRORS: Final = 3


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Why a message was rejected.

    ``detail`` names the failing fields (``dossier.submitted.channel: Input should be ...``)
    and never echoes field values, so that it may be logged and put in a header.
    """

    reason: InvalidReason
    detail: str


def _describe(error: ErrorDetails) -> str:
    loc = ".".join(str(part) for part in error["loc"])
    return f"{loc}: {error['msg']}" if loc else error["msg"]


def _classify(exc: ValidationError) -> DecodeError:
    errors = exc.errors(include_url=False, include_input=False)
    types = {e["type"] for e in errors}
    reason: InvalidReason
    if "json_invalid" in types:
        reason = "invalid_json"
    elif "union_tag_invalid" in types:
        reason = "unknown_event_type"
    else:
        reason = "invalid_schema"
    detail = "; ".join(_describe(e) for e in errors[:_MAX_DETAIL_ERRORS])
    if len(errors) > _MAX_DETAIL_ERRORS:
        detail += f"; and {len(errors) - _MAX_DETAIL_ERRORS} more"
    return DecodeError(reason, detail)


def decode(topic: str, raw: bytes | str) -> Event | DecodeError:
    """Decode one message of an input topic into an event, or say why it cannot be accepted.

    JSON parsing and validation happen in one pass (``TypeAdapter.validate_json``).
    """
    spec = INPUT_TOPICS[topic]
    try:
        event: Event = spec.adapter.validate_json(raw)
    except ValidationError as exc:
        return _classify(exc)
    return event
