"""What a table applied of a changelog partition: the ranges recovery skipped are exactly the
offsets neither applied nor read whole, whatever the order they came in."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from citypulse.streams.stages.offset_coverage import OffsetCoverage


def test_records_read_in_order_leave_nothing_missing() -> None:
    c = OffsetCoverage()
    for offset in range(100):
        c.add(offset)
    assert c.missing(0, 100) == []
    assert c.ranges() == [(0, 100)]


def test_a_recovery_that_went_on_past_records_it_never_applied_leaves_them_missing() -> None:
    c = OffsetCoverage()
    for offset in [*range(0, 5938), *range(8412, 8895)]:
        c.add(offset)
    assert c.missing(0, 8895) == [(5938, 8412)]
    assert c.missing(0, 9000) == [(5938, 8412), (8895, 9000)]  # and what it never reached


def test_what_is_not_read_from_the_first_offset_on_is_missing() -> None:
    c = OffsetCoverage()
    for offset in range(10, 20):
        c.add(offset)
    assert c.missing(0, 20) == [(0, 10)]
    assert c.missing(12, 20) == []  # a log that starts later (retention) misses nothing


def test_a_range_read_whole_covers_its_holes() -> None:
    c = OffsetCoverage()
    for offset in (0, 1, 5, 9):  # a compacted log: records 2-4 and 6-8 are gone
        c.add(offset)
    assert c.missing(0, 10) == [(2, 5), (6, 9)]
    c.cover(2, 5)
    c.cover(6, 9)
    assert c.missing(0, 10) == []
    assert c.ranges() == [(0, 10)]


@given(
    applied=st.lists(st.integers(0, 200), max_size=80),
    read_whole=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 40)), max_size=6),
    window=st.tuples(st.integers(0, 220), st.integers(0, 220)),
)
def test_missing_is_the_window_less_what_was_applied_or_read_whole(
    applied: list[int], read_whole: list[tuple[int, int]], window: tuple[int, int]
) -> None:
    c = OffsetCoverage()
    covered: set[int] = set()
    for offset in applied:
        c.add(offset)
        covered.add(offset)
    for start, length in read_whole:
        c.cover(start, start + length)
        covered.update(range(start, start + length))
    start, stop = min(window), max(window)
    missing = c.missing(start, stop)
    as_set = {o for a, b in missing for o in range(a, b)}
    assert as_set == set(range(start, stop)) - covered
    # as few ranges as can be: sorted, disjoint and not touching
    assert all(a < b for a, b in missing)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(missing))
    ranges = c.ranges()
    assert {o for a, b in ranges for o in range(a, b)} == covered
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(ranges))
