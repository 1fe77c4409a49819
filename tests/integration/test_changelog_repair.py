"""What table recovery skipped of a changelog is found and read before the state is adopted
(streams/faust_adapter/changelog_repair.py): the store ends as if it had read the whole changelog."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.types import TP

from citypulse.broker import EmbeddedBroker
from citypulse.streams.faust_adapter.changelog_repair import missing_records, read_missing
from citypulse.streams.faust_adapter.transport import read_ranges
from citypulse.streams.faust_adapter.versioned_store import VersionedTable
from citypulse.streams.stages.codec import recover_record, version_header, version_of
from citypulse.topic_admin import ensure_topics

pytestmark = pytest.mark.integration


async def _write(bootstrap: str, topic: str, partition: int, rows: Sequence[Any]) -> None:
    """``rows`` (key, value or None, version) in record batches of 40."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for at in range(0, len(rows), 40):
            batch = producer.create_batch()
            for key, value, version in rows[at : at + 40]:
                assert batch.append(
                    key=key, value=value, timestamp=None, headers=[version_header(version)]
                )
            batch.close()
            await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


async def _read(bootstrap: str, ranges: Mapping[TP, Sequence[tuple[int, int]]]) -> Any:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        return await read_ranges(reader, ranges, patience=5)
    finally:
        await asyncio.wait([asyncio.ensure_future(reader.stop())])


def _rows(n: int, keys: int) -> list[tuple[bytes, bytes | None, int]]:
    """Rows of ``keys`` keys rewritten in turn; every seventh a deletion."""
    return [(b"k%d" % (i % keys), None if i % 7 == 6 else b"v%d" % i, i) for i in range(n)]


def _applied(rows: Sequence[tuple[bytes, bytes | None, int]]) -> dict[Any, Any]:
    """What a table holds after reading ``rows`` whole."""
    data: dict[Any, Any] = {}
    versions: dict[Any, int] = {}
    for key, value, version in rows:
        recover_record(data, versions, key, value, version_of([version_header(version)]))
    return data


def test_the_records_recovery_skipped_are_read_and_applied_before_adoption(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    app = faust.App(f"{topic_prefix}app", broker=f"kafka://{broker.bootstrap}")
    table = VersionedTable.create(app, "entities", 2)
    topic = table.changelog_topic.get_topic_name()
    ensure_topics([broker.bootstrap], [topic], 2)
    p0, p1 = _rows(300, 60), _rows(50, 20)
    asyncio.run(_write(broker.bootstrap, topic, 0, p0))
    asyncio.run(_write(broker.bootstrap, topic, 1, p1))
    tp0, tp1 = TP(topic, 0), TP(topic, 1)

    # what a recovery that went on past records it never applied leaves: partition 0 read
    # but for offsets 100-249, partition 1 not at all
    store = table.store
    store.apply((0, i, k, v, [version_header(ver)]) for i, (k, v, ver) in enumerate(p0)
                if not 100 <= i < 250)  # fmt: skip
    missing = missing_records({topic: table}, {tp0: 0, tp1: 0}, {tp0: 300, tp1: 50})
    assert missing == {tp0: [(100, 250)], tp1: [(0, 50)]}

    counted: dict[str, int] = {}
    unread = asyncio.run(
        read_missing(
            {topic: table},
            missing,
            lambda ranges: _read(broker.bootstrap, ranges),
            lambda name, n: counted.__setitem__(name, counted.get(name, 0) + n),
        )
    )
    assert unread == {}
    assert counted == {"entities": 200}
    assert dict(store.data) == _applied([*p0, *p1])
    assert missing_records({topic: table}, {tp0: 0, tp1: 0}, {tp0: 300, tp1: 50}) == {}


def test_a_range_that_cannot_be_read_is_not_taken_for_an_empty_one(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    """(The worker then exits rather than serve an incomplete state: streams/faust_adapter/app.py.)"""
    topic = f"{topic_prefix}changelog"
    ensure_topics([broker.bootstrap], [topic], 1)
    asyncio.run(_write(broker.bootstrap, topic, 0, _rows(100, 10)))
    tp = TP(topic, 0)
    records, whole = asyncio.run(_read(broker.bootstrap, {tp: [(10, 20), (95, 120)]}))
    assert [r.offset for r in records[tp]] == [*range(10, 20), *range(95, 100)]
    assert whole == {tp: [(10, 20)]}  # 100-119 do not exist (yet): not read whole

    app = faust.App(f"{topic_prefix}app", broker=f"kafka://{broker.bootstrap}")
    table = VersionedTable.create(app, "entities", 1)
    changelog = table.changelog_topic.get_topic_name()
    ensure_topics([broker.bootstrap], [changelog], 1)
    asyncio.run(_write(broker.bootstrap, changelog, 0, _rows(50, 10)))
    claimed = TP(changelog, 0)  # an end beyond what the log holds
    unread = asyncio.run(
        read_missing({changelog: table}, {claimed: [(0, 60)]}, lambda r: _read(broker.bootstrap, r),
                     lambda name, n: None)
    )  # fmt: skip
    assert unread == {claimed: [(0, 60)]}
    assert dict(table.store.data) == _applied(_rows(50, 10))  # what it read is applied
