"""A stage that is handed an offset past the next one it expects counts the offsets it jumped:
input that was committed unprocessed, or state lost in a recovery, never passes silently."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from citypulse.schemas import DOSSIER_TOPIC, load_reference
from citypulse.streams.exposition.metrics import pipeline_metrics
from citypulse.streams.kpi import KpiConfig
from citypulse.streams.stages.agency import AgencyStage
from citypulse.streams.stages.codec import facts_message
from citypulse.streams.stages.entity import EntityStage, InputMessage, Outputs
from tests.support.durability import skipped_offsets
from tests.support.events import dossier

CONFIG = KpiConfig.from_reference(load_reference())
NOWHERE = Outputs(lambda p, k, v, n: None, lambda a, v: None, lambda v: None, lambda k, v, h: None)


def submitted(offset: int) -> InputMessage:
    event = dossier("submitted", f"D{offset}", "2026-03-02 08:00")
    return InputMessage(0, offset, f"D{offset}".encode(), event.model_dump_json().encode())


def entity_stage_skips(
    batches: list[list[int]], restart_after: int | None = None, first: int | None = None
) -> float:
    """Skips counted by stage 1 over ``batches`` of offsets; ``first``: the partition's log
    start as the worker gives it when it adopts the partition (None: unknown)."""
    metrics = pipeline_metrics(CollectorRegistry())
    store: dict[bytes, bytes] = {}
    agencies = AgencyStage(CONFIG, {}, lambda p, k, v, n: None, metrics)
    stage = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, NOWHERE, metrics)
    stage.load(0, first)
    for n, offsets in enumerate(batches):
        for phase in stage.phases([submitted(o) for o in offsets]):
            phase()
        if n == restart_after:  # a new incarnation, from the rows and checkpoint
            stage = EntityStage(DOSSIER_TOPIC, DOSSIER_TOPIC, CONFIG, store, NOWHERE, metrics)
            stage.load(0, first)
    return skipped_offsets(agencies)


def test_consecutive_and_redelivered_offsets_skip_nothing() -> None:
    assert entity_stage_skips([[0, 1, 2], [3, 4]]) == 0
    assert entity_stage_skips([[0, 1, 2], [1, 2, 3]], restart_after=0) == 0
    assert entity_stage_skips([[5, 6], [7]]) == 0  # a topic whose retention removed 0..4


def test_a_partition_adopted_without_state_must_start_at_its_first_offset() -> None:
    assert entity_stage_skips([[0, 1], [2]], first=0) == 0
    assert entity_stage_skips([[5, 6]], first=5) == 0  # retention removed 0..4
    # state lost (an empty recovery) while the group had committed up to 40: 40 never seen
    assert entity_stage_skips([[40, 41]], first=0) == 40
    assert entity_stage_skips([[40, 41]], first=None) == 0  # log start unknown: not judged


def test_offsets_jumped_over_are_counted() -> None:
    assert entity_stage_skips([[0, 1, 2], [6, 7]]) == 3
    assert entity_stage_skips([[0, 1], [2, 4]]) == 1
    assert entity_stage_skips([[0, 1, 2], [9]], restart_after=0) == 6


def test_the_agency_stage_counts_facts_offsets_jumped_over_even_after_a_restart() -> None:
    metrics = pipeline_metrics(CollectorRegistry())
    store: dict[bytes, bytes] = {}
    stage = AgencyStage(CONFIG, store, lambda p, k, v, n: None, metrics)
    stage.load(0)

    def batch(s: AgencyStage, offsets: list[int]) -> None:
        messages = [
            (0, o, b"TTH/STP", facts_message([("d:0", o, [["withdrawn", ["TTH", "STP"]]])]))
            for o in offsets
        ]
        for phase in s.phases(messages):
            phase()

    batch(stage, [0, 1, 2])
    assert skipped_offsets(stage) == 0
    restarted = AgencyStage(CONFIG, store, lambda p, k, v, n: None, metrics)
    restarted.load(0)
    batch(restarted, [2, 3])  # a redelivery from the last commit
    assert skipped_offsets(stage) == 0
    batch(restarted, [7])
    assert skipped_offsets(stage) == 3
    assert restarted.book.get(("TTH", "STP")).withdrawn == 5  # 0, 1, 2, 3 and 7
