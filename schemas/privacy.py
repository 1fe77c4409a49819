"""Personal data that upstream systems may add to events, and how it is kept out.

Decoded events never hold such fields (the models ignore unknown fields). The one place
where raw upstream bytes leave the edge is the dead-letter topic; :func:`scrub` removes
these fields from a rejected message before it is written there, when the message is a
JSON object. Bytes that are not a JSON object cannot be inspected and are kept as they are.
"""

from __future__ import annotations

import json
from typing import Final

__all__ = ["PERSONAL_FIELDS", "scrub"]

#: Top-level field names treated as personal data (compared case-insensitively).
PERSONAL_FIELDS: Final = frozenset(
    {
        "applicant_name",
        "full_name",
        "name",
        "citizen_id",
        "national_id",
        "id_number",
        "identity_card",
        "passport",
        "passport_number",
        "phone",
        "phone_number",
        "mobile",
        "email",
        "address",
        "home_address",
        "date_of_birth",
        "birth_date",
        "dob",
    }
)


def scrub(raw: bytes) -> bytes:
    """``raw`` without personal-data fields, or ``raw`` unchanged when there are none."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    if not isinstance(value, dict):
        return raw
    kept = {k: v for k, v in value.items() if k.lower() not in PERSONAL_FIELDS}
    if len(kept) == len(value):
        return raw
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()
