"""Consumer-group states made with raw protocol requests, for tests of how members cope."""

from __future__ import annotations

from aiokafka.client import AIOKafkaClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from aiokafka.protocol.coordination import FindCoordinatorRequest
from aiokafka.protocol.group import JoinGroupRequest, LeaveGroupRequest

__all__ = ["leave_while_leading"]

#: Kafka's MEMBER_ID_REQUIRED: the first JoinGroup of a member is answered with its id
MEMBER_ID_REQUIRED = 79


async def leave_while_leading(bootstrap: str, group: str, topic: str) -> str:
    """A member joins ``group`` (empty), is named the leader of the forming generation and
    leaves before it sends its SyncGroup, as a worker stopped cleanly mid-rebalance does.
    Returns its member id."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="departed-leader")
    await client.bootstrap()
    try:
        found = await client.send(client.get_random_node(), FindCoordinatorRequest(group, 0))
        node = found.coordinator_id
        metadata = ConsumerProtocolMemberMetadata(0, [topic], b"").encode()
        member = ""
        for _ in range(2):
            answer = await client.send(
                node,
                JoinGroupRequest(
                    group, 10_000, 10_000, member, None, "consumer", [("roundrobin", metadata)]
                ),
            )
            member = answer.member_id
            if answer.error_code != MEMBER_ID_REQUIRED:
                break
        assert answer.error_code == 0, answer
        assert answer.leader_id == member, answer
        left = await client.send(node, LeaveGroupRequest(group, member))
        assert left.error_code == 0, left
        return member
    finally:
        await client.close()
