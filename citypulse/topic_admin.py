"""Creating citypulse's topics, idempotently, on the embedded broker or Apache Kafka."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

__all__ = ["TopicReport", "ensure_topics"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicReport:
    created: tuple[str, ...]
    existing: tuple[str, ...]
    #: existing topics whose partition count differs from the one asked for
    mismatched: Mapping[str, int]


def ensure_topics(
    bootstrap: Iterable[str],
    topics: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    client_options: Mapping[str, object] | None = None,
    timeout: float = 30.0,
) -> TopicReport:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    wanted = list(dict.fromkeys(topics))
    admin = KafkaAdminClient(
        bootstrap_servers=list(bootstrap),
        client_id="citypulse-admin",
        request_timeout_ms=int(timeout * 1000),
        **dict(client_options or {}),
    )
    try:
        present = set(admin.list_topics())
        missing = [t for t in wanted if t not in present]
        created: list[str] = []
        if missing:
            new = [
                NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
                for t in missing
            ]
            try:
                admin.create_topics(new, timeout_ms=int(timeout * 1000))
                created = missing
            except TopicAlreadyExistsError:  # created concurrently by another process
                created = [t for t in missing if t not in set(admin.list_topics())]
            except KafkaError as exc:
                raise RuntimeError(f"could not create topics {missing}: {exc}") from exc
        existing = [t for t in wanted if t not in created]
        mismatched: dict[str, int] = {}
        if existing:
            for description in admin.describe_topics(existing):
                count = len(description.get("partitions", []))
                if count and count != partitions:
                    mismatched[description.get("name") or description["topic"]] = count
        for topic, count in mismatched.items():
            log.warning(
                "topic %s has %d partitions, not %d: left as it is", topic, count, partitions
            )
        return TopicReport(tuple(created), tuple(existing), mismatched)
    finally:
        admin.close()
