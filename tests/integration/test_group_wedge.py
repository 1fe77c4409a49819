"""A consumer group that the embedded broker leaves without a leader forms again: one member
takes the departed leader's id over (streams/faust_adapter/group_wedge.py)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient

from citypulse.broker import EmbeddedBroker
from citypulse.streams.faust_adapter.group_wedge import (
    DepartedLeaderWatch,
    create_lock,
    departed,
    watch_group,
)
from citypulse.topic_admin import ensure_topics
from tests.support.group import leave_while_leading

pytestmark = pytest.mark.integration

PARTITIONS = 4


async def _member_after_a_departed_leader(
    bootstrap: str, topic: str, group: str, watch: DepartedLeaderWatch | None, wait: float
) -> tuple[set[int], int, bool]:
    """The partitions a new member owns once it owns any (or after ``wait`` s), the
    takeovers, and whether the member carries the departed leader's id."""
    departed = await leave_while_leading(bootstrap, group, topic)
    takeovers: list[int] = []
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, session_timeout_ms=6_000
    )
    if watch is not None:
        watch_group(consumer, watch, lambda: takeovers.append(1))
    # a subscribed consumer's start() returns once it has partitions
    started = asyncio.ensure_future(consumer.start())
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not started.done():
            await asyncio.sleep(0.5)
        owned = {tp.partition for tp in consumer.assignment()} if started.done() else set()
        return owned, len(takeovers), consumer._coordinator.member_id == departed
    finally:
        started.cancel()
        await asyncio.wait([asyncio.ensure_future(consumer.stop())])


def test_a_group_whose_leader_left_while_it_formed_is_formed_by_a_takeover(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    """Without the watch, the member is answered with the departed leader for as long as
    one cares to wait (50 s twice, 7 minutes in a chaos run); with it, the member takes that
    id over and the group forms (here at its first answer: how long a member waits first is
    the unit tests' business). The member first shares the partitions with its own former
    id, until the coordinator expels that after a session timeout (an ordinary rebalance: not
    waited for here)."""
    topic = f"{topic_prefix}wedge"
    ensure_topics([broker.bootstrap], [topic], PARTITIONS)
    owned, takeovers, carries_departed_id = asyncio.run(
        _member_after_a_departed_leader(
            broker.bootstrap, topic, f"{topic_prefix}group", DepartedLeaderWatch(bound=0.0), 60
        )
    )
    assert takeovers == 1
    assert carries_departed_id
    assert owned
    assert owned <= set(range(PARTITIONS))


def test_only_one_member_takes_a_departed_leader_over(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    """Two consumers with one member id would both consume that member's partitions: the
    lock (a topic created by the one member that takes over) admits exactly one."""

    async def race() -> list[bool]:
        clients = [AIOKafkaClient(bootstrap_servers=broker.bootstrap) for _ in range(3)]
        for client in clients:
            await client.bootstrap()
        try:
            node = clients[0].get_random_node()
            lock = f"{topic_prefix}__takeover-g4-departed"
            return list(await asyncio.gather(*(create_lock(c.send, node, lock) for c in clients)))
        finally:
            for client in clients:
                await client.close()

    assert sorted(asyncio.run(race())) == [False, False, True]


def test_a_member_of_the_group_is_never_taken_for_departed(
    broker: EmbeddedBroker, topic_prefix: str
) -> None:
    """A paused leader stays a member until its session expires, and would come back with its
    id: only a leader the coordinator no longer lists is taken over."""
    topic, group = f"{topic_prefix}members", f"{topic_prefix}members-group"
    ensure_topics([broker.bootstrap], [topic], PARTITIONS)

    async def verdicts() -> tuple[bool, bool]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group)
        await consumer.start()  # returns with partitions: a member
        try:
            client = consumer._client
            node = consumer._coordinator.coordinator_id
            member = consumer._coordinator.member_id
            return (
                await departed(client.send, node, group, member),
                await departed(client.send, node, group, "someone-who-left"),
            )
        finally:
            await asyncio.wait([asyncio.ensure_future(consumer.stop())])

    assert asyncio.run(verdicts()) == (False, True)
