"""Regenerate the scenario recordings of this folder (deterministic: same bytes every time).

    python scenarios/generate.py            # or: make scenarios

Each scenario is the simulator's stream (seed fixed) with one thing going wrong; the README
next to this file says what the wall should show when it is replayed.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from citypulse.producers.faults import Message
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.recording import write_messages
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, load_reference
from citypulse.schemas.reference import load_references

HERE = Path(__file__).resolve().parent
PARTITIONS = 4
TOPICS = {DOSSIER_TOPIC: DOSSIER_TOPIC, DOCUMENT_TOPIC: DOCUMENT_TOPIC}
EVERYDAY = Faults(duplicate=0.01, disorder=0.02)  # what a healthy feed looks like anyway
BASE = SimulationConfig(seed=7, faults=EVERYDAY)

#: the documents hub is down on Tuesday afternoon: what is sent then is never received
STALL = (datetime.fromisoformat("2026-03-03T13:00:00+07:00"),
         datetime.fromisoformat("2026-03-03T17:00:00+07:00"))  # fmt: skip
#: SXD's portal sends 400 broken submissions in ten minutes on Wednesday morning
BURST_AT, BURST_SIZE, BURST_SECONDS = (
    datetime.fromisoformat("2026-03-04T10:00:00+07:00"), 400, 600)  # fmt: skip


def simulated(config: SimulationConfig, events: int) -> list[Message]:
    return Simulator(load_reference(), config).take(events)


def agency_behind() -> list[Message]:
    """CAT resolves 70 % of its dossiers late (the others 5-15 %)."""
    return simulated(replace(BASE, agency_late_share={"CAT": 0.7}), 20_000)


def documents_stall() -> Iterator[Message]:
    messages = simulated(BASE, 30_000)
    start, end = STALL[0].timestamp(), STALL[1].timestamp()
    stuck = set()
    for m in messages:  # first every document sent in the window (disorder: any order)
        event = json.loads(m.value)
        sent = event.get("event_type") == "document.sent"
        if sent and start <= datetime.fromisoformat(event["occurred_at"]).timestamp() < end:
            stuck.add(event["document_id"])
    for m in messages:
        event = json.loads(m.value)
        if event.get("event_type") == "document.received" and event["document_id"] in stuck:
            continue  # never arrives
        yield m


def _broken_submission(n: int, at: float) -> Message:
    when = datetime.fromtimestamp(at, BURST_AT.tzinfo)
    dossier = f"SXD-260304-9{n:06d}"
    value = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"citypulse-scenario-burst-{n}")),
        "event_type": "dossier.submitted",
        "schema_version": 1,
        "occurred_at": when.isoformat(),
        "province": "TTH",
        "agency": "SXD",
        "dossier_id": dossier,
        "procedure_code": "1.009972.000.00.00.H57",
        "district": "HUE",
        "channel": "kiosk",  # not a channel of the contract: invalid_schema
        "service_level": "full_process",
    }
    return Message(DOSSIER_TOPIC, dossier.encode(), json.dumps(value).encode(), at)


def malformed_burst() -> Iterator[Message]:
    start = BURST_AT.timestamp()
    burst = [_broken_submission(n, start + n * BURST_SECONDS / BURST_SIZE)
             for n in range(BURST_SIZE)]  # fmt: skip
    pending = iter(burst)
    nxt = next(pending, None)
    for m in simulated(BASE, 20_000):
        while nxt is not None and nxt.at <= m.at:
            yield nxt
            nxt = next(pending, None)
        yield m
    yield from pending if nxt is None else [nxt, *pending]


def digitisation_lags() -> list[Message]:
    """Thua Thien Hue and Hung Yen together; Hung Yen digitises fewer dossiers at reception
    and issues fewer electronic results (its reference profile), and ranks lower."""
    return Simulator(load_references(("TTH", "HYN")), BASE).take(40_000)


SCENARIOS = {
    "agency-behind": agency_behind,
    "documents-stall": documents_stall,
    "malformed-burst": malformed_burst,
    "digitisation-lags": digitisation_lags,
}


def write(name: str, messages: Iterable[Message], directory: Path = HERE) -> Path:
    path = directory / f"{name}.jsonl.gz"
    write_messages(
        path,
        messages,
        topics=TOPICS,
        partitions=PARTITIONS,
        source={"scenario": name, "generator": "scenarios/generate.py", "seed": BASE.seed},
        created_at=BASE.start,
    )
    return path


def main(argv: list[str]) -> None:
    directory = Path(argv[0]) if argv else HERE
    for name, build in SCENARIOS.items():
        print(f"wrote {write(name, build(), directory)}")


if __name__ == "__main__":
    main(sys.argv[1:])
