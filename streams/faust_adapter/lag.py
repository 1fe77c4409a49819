"""``citypulse_consumer_lag_messages{topic}``: input messages this worker has not read yet.

:meth:`ConsumerLag.refresh` runs in the event loop (a Faust timer) and reads what the Faust
consumer already knows, without a broker round trip: for each input partition assigned to
this worker, the highwater of its last fetch minus the next offset to read. ``collect``
(the HTTP thread) only reads the stored numbers. Per worker, so Prometheus sums across
workers. An estimate: the highwater is as fresh as the last fetch, and a partition not
read yet counts as 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .transport import last_read_offsets

__all__ = ["ConsumerLag", "unread"]

log = logging.getLogger(__name__)


def unread(consumer: Any, topics: Iterable[str]) -> dict[str, int] | None:
    """Messages of ``topics`` assigned to this worker and not read yet, per topic; None if the
    consumer cannot tell now (not started, or mid-rebalance)."""
    per_topic = dict.fromkeys(topics, 0)
    try:
        read = last_read_offsets(consumer)
        for tp in consumer.assignment():
            if tp.topic in per_topic:
                highwater, last = consumer.highwater(tp), read.get(tp)
                if highwater is not None and last is not None:
                    per_topic[tp.topic] += max(0, int(highwater) - (int(last) + 1))
    except Exception:
        log.debug("consumer lag unavailable", exc_info=True)
        return None
    return per_topic


class ConsumerLag(Collector):
    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = tuple(topics)
        self.latest: dict[str, int] = dict.fromkeys(self.topics, 0)

    def refresh(self, consumer: Any) -> None:
        per_topic = unread(consumer, self.topics)
        if per_topic is not None:  # else keep the previous figures
            self.latest = per_topic

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for topic, lag in self.latest.items():
            family.add_metric([topic], lag)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "citypulse_consumer_lag_messages",
            "Input messages not yet read by this worker (highwater minus position).",
            labels=["topic"],
        )
