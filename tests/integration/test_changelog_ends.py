"""Table recovery reads each changelog partition to its true end, whatever the broker reports."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.streams.faust_adapter.transport import true_end_offsets
from citypulse.topic_admin import ensure_topics

pytestmark = pytest.mark.integration


async def _ends(bootstrap: str, topic: str, batches: list[int]) -> tuple[int, int | None]:
    """Write ``batches`` (record counts, each one record batch) to partition 0; the end the
    broker reports and the end :func:`true_end_offsets` reads."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n, size in enumerate(batches):
            batch = producer.create_batch()
            for i in range(size):
                assert batch.append(key=b"k%d" % i, value=b"v%d.%d" % (n, i), timestamp=None)
            batch.close()
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        reported = (await consumer.end_offsets([tp]))[tp]
        read = (await true_end_offsets(consumer, {tp: reported}))[tp]
        # a broker that reports nothing, or 0, for a partition with records is not trusted
        for claimed in (None, 0):
            again = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await again.start()
            try:
                assert (await true_end_offsets(again, {tp: claimed}))[tp] == read
            finally:
                await asyncio.wait([asyncio.ensure_future(again.stop())])
    finally:
        await asyncio.wait([asyncio.ensure_future(consumer.stop())])
    return reported, read


@pytest.mark.parametrize(
    ("batches", "end"),
    [
        ([5, 1], 6),  # the newest batch holds one record: every broker reports the end
        ([1, 5], 6),  # the newest batch holds five: the embedded broker reports 2
        ([7], 7),
        ([], 0),
    ],
)
def test_recovery_reads_a_changelog_to_its_true_end(
    broker: EmbeddedBroker, topic_prefix: str, batches: list[int], end: int
) -> None:
    topic = f"{topic_prefix}changelog"
    ensure_topics([broker.bootstrap], [topic], 1)
    reported, read = asyncio.run(_ends(broker.bootstrap, topic, batches))
    assert read == end, (reported, read)
    if batches and batches[-1] > 1:
        # what the embedded broker does (BROKER-NOTES #1); Kafka reports the end itself
        assert reported in (end - batches[-1] + 1, end)
