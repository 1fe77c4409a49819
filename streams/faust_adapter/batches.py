"""Output of one stage step, sent as one Kafka record batch per partition.

Faust's ``send_soon``/``send_changelog`` cost about as much per message as consuming one
(a FutureMessage, the producer buffer, a delivery future each), and the worker writes about
one changelog row per input event. Here records are appended to aiokafka's
:class:`~aiokafka.producer.message_accumulator.BatchBuilder` (one per topic partition, in
the order added) and each full builder is handed over with ``send_batch``: one future per
batch. :meth:`RecordBatches.send` returns once the broker has acknowledged all of them.

Order: records of one topic partition go out in the order they were added, and everything
added before a :meth:`~RecordBatches.send` is acknowledged before anything added after it
is sent, so a record sent alone is also alone in its record batch (what the embedded
broker needs of a changelog's newest record, BROKER-NOTES #1; see stages/entity.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

__all__ = ["RecordBatches", "partition_for"]

Headers = Sequence[tuple[str, bytes]]


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition Kafka's default partitioner (and Faust's) gives ``key``."""
    if key is None:
        return random.randrange(partitions)
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class RecordBatches:
    def __init__(self, producer: Callable[[], AIOKafkaProducer]) -> None:
        """``producer``: the started producer to send with (a callable: it exists only once
        the app runs)."""
        self._producer = producer
        self._pending: dict[tuple[str, int | None], list[tuple[Any, ...]]] = {}
        self._partitions: dict[str, int] = {}

    def add(
        self,
        topic: str,
        partition: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
    ) -> None:
        """Queue one record; ``partition`` None: by key, as Kafka's default partitioner."""
        self._pending.setdefault((topic, partition), []).append((key, value, headers))

    async def send(self) -> None:
        """Send everything queued and wait until the broker has acknowledged all of it.

        Raises the delivery error of any record that could not be sent."""
        if not self._pending:
            return
        producer = self._producer()
        by_tp: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        for (topic, partition), records in self._pending.items():
            if partition is not None:
                by_tp.setdefault((topic, partition), []).extend(records)
                continue
            n = await self._partition_count(producer, topic)
            for record in records:
                by_tp.setdefault((topic, partition_for(record[0], n)), []).append(record)
        self._pending = {}
        deliveries = await asyncio.gather(
            *(self._send_partition(producer, tp, records) for tp, records in by_tp.items())
        )
        await asyncio.gather(*(f for futures in deliveries for f in futures))

    async def _partition_count(self, producer: AIOKafkaProducer, topic: str) -> int:
        n = self._partitions.get(topic)
        if n is None:
            n = self._partitions[topic] = len(await producer.partitions_for(topic))
        return n

    @staticmethod
    async def _send_partition(
        producer: AIOKafkaProducer, tp: tuple[str, int], records: list[tuple[Any, ...]]
    ) -> list[asyncio.Future[Any]]:
        """Hand the records to the producer as full batches, in order; their futures."""
        topic, partition = tp
        futures = []
        builder = producer.create_batch()
        for key, value, headers in records:
            if builder.append(timestamp=None, key=key, value=value, headers=list(headers)):
                continue
            futures.append(await _submit(producer, builder, topic, partition))
            builder = producer.create_batch()
            # the first record of a batch is always taken (a too large one fails on delivery)
            builder.append(timestamp=None, key=key, value=value, headers=list(headers))
        if builder.record_count():
            futures.append(await _submit(producer, builder, topic, partition))
        return futures


async def _submit(
    producer: AIOKafkaProducer, builder: Any, topic: str, partition: int
) -> asyncio.Future[Any]:
    builder.close()  # else producer.send() may add its records to this batch
    future: asyncio.Future[Any] = await producer.send_batch(builder, topic, partition=partition)
    return future
