"""Consumer lag per input topic, from what the consumer already knows."""

from __future__ import annotations

from dataclasses import dataclass, field

from citypulse.streams.faust_adapter.lag import ConsumerLag


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class Consumer:
    highwaters: dict[TP, int | None]
    _read_offset: dict[TP, int | None] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp]


def test_lag_is_highwater_minus_the_next_offset_summed_per_input_topic() -> None:
    lag = ConsumerLag(["d", "e"])
    consumer = Consumer(
        {TP("d", 0): 100, TP("d", 1): 50, TP("e", 0): None, TP("facts", 0): 999},
        {TP("d", 0): 89, TP("d", 1): 49, TP("e", 0): 3},
    )
    lag.refresh(consumer)
    assert lag.latest == {"d": 10, "e": 0}  # e: no fetch yet; facts: not an input topic
    [family] = list(lag.collect())
    assert {s.labels["topic"]: s.value for s in family.samples} == {"d": 10, "e": 0}


def test_a_consumer_that_is_not_ready_keeps_the_previous_figures() -> None:
    lag = ConsumerLag(["d"])
    lag.refresh(Consumer({TP("d", 0): 10}, {TP("d", 0): 4}))

    class NotStarted:
        def assignment(self) -> set[TP]:
            raise RuntimeError("consumer not started")

    lag.refresh(NotStarted())
    assert lag.latest == {"d": 5}
