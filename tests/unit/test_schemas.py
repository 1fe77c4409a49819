"""Event schemas: what is accepted, what is rejected and why (CONTRACT §2-§3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from citypulse.schemas import (
    DOCUMENT_TOPIC,
    DOSSIER_TOPIC,
    INPUT_TOPICS,
    DecodeError,
    DossierAccepted,
    DossierPaid,
    DossierResultReturned,
    DossierSubmitted,
    decode,
)
from citypulse.schemas.export import export_json_schemas
from citypulse.schemas.privacy import PERSONAL_FIELDS, scrub

SUBMITTED: dict[str, Any] = {
    "event_id": "6f9619ff-8b86-4011-b42d-00c04fc964ff",
    "event_type": "dossier.submitted",
    "schema_version": 1,
    "occurred_at": "2026-03-02T08:15:00+07:00",
    "province": "TTH",
    "agency": "SKHDT",
    "dossier_id": "SKHDT-260302-0000001",
    "procedure_code": "1.001612.000.00.00.H57",
    "district": "HUE",
    "channel": "online",
    "service_level": "full_process",
}
SENT: dict[str, Any] = {
    "event_id": "0b8f0a7e-2f0c-4d55-9a53-3f6f5bb2a001",
    "event_type": "document.sent",
    "schema_version": 1,
    "occurred_at": "2026-03-02T09:00:00+07:00",
    "province": "TTH",
    "agency": "VPUBND",
    "document_id": "VB-VPUBND-0000001",
    "receiver_agency": "SNV",
    "format": "electronic",
    "signed": True,
    "urgency": "normal",
}

DUE = "2026-03-05T08:15:00+07:00"
#: v1.1
PAID: dict[str, Any] = {
    **{k: v for k, v in SUBMITTED.items() if k not in ("procedure_code", "district", "channel")},
    "event_type": "dossier.paid",
    "channel": "online",
    "amount_vnd": 150000,
}
del PAID["service_level"]


def raw(base: dict[str, Any], **changes: Any) -> bytes:
    data = {**base, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_a_valid_submission_decodes_to_its_model() -> None:
    event = decode(DOSSIER_TOPIC, raw(SUBMITTED))
    assert isinstance(event, DossierSubmitted)
    assert event.occurred_at.utcoffset() is not None
    assert event.channel == "online"


@pytest.mark.parametrize(
    ("topic", "message", "reason", "named"),
    [
        (DOSSIER_TOPIC, b'{"event_type": "dossier.submitted",', "invalid_json", "Invalid JSON"),
        (DOSSIER_TOPIC, b"\xff\xfe not utf-8", "invalid_json", "Invalid JSON"),
        (DOSSIER_TOPIC, b"[1, 2]", "invalid_schema", "object"),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.archived"),
            "unknown_event_type",
            "dossier.archived",
        ),
        (DOSSIER_TOPIC, raw(SENT), "unknown_event_type", "document.sent"),  # wrong topic
        (DOCUMENT_TOPIC, raw(SUBMITTED), "unknown_event_type", "dossier.submitted"),
        (DOSSIER_TOPIC, raw(SUBMITTED, event_type=...), "invalid_schema", "event_type"),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, occurred_at="2026-03-02T08:15:00"),
            "invalid_schema",
            "occurred_at",
        ),
        (DOSSIER_TOPIC, raw(SUBMITTED, occurred_at="yesterday"), "invalid_schema", "occurred_at"),
        (DOSSIER_TOPIC, raw(SUBMITTED, channel="fax"), "invalid_schema", "channel"),
        (DOSSIER_TOPIC, raw(SUBMITTED, service_level="level4"), "invalid_schema", "service_level"),
        (DOSSIER_TOPIC, raw(SUBMITTED, dossier_id=...), "invalid_schema", "dossier_id"),
        (DOSSIER_TOPIC, raw(SUBMITTED, event_id=...), "invalid_schema", "event_id"),
        (DOSSIER_TOPIC, raw(SUBMITTED, event_id="42"), "invalid_schema", "event_id"),
        (DOSSIER_TOPIC, raw(SUBMITTED, schema_version=2), "invalid_schema", "schema_version"),
        (DOSSIER_TOPIC, raw(SUBMITTED, agency="Sở Tư pháp"), "invalid_schema", "agency"),
        (DOSSIER_TOPIC, raw(SUBMITTED, province="X" * 33), "invalid_schema", "province"),
        (DOSSIER_TOPIC, raw(SUBMITTED, service_level=..., level=7), "invalid_schema", "level"),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.rated", score=6),
            "invalid_schema",
            "score",
        ),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.rated", score=0),
            "invalid_schema",
            "score",
        ),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.rated", score="5"),
            "invalid_schema",
            "score",
        ),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.accepted", due_at="2026-03-05"),
            "invalid_schema",
            "due_at",
        ),
        (
            DOSSIER_TOPIC,
            raw(SUBMITTED, event_type="dossier.accepted", due_at=DUE, digitized="yes"),
            "invalid_schema",
            "digitized",
        ),
        (
            DOSSIER_TOPIC,
            raw(
                SUBMITTED,
                event_type="dossier.result_returned",
                delivery="online",
                electronic_result=1,
            ),
            "invalid_schema",
            "electronic_result",
        ),
        (DOSSIER_TOPIC, raw(PAID, channel="bank"), "invalid_schema", "channel"),
        (DOSSIER_TOPIC, raw(PAID, amount_vnd=-1), "invalid_schema", "amount_vnd"),
        (DOSSIER_TOPIC, raw(PAID, amount_vnd=1.5), "invalid_schema", "amount_vnd"),
        (DOSSIER_TOPIC, raw(PAID, amount_vnd=...), "invalid_schema", "amount_vnd"),
        (DOCUMENT_TOPIC, raw(SENT, signed="yes"), "invalid_schema", "signed"),
        (DOCUMENT_TOPIC, raw(SENT, format="fax"), "invalid_schema", "format"),
        (DOCUMENT_TOPIC, raw(SENT, receiver_agency=...), "invalid_schema", "receiver_agency"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason_that_names_the_field(
    topic: str, message: bytes, reason: str, named: str
) -> None:
    result = decode(topic, message)
    assert isinstance(result, DecodeError)
    assert result.reason == reason
    assert named in result.detail


@pytest.mark.parametrize(
    ("level", "service_level"),
    [(4, "full_process"), (3, "partial"), (2, "offline"), (1, "offline")],
)
def test_legacy_level_is_normalised_to_service_level(level: int, service_level: str) -> None:
    event = decode(DOSSIER_TOPIC, raw(SUBMITTED, service_level=..., level=level))
    assert isinstance(event, DossierSubmitted)
    assert event.service_level == service_level
    assert "level" not in event.model_dump()


def test_service_level_wins_over_a_legacy_level_sent_alongside() -> None:
    event = decode(DOSSIER_TOPIC, raw(SUBMITTED, service_level="partial", level=4))
    assert isinstance(event, DossierSubmitted)
    assert event.service_level == "partial"


def test_event_ids_are_folded_to_lower_case_so_repeats_match() -> None:
    upper = decode(DOSSIER_TOPIC, raw(SUBMITTED, event_id=SUBMITTED["event_id"].upper()))
    assert isinstance(upper, DossierSubmitted)
    assert upper.event_id == SUBMITTED["event_id"]


def test_personal_data_is_dropped_and_never_echoed() -> None:
    pii = {"applicant_name": "Nguyễn Văn A", "citizen_id": "046090001234", "phone": "0905123456",
           "email": "a@example.vn", "address": "12 Lê Lợi"}  # fmt: skip
    event = decode(DOSSIER_TOPIC, raw(SUBMITTED, **pii))
    assert isinstance(event, DossierSubmitted)
    dumped = event.model_dump_json()
    assert not any(value in dumped for value in pii.values())
    rejected = decode(DOSSIER_TOPIC, raw(SUBMITTED, channel="fax", **pii))
    assert isinstance(rejected, DecodeError)
    assert not any(value in rejected.detail for value in pii.values())


def test_scrub_removes_personal_fields_from_bytes_bound_for_the_dead_letter_topic() -> None:
    dirty = raw(SUBMITTED, channel="fax", phone="0905123456", Email="a@example.vn")
    clean = json.loads(scrub(dirty))
    assert not {k.lower() for k in clean} & PERSONAL_FIELDS
    assert clean["channel"] == "fax"  # the rest is kept for the operator
    assert scrub(b"{not json") == b"{not json"
    assert scrub(raw(SUBMITTED)) == raw(SUBMITTED)  # untouched when there is nothing to remove


def test_v1_1_fields_are_optional_and_false_by_default_and_a_payment_decodes() -> None:
    """A v1 producer's events decode exactly as before (CONTRACT v1.1)."""
    accepted = decode(DOSSIER_TOPIC, raw(SUBMITTED, event_type="dossier.accepted", due_at=DUE))
    assert isinstance(accepted, DossierAccepted)
    assert accepted.digitized is False
    returned = decode(
        DOSSIER_TOPIC, raw(SUBMITTED, event_type="dossier.result_returned", delivery="postal")
    )
    assert isinstance(returned, DossierResultReturned)
    assert returned.electronic_result is False
    digitized = decode(
        DOSSIER_TOPIC,
        raw(SUBMITTED, event_type="dossier.accepted", due_at=DUE, digitized=True),
    )
    assert isinstance(digitized, DossierAccepted)
    assert digitized.digitized is True
    electronic = decode(
        DOSSIER_TOPIC,
        raw(
            SUBMITTED,
            event_type="dossier.result_returned",
            delivery="online",
            electronic_result=True,
        ),
    )
    assert isinstance(electronic, DossierResultReturned)
    assert electronic.electronic_result
    paid = decode(DOSSIER_TOPIC, raw(PAID))
    assert isinstance(paid, DossierPaid)
    assert (paid.channel, paid.amount_vnd) == ("online", 150000)
    assert isinstance(
        decode(DOSSIER_TOPIC, raw(PAID, channel="offline", amount_vnd=0)), DossierPaid
    )


