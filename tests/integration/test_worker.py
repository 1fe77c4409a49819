"""The worker on a real broker: KPIs equal the oracle; bad input dead-lettered with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from citypulse.producers.faults import Message
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import (
    DOCUMENT_TOPIC,
    DOSSIER_TOPIC,
    load_reference,
)
from citypulse.streams.kpi import KpiConfig
from citypulse.tests.support.compare import PartitionedExpectation, expected_for_partitions
from citypulse.tests.support.scrape import Samples, expected_samples, kpi_samples
from citypulse.tests.support.worker import WorkerProcess, eventually_equal, union_of
from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.topics import ensure_topics

pytestmark = pytest.mark.integration

REF = load_reference()
CONFIG = KpiConfig.from_reference(REF)
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)
PARTITIONS = 4


@dataclass(frozen=True)
class Record:
    topic: str  # contract topic
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Setup:
    env: dict[str, str]
    topics: dict[str, str]  # contract name -> test topic
    records: list[Record]  # what the input topics hold, per partition in offset order
    tmp: Path


def read_topic(bootstrap: str, topic: str, contract: str) -> list[Record]:
    consumer = KafkaConsumer(
        bootstrap_servers=[bootstrap], enable_auto_commit=False, consumer_timeout_ms=3000
    )
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out = [
        Record(contract, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
        for r in consumer
    ]
    consumer.close()
    return sorted(out, key=lambda r: (r.partition, r.offset))


@pytest.fixture
def setup(broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> Setup:
    topics = {
        DOSSIER_TOPIC: f"{topic_prefix}dossiers",
        DOCUMENT_TOPIC: f"{topic_prefix}documents",
        "citypulse.dead-letter": f"{topic_prefix}dead-letter",
    }
    ensure_topics([broker.bootstrap], topics.values(), PARTITIONS)
    env = {
        "CITYPULSE_BROKER": broker.url,
        "CITYPULSE_DOSSIER_TOPIC": topics[DOSSIER_TOPIC],
        "CITYPULSE_DOCUMENT_TOPIC": topics[DOCUMENT_TOPIC],
        "CITYPULSE_DEAD_LETTER_TOPIC": topics["citypulse.dead-letter"],
        "CITYPULSE_APP_ID": f"{topic_prefix}app",
        "CITYPULSE_PARTITIONS": str(PARTITIONS),
        "CITYPULSE_TANSU_WORKAROUNDS": "1",
        "CITYPULSE_LOG_LEVEL": "WARNING",
    }
    return Setup(env, topics, [], tmp_path)


def publish(broker: EmbeddedBroker, setup: Setup, messages: list[Message]) -> None:
    publisher = Publisher([broker.bootstrap])
    for m in messages:
        publisher.send(m, topic=setup.topics[m.topic])
    report = publisher.close()
    assert report.ok, report
    setup.records = [
        r
        for contract in (DOSSIER_TOPIC, DOCUMENT_TOPIC)
        for r in read_topic(broker.bootstrap, setup.topics[contract], contract)
    ]


def expectation(records: list[Record]) -> PartitionedExpectation:
    """The oracle over what the topics hold: one stream per input partition."""
    return expected_for_partitions(
        ((r.topic, r.partition, r.offset, r.value) for r in records), CONFIG
    )


def expected_kpis(records: list[Record]) -> Samples:
    return expected_samples(expectation(records).report)


def test_kpis_of_a_faulty_stream_equal_the_oracle_and_bad_input_is_dead_lettered(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(REF, SimulationConfig(seed=21, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    assert len(expected) > 3000  # 40 agencies x ~90 series: the comparison is not vacuous
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


@pytest.mark.xfail(
    strict=False,
    reason="KNOWN BUG (issue 3, open): a rare residual loss after a SIGKILL (about 1 run in 9 "
    "since the checkpoint fix, e.g. one dossier.submitted missing); the crash simulation in "
    "tests/unit/test_crash_recovery.py does not reproduce it. Kept running so it stays visible.",
)
def test_a_worker_killed_mid_stream_resumes_without_double_counting(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(REF, SimulationConfig(seed=22, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    expected = expected_kpis(setup.records)
    env = {**setup.env, "CITYPULSE_COMMIT_INTERVAL": "5"}  # a crash re-delivers up to 5 s of work
    first = WorkerProcess(env, setup.tmp / "first.log").start()
    wait_for_progress(first, len(messages) // 3)
    seen_by_first = first.events_seen()
    first.kill()  # SIGKILL: no commit, no flush, no goodbye
    with WorkerProcess(env, setup.tmp / "second.log") as second:
        eventually_equal([second], expected, timeout=120)
        redelivered = seen_by_first + second.events_seen() - len(messages)
    assert redelivered > 0, "the restart re-delivered nothing: the test proved nothing"


def test_two_workers_share_the_work_and_the_survivor_takes_over(
    broker: EmbeddedBroker, setup: Setup
) -> None:
    messages = Simulator(REF, SimulationConfig(seed=23, faults=FAULTS)).take(20_000)
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
