"""Readable event builders for specification-style tests.

Times are local (+07:00) ``"YYYY-MM-DD HH:MM"`` strings or ``datetime``s; every builder goes
through the real schemas (``model_validate``), so a test cannot build an invalid event.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import TypeAdapter

from citypulse.schemas import DocumentEvent, DossierEvent, Event

ICT = timezone(timedelta(hours=7))
_ids = itertools.count(1)
_DOSSIER: TypeAdapter[Any] = TypeAdapter(DossierEvent)
_DOCUMENT: TypeAdapter[Any] = TypeAdapter(DocumentEvent)


def at(when: str | datetime) -> datetime:
    if isinstance(when, datetime):
        return when
    return datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=ICT)


def ts(when: str | datetime) -> float:
    return at(when).timestamp()


def _envelope(
    event_type: str, when: str | datetime, agency: str, province: str, event_id: str | None
) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.UUID(int=next(_ids), version=4)),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": at(when).isoformat(),
        "province": province,
        "agency": agency,
    }


def dossier(
    event_type: str,
    dossier_id: str,
    when: str | datetime,
    *,
    agency: str = "STP",
    province: str = "TTH",
    event_id: str | None = None,
    **fields: Any,
) -> Event:
    """``dossier("submitted", "D1", "2026-03-02 08:00", channel="online", ...)``."""
    defaults: dict[str, Any] = {
        "submitted": {
            "procedure_code": "1.004227",
            "district": "HUE",
            "channel": "online",
            "service_level": "full_process",
        },
        "resolved": {"outcome": "approved"},
        "result_returned": {"delivery": "online"},
    }.get(event_type, {})
    if event_type == "accepted" and "due_at" in fields:
        fields["due_at"] = at(fields["due_at"]).isoformat()
    data = {
        **_envelope(f"dossier.{event_type}", when, agency, province, event_id),
        "dossier_id": dossier_id,
        **defaults,
        **fields,
    }
    return _DOSSIER.validate_python(data, strict=False)  # type: ignore[no-any-return]


def document(
    event_type: str,
    document_id: str,
    when: str | datetime,
    *,
    agency: str = "STP",
    province: str = "TTH",
    event_id: str | None = None,
    **fields: Any,
) -> Event:
    """``document("sent", "V1", "2026-03-02 08:00", format="paper", signed=False)``."""
    defaults: dict[str, Any] = {"receiver_agency": "SNV"}
    if event_type == "sent":
        defaults |= {"format": "electronic", "signed": True, "urgency": "normal"}
    data = {
        **_envelope(f"document.{event_type}", when, agency, province, event_id),
        "document_id": document_id,
        **defaults,
        **fields,
    }
    return _DOCUMENT.validate_python(data, strict=False)  # type: ignore[no-any-return]
