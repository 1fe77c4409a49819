"""CITYPULSE_MAX_AGENCIES is one bound for the worker: shared by its partitions and flows,
and kept across a restart even when the entities that used a pair are long released."""

from __future__ import annotations

import json

from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, load_reference
from citypulse.streams.kpi import OTHER, KpiConfig, LabelGuard
from citypulse.streams.stages.entity import EntityStage, InputMessage, Outputs
from tests.support.events import document, dossier

KNOWN = KpiConfig.from_reference(load_reference()).known_agencies
CONFIG = KpiConfig(known_agencies=KNOWN, max_agencies=len(KNOWN) + 2)


def message(partition: int, offset: int, event: object) -> InputMessage:
    return InputMessage(partition, offset, None, event.model_dump_json().encode())  # type: ignore[attr-defined]


class Facts:
    def __init__(self) -> None:
        self.agencies: list[str] = []

    def outputs(self) -> Outputs:
        def send_facts(agency: str, value: bytes) -> None:
            self.agencies.append(agency)

        return Outputs(lambda *a: None, send_facts, lambda v: None, lambda k, v, h: None)


def stages(
    store: dict[bytes, bytes], documents: dict[bytes, bytes], facts: Facts
) -> tuple[EntityStage, EntityStage]:
    labels = LabelGuard(CONFIG.known_agencies, CONFIG.max_agencies)  # the worker's one bound
    d = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, facts.outputs(), labels=labels)
    t = EntityStage(
        DOCUMENT_TOPIC, DOCUMENT_TOPIC, CONFIG, documents, facts.outputs(), labels=labels
    )
    d.adopt({0: None, 1: None})
    t.adopt({0: None})
    return d, t


def run(stage: EntityStage, batch: list[InputMessage]) -> None:
    stage.process(batch)
    stage.release()
    stage.checkpoint()


def test_the_bound_counts_pairs_across_partitions_and_flows_and_survives_a_restart() -> None:
    dossiers: dict[bytes, bytes] = {}
    documents: dict[bytes, bytes] = {}
    facts = Facts()
    d, t = stages(dossiers, documents, facts)
    run(d, [message(0, 0, dossier("submitted", "D1", "2026-03-02 08:00", agency="NEW1"))])
    run(t, [message(0, 0, document("sent", "V1", "2026-03-02 08:00", agency="NEW2"))])
    # two partitions of one worker: before, each engine had a bound of its own
    run(d, [message(1, 0, dossier("submitted", "D2", "2026-03-02 08:00", agency="NEW3"))])
    assert facts.agencies[-1] == f"TTH/{OTHER}"

    # D1 is resolved and released long before the restart: no row says NEW1 was admitted
    later = "2026-03-09 08:00"
    run(d, [message(0, 1, dossier("resolved", "D1", "2026-03-02 09:00", agency="NEW1")),
            message(0, 2, dossier("submitted", "D9", later))])  # fmt: skip
    assert not any(b"NEW1" in v for k, v in dossiers.items() if not k.startswith(b"~"))

    facts = Facts()
    d, t = stages(dossiers, documents, facts)  # restarted worker, state from the tables
    run(d, [message(1, 1, dossier("submitted", "D3", later, agency="NEW4"))])
    run(d, [message(0, 3, dossier("submitted", "D4", later, agency="NEW1"))])
    assert facts.agencies == [f"TTH/{OTHER}", "TTH/NEW1"]
    assert json.loads(dossiers[b"~cp/0"])["a"] == [["TTH", "NEW1"], ["TTH", "NEW2"]]