def test_exported_json_schemas_accept_real_events_and_reject_bad_enums(tmp_path: Path) -> None:
    written = export_json_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{t}.schema.json" for t in INPUT_TOPICS)
    dossier_schema = json.loads((tmp_path / f"{DOSSIER_TOPIC}.schema.json").read_text())
    document_schema = json.loads((tmp_path / f"{DOCUMENT_TOPIC}.schema.json").read_text())
    jsonschema.validate(SUBMITTED, dossier_schema)
    jsonschema.validate(SENT, document_schema)
    jsonschema.validate(PAID, dossier_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**PAID, "amount_vnd": -5}, dossier_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SUBMITTED, "channel": "fax"}, dossier_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SENT, "event_type": "document.recalled"}, document_schema)


def test_every_topic_lists_the_contract_event_types() -> None:
    assert INPUT_TOPICS[DOSSIER_TOPIC].event_types == (
        "dossier.submitted", "dossier.accepted", "dossier.supplement_requested",
        "dossier.supplemented", "dossier.resolved", "dossier.result_returned",
        "dossier.paid", "dossier.withdrawn", "dossier.rated",
    )  # fmt: skip
    assert INPUT_TOPICS[DOCUMENT_TOPIC].event_types == ("document.sent", "document.received")


TIMESTAMPS = [
    "2026-03-02T08:15:00+07:00",
    "2026-03-02T08:15:00Z",
    "2026-03-02t08:15:00z",
    "2026-03-02 08:15:00+07:00",
    "2026-03-02T08:15:00.123456-05:30",
    "2026-03-02T08:15:00",  # no offset
    "2026-03-02T08:15+07:00",  # no seconds
    "2026-03-02T08:15:00+0700",  # offset without colon
    "2026-03-02T08:15:00+07",
    "2026-03-02",
    "1772000000",  # pydantic alone would read this as Unix time
    "2026-03-02T24:00:00+07:00",
    "2026-13-02T08:15:00+07:00",
    "2026-03-02T08:15:60+07:00",
    "2026-03-02T08:15:00+24:00",
]
LEVELS: list[dict[str, Any]] = [
    {"service_level": ..., "level": 4},
    {"service_level": ..., "level": 1},
    {"service_level": ..., "level": 3.0},
    {"service_level": ..., "level": "partial"},
    {"service_level": ..., "level": 5},
    {"service_level": ..., "level": True},
    {"service_level": ..., "level": "4"},
    {"service_level": ..., "level": ...},
    {"service_level": "offline", "level": 9},  # service_level wins, level is not read
    {"service_level": "fax", "level": 4},
]


