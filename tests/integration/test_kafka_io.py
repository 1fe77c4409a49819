"""Topic creation and publishing against the real (embedded) broker."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.producers.faults import Message
from citypulse.producers.publisher import Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from citypulse.topic_admin import ensure_topics


def read_all(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, bytes, bytes]]:
    """Every record of ``topic`` as (partition, key, value); assign()+seek (see BROKER-NOTES #9)."""
    consumer = KafkaConsumer(
        bootstrap_servers=[bootstrap], enable_auto_commit=False, consumer_timeout_ms=2000
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    out = [(r.partition, r.key, r.value) for r in consumer]
    consumer.close()
    return out


def test_topic_creation_is_idempotent_and_reports_what_it_did(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    names = [f"{topic_prefix}a", f"{topic_prefix}b"]
    first = ensure_topics([broker.bootstrap], names, partitions=4)
    assert sorted(first.created) == sorted(names)
    again = ensure_topics([broker.bootstrap], [*names, f"{topic_prefix}c"], partitions=4)
    assert again.created == (f"{topic_prefix}c",)
    assert sorted(again.existing) == sorted(names)
    other = ensure_topics([broker.bootstrap], names, partitions=2)
    assert other.created == ()
    assert other.mismatched == dict.fromkeys(names, 4)


def test_published_messages_arrive_keyed_by_entity_so_each_entity_stays_in_one_partition(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    messages = Simulator(load_reference()).take(3000)
    rename = {t: f"{topic_prefix}{t}" for t in {m.topic for m in messages}}
    ensure_topics([broker.bootstrap], rename.values(), partitions=4)
    publisher = Publisher([broker.bootstrap])
    for m in messages:
        publisher.send(m, topic=rename[m.topic])
    report = publisher.close()
    assert report.ok
    assert report.sent == len(messages)

    received = [r for topic in rename.values() for r in read_all(broker.bootstrap, topic, 4)]
    assert sorted((k, v) for _, k, v in received) == sorted((m.key, m.value) for m in messages)
    partitions_of: dict[bytes, set[int]] = {}
    for partition, key, _ in received:
        partitions_of.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_of.values())
    assert len({p for ps in partitions_of.values() for p in ps}) == 4  # spread over all partitions


def test_delivery_failures_are_counted_and_reported_not_swallowed(topic_prefix: str) -> None:
    broker = EmbeddedBroker().start()
    topic = f"{topic_prefix}doomed"
    ensure_topics([broker.bootstrap], [topic], partitions=1)
    publisher = Publisher([broker.bootstrap], delivery_timeout=3.0)
    message = Message(topic, b"k", b"{}", 0.0)
    publisher.send(message)
    publisher.flush()
    broker.stop()
    for _ in range(5):
        publisher.send(message)
    report = publisher.close(timeout=15)
    assert report.sent == 1
    assert report.failed == 5
    assert report.first_error is not None


def test_cli_creates_topics_then_simulates_into_them(
    broker: EmbeddedBroker, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from citypulse.cli import main

    names = {
        "dossier": f"{topic_prefix}dossiers",
        "document": f"{topic_prefix}documents",
        "dead_letter": f"{topic_prefix}dlq",
    }
    for kind, name in names.items():
        monkeypatch.setenv(f"CITYPULSE_{kind.upper()}_TOPIC", name)
    monkeypatch.setenv("CITYPULSE_BROKER", broker.url)
    console = Console(record=True, width=200)
    assert main(["topics", "create"], console=console) == 0
    assert main(["topics", "create"], console=console) == 0
    assert main(["simulate", "--events", "2000", "--malformed", "0.02"], console=console) == 0
    out = console.export_text()
    assert "sent 2,000 · failed 0" in out
    assert f"existing: {names['dossier']}" in out
    records = read_all(broker.bootstrap, names["dossier"], 4) + read_all(
        broker.bootstrap, names["document"], 4
    )
    assert len(records) == 2000
