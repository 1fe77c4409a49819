"""Publishing messages to Kafka with kafka-python: acks=all, retries, errors surfaced.

Idempotence is off by default: it needs InitProducerId, which the embedded broker does not
survive (see ../shared/BROKER-NOTES.md #3, #6). Without it a retried batch can be written
twice; citypulse counts a repeated ``event_id`` once, so that is safe. Turn it on for Apache
Kafka with ``idempotence=True``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kafka import KafkaProducer

from .faults import Message

__all__ = ["DeliveryReport", "Publisher", "crc32c_accelerated"]

log = logging.getLogger(__name__)


def crc32c_accelerated() -> bool:
    """Whether kafka-python found the ``crc32c`` C extension (x3 producer throughput)."""
    try:
        import crc32c  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0


class Publisher:
    """Sends :class:`Message` s; every delivery is confirmed or counted as failed."""

    def __init__(
        self,
        bootstrap: Iterable[str],
        client_options: Mapping[str, object] | None = None,
        *,
        idempotence: bool = False,
        linger_ms: int = 5,
        delivery_timeout: float = 60.0,
        producer: KafkaProducer | None = None,
    ) -> None:
        if not crc32c_accelerated():
            log.warning(
                "crc32c is not installed: kafka-python computes checksums in Python (3x slower)"
            )
        self.report = DeliveryReport()
        self._lock = threading.Lock()
        self._producer = producer or KafkaProducer(
            bootstrap_servers=list(bootstrap),
            client_id="citypulse-publisher",
            acks="all",
            retries=5,
            enable_idempotence=idempotence,
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            max_in_flight_requests_per_connection=1 if not idempotence else 5,
            request_timeout_ms=int(min(30.0, delivery_timeout / 2) * 1000),
            delivery_timeout_ms=int(delivery_timeout * 1000),
            **dict(client_options or {}),
        )

    def send(
        self,
        message: Message,
        topic: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue ``message`` (to ``topic`` if given, e.g. a renamed topic); never blocks long."""
        self.send_record(topic or message.topic, message.key, message.value, headers=headers)

    def send_record(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one record as given (partition None: by key; timestamp None: now)."""
        future = self._producer.send(
            topic,
            key=key,
            value=value,
            headers=headers,
            partition=partition,
            timestamp_ms=timestamp_ms,
        )
        future.add_callback(self._delivered)
        future.add_errback(self._failed)

    def _delivered(self, _metadata: object) -> None:
        with self._lock:
            self.report.sent += 1

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.report.failed += 1
            self.report.errors[type(exc).__name__] += 1
            if self.report.first_error is None:
                self.report.first_error = f"{type(exc).__name__}: {exc}"
                log.error("delivery failed: %s", self.report.first_error)

    def flush(self, timeout: float | None = 60.0) -> DeliveryReport:
        """Wait for every queued message to be delivered or to fail."""
        self._producer.flush(timeout=timeout)
        return self.report

    def close(self, timeout: float = 10.0) -> DeliveryReport:
        try:
            self._producer.flush(timeout=timeout)
        finally:
            self._producer.close(timeout=timeout)
        return self.report