def _corpus() -> list[tuple[str, bytes]]:
    """Simulated traffic with every upstream fault, and edge cases of times and levels."""
    from citypulse.producers.profile import Faults, SimulationConfig
    from citypulse.producers.simulator import Simulator
    from citypulse.schemas import load_reference

    faults = Faults(duplicate=0.05, disorder=0.05, late=0.05, malformed=0.2, pii=0.05)
    simulated = Simulator(load_reference(), SimulationConfig(seed=11, faults=faults)).take(3000)
    corpus = [(m.topic, m.value) for m in simulated]
    for stamp in TIMESTAMPS:
        corpus.append((DOSSIER_TOPIC, raw(SUBMITTED, occurred_at=stamp)))
        corpus.append((DOSSIER_TOPIC, raw(SUBMITTED, event_type="dossier.accepted", due_at=stamp)))
        corpus.append((DOCUMENT_TOPIC, raw(SENT, occurred_at=stamp)))
        corpus.append((DOSSIER_TOPIC, raw(PAID, occurred_at=stamp)))
    corpus += [
        (DOSSIER_TOPIC, raw(PAID, **change))
        for change in (
            {"amount_vnd": 0},
            {"amount_vnd": -1},
            {"amount_vnd": 2.0},  # an integer to JSON Schema: to citypulse too
            {"amount_vnd": 2.5},
            {"amount_vnd": True},
            {"amount_vnd": "100"},
            {"channel": "counter"},
            {"channel": ...},
        )
    ]
    corpus += [
        (DOSSIER_TOPIC, raw(SUBMITTED, event_type="dossier.accepted", due_at=DUE, digitized=v))
        for v in (True, False, None, "true", 1, ...)
    ]
    corpus += [(DOSSIER_TOPIC, raw(SUBMITTED, **levels)) for levels in LEVELS]
    corpus += [
        (DOSSIER_TOPIC, raw(SUBMITTED, event_type="dossier.rated", score=score))
        for score in (5, 5.0, 4.5, 0.0, True, "5")
    ]
    return corpus


