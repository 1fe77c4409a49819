"""Stage 2 (streams/stages/agency.py) on its own: what it does with facts that do not fit."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from citypulse.schemas import load_reference
from citypulse.streams.exposition.metrics import pipeline_metrics
from citypulse.streams.kpi import KpiConfig
from citypulse.streams.stages.agency import AgencyStage
from citypulse.streams.stages.codec import facts_message
from tests.support.durability import inconsistent_facts

CONFIG = KpiConfig.from_reference(load_reference())
AGENCY = b"TTH/STP"


def stage() -> AgencyStage:
    s = AgencyStage(
        CONFIG, {}, lambda p, k, v, version: None, pipeline_metrics(CollectorRegistry())
    )
    s.load(0)
    return s


def message(offset: int, *facts: list[object]) -> tuple[int, int, bytes, bytes]:
    """A facts message at ``offset`` with the facts of source offset ``offset``."""
    return 0, offset, AGENCY, facts_message([("dossiers:0", offset, list(facts))])


def test_a_facts_message_that_cannot_be_applied_is_counted_and_the_batch_goes_on() -> None:
    s = stage()
    s.process_all(
        [
            (0, 0, AGENCY, b"{not json"),
            message(1, ["drop_tables", ["TTH", "STP"]]),
            message(2, ["withdrawn", ["TTH", "STP"]]),
        ]
    )
    assert s.book.get(("TTH", "STP")).withdrawn == 1
    assert inconsistent_facts(s) == {"due_removed": 0.0, "delivered": 0.0, "error": 2.0}


def test_removing_a_deadline_that_is_not_there_is_counted() -> None:
    s = stage()
    s.process_all(
        [
            message(1, ["due_added", ["TTH", "STP"], 100.0]),
            message(2, ["due_removed", ["TTH", "STP"], 99.0]),
            message(3, ["delivered", ["TTH", "STP"], 5.0, 1.0, True]),
        ]
    )
    assert s.book.get(("TTH", "STP")).open_due == [100.0]
    assert inconsistent_facts(s) == {"due_removed": 1.0, "delivered": 1.0, "error": 0.0}
