"""A partition's events are processed in sequence, from where its state ends.

After a rebalance the worker seeks every adopted partition to where its state ends
(``transport._Consumer.perform_seek``). Faust can still hand over events fetched around that
seek from further on: chaos runs saw a back-pressured partition read during table recovery
(fixed at its source, ``transport``), a worker frozen past its session timeout get a whole
fetch from beyond its seek, and a worker taking over from a zombie get events from its
committed offset up to its state's end and then from well beyond it. Processed, such events
leave a hole, and the events that fill it later count as already handled: lost. So every
event must be the next one the stage expects, or an earlier one (redelivered: the stage
skips it); an event from further on is withheld, never committed, with the rest of its
partition's events in the batch, and the partition is sought back to the expected offset.

An event of a partition the stage does not hold is refused, without a seek: it was fetched
for a partition revoked since (a batch taken from its queue just before a revocation waits
for the stage's lock meanwhile), and whoever holds the partition next reads it from where its
state ends. Processed as if the partition had just been assigned, from wherever its batch
began, it left a hole (a chaos run with one worker woken from a freeze lost 3,000 events).

A gap that is really in the log (offsets a consumer never gets: transaction markers,
compacted records) comes back at the same offset after each seek; it is accepted the third
time (an early event fetched twice could come first twice; three times, only a real gap).

Pure: the worker says what each partition expects, and does the withholding and seeking.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["GAP_SIGHTINGS", "SequenceGuard"]

#: how many times in a row the same first offset must come back after a seek before it is
#: taken for a gap in the log
GAP_SIGHTINGS = 3

P = TypeVar("P", bound=Hashable)


class SequenceGuard(Generic[P]):
    def __init__(self) -> None:
        #: partitions sought back: the offset refused there (the first of its batch), and how
        #: many times in a row it was
        self._refused: dict[P, tuple[int, int]] = {}

    def revoke(self) -> None:
        self._refused.clear()

    def admit(
        self, events: Iterable[tuple[P, int]], expected: Callable[[P], int | None]
    ) -> tuple[list[bool], dict[P, int]]:
        """For events in delivery order, (partition, offset), and ``expected(partition)``,
        the next offset the stage expects (None: a partition it does not hold, refused
        without a seek): whether each event may be processed, and where to seek back the
        partitions whose events were refused. An offset admitted twice in one batch is
        refused the second time (no seek: its first copy is processed)."""
        verdicts: list[bool] = []
        start: dict[P, int | None] = {}  # what each partition expected at the batch's start
        following: dict[P, int] = {}  # the next offset after what was admitted in this batch
        refused: dict[P, int] = {}
        for partition, offset in events:
            if partition not in start:
                start[partition] = expected(partition)
            first = start[partition]
            if first is None:
                verdicts.append(False)
                continue
            if partition in refused:
                verdicts.append(False)
                continue
            following_offset = following.get(partition, first)
            if offset < following_offset:
                # redelivered from before the batch (the stage skips it), or a second copy of
                # an offset admitted in this batch (refused: processed once)
                verdicts.append(offset < first)
            elif offset == following_offset or self._gap_at(partition, offset):
                self._refused.pop(partition, None)
                following[partition] = offset + 1
                verdicts.append(True)
            else:
                refused[partition] = offset
                verdicts.append(False)
        for partition, offset in refused.items():
            previous, times = self._refused.get(partition, (None, 0))
            self._refused[partition] = (offset, times + 1 if previous == offset else 1)
        return verdicts, {p: following.get(p, start[p]) or 0 for p in refused}

    def _gap_at(self, partition: P, offset: int) -> bool:
        previous, times = self._refused.get(partition, (None, 0))
        return previous == offset and times >= GAP_SIGHTINGS - 1