def test_the_exported_schemas_classify_every_event_as_citypulse_does(tmp_path: Path) -> None:
    """Another system validating with the exported files (without checking formats) accepts
    exactly the events citypulse accepts: legacy levels included, timestamps without an
    offset refused."""
    export_json_schemas(tmp_path)
    validators = {
        topic: jsonschema.Draft202012Validator(
            json.loads((tmp_path / f"{topic}.schema.json").read_text())
        )
        for topic in INPUT_TOPICS
    }
    corpus = _corpus()
    legacy = 0
    disagreements = []
    for topic, value in corpus:
        try:
            document = json.loads(value)
        except ValueError:
            continue  # not JSON: nothing for a schema to say
        accepted = not isinstance(decode(topic, value), DecodeError)
        legacy += accepted and "level" in document and "service_level" not in document
        if validators[topic].is_valid(document) != accepted:
            disagreements.append((accepted, value.decode()[:300]))
    assert not disagreements, disagreements[:5]
    assert legacy > 0, "the corpus must hold legacy levels that citypulse accepts"


def test_a_timestamp_must_be_rfc_3339_with_an_offset() -> None:
    for stamp in ("2026-03-02T08:15+07:00", "1772000000", "2026-03-02T08:15:00+0700"):
        error = decode(DOSSIER_TOPIC, raw(SUBMITTED, occurred_at=stamp))
        assert isinstance(error, DecodeError)
        assert "RFC 3339" in error.detail
