"""A consumer group that the embedded broker wedges on a departed leader: seen, and broken.

Tansu 0.6.0's group coordinator keeps the leader it named for a forming generation after that
leader leaves the group (a clean stop's LeaveGroup, sent while the group was forming). The
leader is no longer a member, so no session of its expires and no other member is ever named:
every JoinGroup is answered with the same generation and the departed leader, every SyncGroup
with REBALANCE_IN_PROGRESS, for as long as the broker runs. Restarting the workers does not
help (BROKER-NOTES #7: three workers looped for minutes with no partitions). Only a SyncGroup
from the named leader forms the group, and the coordinator accepts a JoinGroup that carries
the departed leader's member id. So a member that has been answered with the same generation
and the same other leader for longer than a live leader could keep it (a leader that stops
heartbeating is expelled after the session timeout) joins once more under the departed
leader's id, provided the coordinator does not list that leader among the group's members (a
leader that is only paused is still one, and would come back with its id). It is then the
leader, assigns the partitions, and the group forms. Its own former id is expelled after a
session timeout, which starts one more, ordinary, rebalance.

Exactly one member may take an id over (two consumers with one member id would both consume
that member's partitions), so the member first creates a topic named after the generation and
the departed leader: topic creation is atomic, and only the member whose request created it
takes over. Apache Kafka's coordinator moves a group whose leader is gone to a new generation
within the rebalance timeout, so the condition does not persist there and this never acts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka.protocol.admin import CreateTopicsRequest, DescribeGroupsRequest
from aiokafka.protocol.group import JoinGroupRequest

__all__ = [
    "DepartedLeaderWatch",
    "create_lock",
    "departed",
    "takeover_lock_topic",
    "watch_group",
]

log = logging.getLogger(__name__)

#: Kafka's TOPIC_ALREADY_EXISTS: another member created the lock first
TOPIC_ALREADY_EXISTS = 36


@dataclass
class DepartedLeaderWatch:
    """When a member should take over the leader its joins keep being answered with."""

    #: how long one generation may keep the same other leader before it is taken as departed
    bound: float
    #: the (generation, leader) the latest answers named, and when it was first named
    _since: tuple[tuple[int, str], float] | None = None

    @classmethod
    def for_session(cls, session_timeout: float) -> DepartedLeaderWatch:
        """A live leader syncs within seconds, and a silent one is expelled after the session
        timeout: three of those (and at least 30 s) leave no doubt."""
        return cls(bound=max(30.0, 3 * session_timeout))

    def answered(self, generation: int, leader: str, member: str, now: float) -> bool:
        """A successful JoinGroup answer; true if its leader is to be taken over now."""
        if not leader or leader == member:
            self._since = None
            return False
        key = (generation, leader)
        if self._since is None or self._since[0] != key:
            self._since = (key, now)
        return now - self._since[1] >= self.bound


def takeover_lock_topic(group: str, generation: int, leader: str) -> str:
    return f"{group}-__takeover-g{generation}-{leader}"


async def departed(
    send: Callable[..., Awaitable[Any]], node_id: Any, group: str, leader: str
) -> bool:
    """True if the coordinator does not count ``leader`` among the group's members.

    A leader that is only silent (a paused process) is still a member until its session
    expires, and would come back with its id: it is never taken over."""
    try:
        response = await send(node_id, DescribeGroupsRequest([group]))
        (described,) = response.groups
    except Exception:
        log.warning("could not describe group %s", group, exc_info=True)
        return False
    error, members = described[0], described[-1]
    return bool(error == 0 and all(member[0] != leader for member in members))


async def create_lock(send: Callable[..., Awaitable[Any]], node_id: Any, topic: str) -> bool:
    """True if this member created the lock topic, false if another one did (or it failed)."""
    request = CreateTopicsRequest([(topic, 1, 1, [], [])], 10_000, False)
    try:
        response = await send(node_id, request)
    except Exception:
        log.warning("could not create %s to take a departed leader over", topic, exc_info=True)
        return False
    error = response.topic_errors[0][1]
    if error not in (0, TOPIC_ALREADY_EXISTS):
        log.warning("could not create %s to take a departed leader over: error %s", topic, error)
    return bool(error == 0)


def watch_group(
    consumer: Any, watch: DepartedLeaderWatch, on_takeover: Callable[[], None] = lambda: None
) -> None:
    """Watch an aiokafka consumer's JoinGroup answers and take a departed leader over.

    Installed on the consumer's client before the consumer starts: its first join may already
    be answered with a departed leader, and ``start()`` of a subscribed consumer waits for an
    assignment."""
    client = consumer._client
    send: Callable[..., Awaitable[Any]] = client.send

    async def send_and_watch(node_id: Any, request: Any, **options: Any) -> Any:
        response = await send(node_id, request, **options)
        if not isinstance(request, JoinGroupRequest) or response.error_code != 0:
            return response
        generation, leader = response.generation_id, response.leader_id
        if not watch.answered(generation, leader, response.member_id, time.monotonic()):
            return response
        if not await departed(send, node_id, request._group, leader):
            return response
        lock = takeover_lock_topic(request._group, generation, leader)
        if not await create_lock(send, node_id, lock):
            return response
        log.warning(
            "the group has been waiting %.0f s for leader %s of generation %d, which has left "
            "it: taking its member id over to form the group (embedded broker, BROKER-NOTES #7)",
            watch.bound,
            leader,
            generation,
        )
        on_takeover()
        again = JoinGroupRequest(
            request._group,
            request._session_timeout,
            request._rebalance_timeout,
            leader,
            request._group_instance_id,
            request._protocol_type,
            request._group_protocols,
        )
        return await send(node_id, again, **options)

    client.send = send_and_watch
