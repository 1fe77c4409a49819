"""After a rebalance, an adopted partition's events are processed only from where its state
resumes: events from further on (fetched before the seek there) are refused and the partition
sought back; a gap that is really in the log is accepted once it is seen again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from citypulse.streams.resume_guard import ResumeGuard


def guard(**resume: int) -> ResumeGuard[str]:
    g: ResumeGuard[str] = ResumeGuard()
    g.adopt(resume)
    return g


def test_events_from_where_the_state_resumes_are_admitted() -> None:
    g = guard(a=100)
    assert g.admit([("a", 100), ("a", 101)]) == ([True, True], {})
    assert g.awaited() == {}


def test_redelivered_events_before_the_resume_point_are_admitted_for_the_stage_to_skip() -> None:
    assert guard(a=100).admit([("a", 90), ("a", 91)]) == ([True, True], {})


def test_events_from_beyond_the_resume_point_are_refused_and_the_partition_sought_back() -> None:
    g = guard(a=1204, b=50)
    verdicts, seek = g.admit([("a", 2345), ("b", 50), ("a", 2346), ("b", 51)])
    assert verdicts == [False, True, False, True]
    assert seek == {"a": 1204}
    assert g.awaited() == {"a": 1204}
    # more of the early fetch: refused again; then the events the seek brings
    assert g.admit([("a", 2347)]) == ([False], {"a": 1204})
    assert g.admit([("a", 1204), ("a", 1205)]) == ([True, True], {})
    assert g.awaited() == {}


def test_a_gap_really_in_the_log_is_accepted_when_the_seek_brings_it_again() -> None:
    g = guard(a=10)  # offset 10 is a transaction marker: the log delivers 11 first
    assert g.admit([("a", 11)]) == ([False], {"a": 10})
    assert g.admit([("a", 11), ("a", 12)]) == ([True, True], {})


def test_partitions_not_adopted_in_this_rebalance_pass() -> None:
    assert guard(a=5).admit([("z", 999)]) == ([True], {})


def test_a_revoke_or_the_next_adoption_forgets_what_was_awaited() -> None:
    g = guard(a=5)
    g.revoke()
    assert g.admit([("a", 999)]) == ([True], {})
    g.adopt({"b": 7})
    assert g.admit([("a", 999), ("b", 9)]) == ([True, False], {"b": 7})


@given(
    resume=st.integers(0, 50),
    early=st.lists(st.integers(0, 200), max_size=30),
)
def test_nothing_beyond_the_resume_point_is_admitted_before_the_resume_point_itself(
    resume: int, early: list[int]
) -> None:
    """Whatever arrives first, one event per batch, the first admitted event is at or before
    the resume point, or the very offset refused in the batch before (a gap the log really
    has): no hole can open between the state and what is processed."""
    g = guard(a=resume)
    refused: int | None = None
    for offset in early:
        (admitted,), seek = g.admit([("a", offset)])
        if admitted:
            assert offset <= resume or offset == refused
            break
        assert seek == {"a": resume}
        refused = offset
