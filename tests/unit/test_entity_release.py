"""A dossier released and re-created inside one batch, with the batch cut short by a crash
after its row was durable and before its facts were: the replay must re-send the facts the
first run computed, not recompute them against the re-created record (a loss a repeated
SIGKILL test found: a resolution counted late, the dossier left open)."""

from __future__ import annotations

import json

from citypulse.schemas import DOSSIER_TOPIC, load_reference
from citypulse.streams.kpi import KpiConfig
from citypulse.streams.stages.entity import EntityStage, InputMessage, Outputs
from tests.support.events import dossier

CONFIG = KpiConfig.from_reference(load_reference())


def message(offset: int, event: object) -> InputMessage:
    value = event.model_dump_json().encode()  # type: ignore[attr-defined]
    return InputMessage(0, offset, b"D1", value)


class Sink:
    def __init__(self, store: dict[bytes, bytes]) -> None:
        self.store = store
        self.facts: list[tuple[str, int, list[list[object]]]] = []

    def outputs(self) -> Outputs:
        def write_row(partition: int, key: bytes, value: bytes | None, version: int) -> None:
            pass  # the stage writes its store itself; the test decides what survives

        def send_facts(agency: str, value: bytes) -> None:
            self.facts.extend((s, o, f) for s, o, f in json.loads(value)["items"])

        return Outputs(write_row, send_facts, lambda v: None, lambda k, v, h: None)


def test_a_replayed_batch_resends_the_facts_of_an_entity_released_and_recreated_in_it() -> None:
    batch1 = [
        message(0, dossier("submitted", "D1", "2026-03-02 08:00")),
        message(1, dossier("accepted", "D1", "2026-03-02 08:05", due_at="2026-03-05 17:00")),
    ]
    batch2 = [
        message(2, dossier("resolved", "D1", "2026-03-03 10:00")),
        # stream time moves far past the resolution: the finished dossier is released ...
        message(3, dossier("submitted", "D2", "2026-03-03 15:00")),
        # ... and its result, hours later, re-creates it in the same batch
        message(4, dossier("result_returned", "D1", "2026-03-03 15:30")),
    ]
    store: dict[bytes, bytes] = {}
    first = Sink(store)
    stage = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, first.outputs())
    stage.load(0)
    stage.process(batch1)
    stage.release()
    stage.checkpoint()
    stage.process(batch2)  # rows written (durable), then SIGKILL: facts and checkpoint lost
    resolved_first = [facts for _, offset, facts in first.facts if offset == 2]

    second = Sink(store)
    restarted = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, second.outputs())
    restarted.load(0)
    restarted.process(batch2)  # redelivered from the last commit
    resolved_again = [facts for _, offset, facts in second.facts if offset == 2]

    assert resolved_again == resolved_first
    names = [fact[0] for fact in resolved_first[0]]
    assert names == ["opened", "due_removed", "resolved", "processed"]


def test_adopting_several_partitions_at_once_is_adopting_each() -> None:
    events = [
        dossier("submitted", f"D{p}", "2026-03-02 08:00", agency=agency)
        for p, agency in enumerate(("STP", "SXD", "CAT", "SNV"))
    ]
    store: dict[bytes, bytes] = {}
    stage = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, Sink(store).outputs())
    stage.adopt(dict.fromkeys(range(4)))
    for p, event in enumerate(events):
        value = event.model_dump_json().encode()
        stage.process([InputMessage(p, 10 + p, f"D{p}".encode(), value)])
    stage.checkpoint()

    def fresh() -> EntityStage:
        return EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, Sink(store).outputs())

    together, one_by_one = fresh(), fresh()
    together.adopt({0: 5, 2: None, 3: 7})
    for p, first in ((0, 5), (2, None), (3, 7)):
        one_by_one.load(p, first)
    assert together.partitions.keys() == one_by_one.partitions.keys() == {0, 2, 3}
    for p in (0, 2, 3):
        a, b = together.partitions[p], one_by_one.partitions[p]
        assert a.rows.keys() == b.rows.keys() == {f"D{p}"}
        assert a.engine.stream_time == b.engine.stream_time
        assert together.resume_offset(p) == one_by_one.resume_offset(p) == 11 + p
