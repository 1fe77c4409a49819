"""When a member takes over the leader its joins keep being answered with (group_wedge.py)."""

from __future__ import annotations

from citypulse.streams.faust_adapter.group_wedge import DepartedLeaderWatch, takeover_lock_topic


def test_the_same_other_leader_of_the_same_generation_for_the_bound_is_taken_over() -> None:
    watch = DepartedLeaderWatch(bound=30)
    assert not watch.answered(4, "gone", "me", now=100)
    assert not watch.answered(4, "gone", "me", now=113)
    assert watch.answered(4, "gone", "me", now=130)


def test_a_new_generation_or_leader_starts_the_wait_again() -> None:
    watch = DepartedLeaderWatch(bound=30)
    watch.answered(4, "gone", "me", now=100)
    assert not watch.answered(5, "gone", "me", now=131)  # the group moved on
    assert not watch.answered(5, "other", "me", now=162)
    assert watch.answered(5, "other", "me", now=192)


def test_a_member_never_takes_itself_or_nobody_over() -> None:
    watch = DepartedLeaderWatch(bound=30)
    for now in (100, 200, 300):
        assert not watch.answered(4, "me", "me", now=now)
        assert not watch.answered(4, "", "me", now=now)


def test_the_bound_outlasts_a_silent_live_leader() -> None:
    """A leader that stops heartbeating is expelled after one session timeout."""
    assert DepartedLeaderWatch.for_session(10).bound == 30
    assert DepartedLeaderWatch.for_session(45).bound == 135
    assert DepartedLeaderWatch.for_session(2).bound == 30


def test_the_lock_is_named_after_the_generation_and_the_departed_leader() -> None:
    assert (
        takeover_lock_topic("citypulse", 4, "faust-0.15.3-2fe3")
        == "citypulse-__takeover-g4-faust-0.15.3-2fe3"
    )
