"""A pipeline under test on the real broker: test topics, what they hold, the oracle's view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.producers.faults import Message
from citypulse.producers.publisher import Publisher
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.schemas.reference import load_references
from citypulse.streams.kpi import KpiConfig
from citypulse.topic_admin import ensure_topics

from .compare import PartitionedExpectation, expected_for_partitions
from .samples import Samples, expected_samples

__all__ = [
    "PARTITIONS",
    "Record",
    "Setup",
    "expectation",
    "expected_kpis",
    "new_setup",
    "publish",
    "read_topic",
]

#: as the worker's: every packaged province's reference data (CITYPULSE_PROVINCES' default)
CONFIG = KpiConfig.from_references(load_references())
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


def new_setup(broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> Setup:
    """Test topics (input and dead letters) and the worker's environment for them."""
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
