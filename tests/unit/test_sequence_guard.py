"""A partition's events are processed in sequence from where its state ends: events from
further on (fetched around a seek) are refused and the partition sought back; a gap that is
really in the log is accepted once the seek brings it again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from citypulse.streams.stages.sequence_guard import GAP_SIGHTINGS, SequenceGuard


def test_events_in_sequence_are_admitted() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    assert g.admit([("a", 100), ("a", 101)], {"a": 100}.get) == ([True, True], {})


def test_redelivered_events_are_admitted_for_the_stage_to_skip() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    assert g.admit([("a", 90), ("a", 91), ("a", 100)], {"a": 100}.get) == ([True, True, True], {})


def test_an_event_from_beyond_is_refused_with_the_rest_of_its_partition_and_sought_back() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    verdicts, seek = g.admit(
        [("a", 2345), ("b", 50), ("a", 2346), ("b", 51), ("a", 1204)], {"a": 1204, "b": 50}.get
    )
    assert verdicts == [False, True, False, True, False]
    assert seek == {"a": 1204}
    # the events the seek brings
    assert g.admit([("a", 1204), ("a", 1205)], {"a": 1204}.get) == ([True, True], {})


def test_a_jump_in_the_middle_of_a_batch_is_refused_from_the_jump_on() -> None:
    """A worker taking over got its committed offsets up to its state's end, then events
    from well beyond: the ones up to the jump are processed, the partition sought back to
    where they end."""
    g: SequenceGuard[str] = SequenceGuard()
    events = [("a", 1760), ("a", 1828), ("a", 1829), ("a", 1830), ("a", 1976), ("a", 1977)]
    verdicts, seek = g.admit(events, {"a": 1829}.get)
    assert verdicts == [True, True, True, True, False, False]
    assert seek == {"a": 1831}


def test_a_gap_really_in_the_log_is_accepted_when_the_seek_brings_it_the_third_time() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    assert g.admit([("a", 11)], {"a": 10}.get) == ([False], {"a": 10})  # 10: a marker
    assert g.admit([("a", 11)], {"a": 10}.get) == ([False], {"a": 10})
    assert g.admit([("a", 11), ("a", 12)], {"a": 10}.get) == ([True, True], {})
    assert g.admit([("a", 14)], {"a": 13}.get) == ([False], {"a": 13})  # a new gap: refused


def test_a_second_copy_of_an_offset_in_one_batch_is_refused_without_a_seek() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    assert g.admit([("a", 5), ("a", 6), ("a", 5), ("a", 7)], {"a": 5}.get) == (
        [True, True, False, True],
        {},
    )


def test_partitions_the_stage_does_not_hold_are_refused_without_a_seek() -> None:
    """Fetched before their partition was revoked: whoever holds it next reads it again."""
    g: SequenceGuard[str] = SequenceGuard()
    assert g.admit([("z", 999), ("a", 5), ("z", 1000)], {"a": 5}.get) == ([False, True, False], {})


def test_a_revoke_forgets_the_refused_offsets() -> None:
    g: SequenceGuard[str] = SequenceGuard()
    g.admit([("a", 11)], {"a": 10}.get)
    g.admit([("a", 11)], {"a": 10}.get)
    g.revoke()
    assert g.admit([("a", 11)], {"a": 10}.get) == ([False], {"a": 10})


@given(
    start=st.integers(0, 40),
    deliveries=st.lists(st.lists(st.integers(0, 80), max_size=8), max_size=12),
)
def test_a_hole_opens_only_where_the_same_offset_came_back_first_three_times(
    start: int, deliveries: list[list[int]]
) -> None:
    """Whatever the deliveries: the offsets admitted beyond what is expected are the expected
    one, or one that was refused first in the previous GAP_SIGHTINGS - 1 batches in a row."""
    g: SequenceGuard[str] = SequenceGuard()
    expected = start
    firsts_refused: list[int] = []  # the first refused offset of each batch, in a row
    for batch in deliveries:
        verdicts, seek = g.admit([("a", o) for o in batch], {"a": expected}.get)
        advanced = False
        for offset, admitted in zip(batch, verdicts, strict=True):
            if admitted and offset >= expected:
                if offset != expected:
                    assert firsts_refused[-(GAP_SIGHTINGS - 1) :] == [offset] * (GAP_SIGHTINGS - 1)
                expected = offset + 1
                advanced = True
        if advanced:  # redelivered events alone do not interrupt a run of sightings
            firsts_refused.clear()
        if seek:
            firsts_refused.append(
                next(o for o, ok in zip(batch, verdicts, strict=True) if not ok and o >= expected)
            )
