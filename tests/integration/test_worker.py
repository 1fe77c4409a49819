"""The worker on a real broker: KPIs equal the oracle; bad input dead-lettered with its reason."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from citypulse.broker import EmbeddedBroker
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from citypulse.schemas.reference import load_references
from tests.support.samples import kpi_samples
from tests.support.topics_under_test import (
    Setup,
    expectation,
    expected_kpis,
    new_setup,
    publish,
    read_topic,
)
from tests.support.worker import WorkerProcess, eventually_equal, union_of

pytestmark = pytest.mark.integration

REF = load_reference()
#: two provinces whose departments share their codes (CONTRACT §7)
TWO_PROVINCES = load_references(("TTH", "HYN"))
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)


@pytest.fixture
def setup(broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> Setup:
    return new_setup(broker, topic_prefix, tmp_path)


def test_kpis_of_a_faulty_stream_equal_the_oracle_and_bad_input_is_dead_lettered(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(TWO_PROVINCES, SimulationConfig(seed=21, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    assert len(expected) > 6000  # 80 agencies x ~90 series: the comparison is not vacuous
    departments = {
        dict(labels)["province"] for _, labels in expected if ("agency", "STP") in labels
    }
    assert departments == {"TTH", "HYN"}  # the same code in two provinces: two agencies
    with WorkerProcess(setup.env, setup.tmp / "worker.log") as worker:
        eventually_equal([worker], expected, timeout=240)

    # every message that could not be accepted is in the dead-letter topic, with its reason
    wanted = {
        (setup.topics[topic], partition, offset): reason
        for (topic, partition, offset), reason in expectation(setup.records).rejected.items()
    }
    dead = read_topic(
        broker.bootstrap, setup.topics["citypulse.dead-letter"], "citypulse.dead-letter"
    )
    got_dead = {}
    for d in dead:
        h = dict(d.headers)
        got_dead[
            (h["source.topic"].decode(), int(h["source.partition"]), int(h["source.offset"]))
        ] = h["error.reason"].decode()
        assert h["error.detail"]
    assert got_dead == wanted
    assert {"invalid_json", "invalid_schema", "unknown_event_type", "late"} <= set(wanted.values())
    assert not any(b"0905123456" in d.value for d in dead)  # personal data scrubbed


def wait_for_progress(worker: WorkerProcess, at_least: int, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while worker.events_seen() < at_least:
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.2)


def test_a_worker_killed_mid_stream_resumes_without_double_counting(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(REF, SimulationConfig(seed=22, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    env = {**setup.env, "CITYPULSE_COMMIT_INTERVAL": "5"}  # a crash re-delivers up to 5 s of work
    first = WorkerProcess(env, setup.tmp / "first.log").start()
    wait_for_progress(first, len(messages) // 3)
    first.kill()  # SIGKILL: no commit, no flush, no goodbye
    with WorkerProcess(env, setup.tmp / "second.log") as second:
        eventually_equal([second], expected, timeout=120)
        # the kill was mid-stream: the second worker had work left, whether it resumed where
        # the state ends (the usual case: nothing re-delivered) or at the older committed
        # offset (re-delivered events skipped)
        assert 0 < second.events_seen() < len(messages)


def test_two_workers_share_the_work_and_the_survivor_takes_over(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(TWO_PROVINCES, SimulationConfig(seed=23, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    with (
        WorkerProcess(setup.env, setup.tmp / "a.log") as a,
        WorkerProcess(setup.env, setup.tmp / "b.log") as b,
    ):
        eventually_equal([a, b], expected, timeout=240)
        union = union_of([a, b])
        assert union is not None
        a_series = kpi_samples(a.metrics() or "")
        assert a_series  # both workers own some agencies
        assert len(a_series) < len(union)
        assert a.stop() == 0  # a clean stop: the survivor is rebalanced every partition
        eventually_equal([b], expected, timeout=240)


def test_one_command_runs_several_workers_of_the_group_and_stops_them(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(REF, SimulationConfig(seed=24, faults=FAULTS)).take(5_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    with WorkerProcess(setup.env, setup.tmp / "processes.log", processes=2) as command:
        children = [command.child(0), command.child(1)]  # each on its own port
        eventually_equal(children, expected, timeout=120)
        assert all(kpi_samples(c.metrics() or "") for c in children)  # both own agencies
        assert command.stop(signal.SIGTERM) == 0
        assert all(c.metrics() is None for c in children)  # the children stopped with it
