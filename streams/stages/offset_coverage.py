"""Which offsets of a changelog partition a table has applied: what says whether table
recovery read a changelog whole.

Faust's recovery reads a changelog partition from where it last stopped to the end, and a
rebalance can interrupt it. A chaos run showed it can then go on from a position past records
it never applied: after one such recovery the rows written at offsets 5,938 to 8,411 (at
most) of one changelog partition were missing, and the events they recorded were applied
again against rows that did not know them (docs/chaos.md, finding 17). So the tables
note every changelog offset they apply, and the worker reads what is missing before it adopts
a partition's state (streams/faust_adapter/changelog_repair.py).

An offset counts as covered once its record was applied, or once a read of a range found that
no record exists there (a compacted Kafka changelog has such holes; the embedded broker never
compacts). Records arrive almost always in order, so the common case costs one comparison.
"""

from __future__ import annotations

import bisect

__all__ = ["OffsetCoverage"]


class OffsetCoverage:
    """A set of offsets, as sorted disjoint ``[start, stop)`` ranges."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._stops: list[int] = []

    def add(self, offset: int) -> None:
        """Cover one offset (a record applied)."""
        if self._stops and self._starts[-1] <= offset <= self._stops[-1]:
            if offset == self._stops[-1]:
                self._stops[-1] += 1  # the next record, as nearly always
            return
        self.cover(offset, offset + 1)

    def cover(self, start: int, stop: int) -> None:
        """Cover ``[start, stop)`` (read whole: its records applied, the rest do not exist)."""
        if stop <= start:
            return
        # the ranges that touch or overlap [start, stop) merge with it
        first = bisect.bisect_left(self._stops, start)
        last = bisect.bisect_right(self._starts, stop)
        if first < last:
            start = min(start, self._starts[first])
            stop = max(stop, self._stops[last - 1])
        self._starts[first:last] = [start]
        self._stops[first:last] = [stop]

    def missing(self, start: int, stop: int) -> list[tuple[int, int]]:
        """The ranges of ``[start, stop)`` not covered."""
        gaps = []
        at = start
        i = bisect.bisect_right(self._stops, start)
        while at < stop and i < len(self._starts):
            if self._starts[i] > at:
                gaps.append((at, min(self._starts[i], stop)))
            at = max(at, self._stops[i])
            i += 1
        if at < stop:
            gaps.append((at, stop))
        return gaps

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._stops, strict=True))
