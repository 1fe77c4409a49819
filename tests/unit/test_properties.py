"""Properties of the KPI core over generated lifecycles and arrival orders (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from citypulse.schemas import Event
from citypulse.streams.kpi import KpiConfig, KpiEngine
from tests.support.compare import engine_for, first_difference, oracle_for
from tests.support.events import ICT, document, dossier

BASE = datetime(2026, 3, 2, 6, 0, tzinfo=ICT)
CONFIG = KpiConfig(allowed_lateness=3600, retention=3600)
LATENESS_MIN = 60


def _at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


@st.composite
def dossier_lifecycle(draw: st.DrawFn, n: int, with_submission: bool = True) -> list[Event]:
    d = f"D{n}"
    where = {
        "agency": draw(st.sampled_from(["STP", "SXD", "UBND.HUE"])),
        "province": draw(st.sampled_from(["TTH", "HYN"])),
    }
    t = draw(st.integers(0, 3 * 24 * 60))
    events = []
    if with_submission:
        events.append(dossier("submitted", d, _at(t), channel=draw(st.sampled_from(["online", "counter", "postal"])),
                              service_level=draw(st.sampled_from(["full_process", "partial", "offline"])), **where))  # fmt: skip
    stage = draw(
        st.sampled_from(
            [
                "open",
                "accepted",
                "resolved",
                "resolved_unaccepted",
                "withdrawn",
                "returned",
                "rated",
            ]
        )
    )
    if stage == "open":
        return events
    if stage == "withdrawn":
        return [*events, dossier("withdrawn", d, _at(t + draw(st.integers(0, 600))), **where)]
    if stage != "resolved_unaccepted":
        t += draw(st.integers(0, 120))
        due = t + draw(st.integers(60, 5 * 24 * 60))
        events.append(dossier("accepted", d, _at(t), due_at=_at(due), **where))
    if stage == "accepted":
        return events
    for _ in range(draw(st.integers(0, 2))):
        t += draw(st.integers(0, 600))
        events.append(dossier("supplement_requested", d, _at(t), **where))
    t += draw(st.integers(0, 7 * 24 * 60))
    events.append(
        dossier(
            "resolved", d, _at(t), outcome=draw(st.sampled_from(["approved", "rejected"])), **where
        )
    )
    if stage in ("returned", "rated"):
        t += draw(st.integers(0, 3000))
        events.append(
            dossier(
                "result_returned",
                d,
                _at(t),
                delivery=draw(st.sampled_from(["online", "postal", "counter"])),
                **where,
            )
        )
    if stage == "rated":
        t += draw(st.integers(0, 3000))
        events.append(dossier("rated", d, _at(t), score=draw(st.integers(1, 5)), **where))
    return events


@st.composite
def document_lifecycle(draw: st.DrawFn, n: int) -> list[Event]:
    v = f"V{n}"
    where = {"agency": draw(st.sampled_from(["STP", "VPUBND"])), "province": "TTH"}
    t = draw(st.integers(0, 3 * 24 * 60))
    events = [
        document(
            "sent",
            v,
            _at(t),
            format=draw(st.sampled_from(["electronic", "paper"])),
            signed=draw(st.booleans()),
            **where,
        )
    ]
    if draw(st.booleans()):
        events.append(document("received", v, _at(t + draw(st.integers(0, 3 * 24 * 60))), **where))
    return events


@st.composite
def histories(draw: st.DrawFn, with_submission: bool = True) -> list[list[Event]]:
    dossiers = draw(st.integers(1, 8))
    documents = draw(st.integers(0, 5))
    lives = [
        draw(dossier_lifecycle(i, with_submission or draw(st.booleans()))) for i in range(dossiers)
    ]
    lives += [draw(document_lifecycle(i)) for i in range(documents)]
    return [life for life in lives if life]


def in_event_time(lives: list[list[Event]]) -> list[Event]:
    return sorted((e for life in lives for e in life), key=lambda e: e.occurred_at)


@st.composite
def within_lateness(draw: st.DrawFn, lives: list[list[Event]]) -> list[Event]:
    """An arrival order in which every event is displaced by less than the lateness."""
    events = [e for life in lives for e in life]
    jitter = [draw(st.integers(0, LATENESS_MIN * 60 - 1)) for _ in events]
    order = sorted(range(len(events)), key=lambda i: events[i].occurred_at.timestamp() + jitter[i])
    return [events[i] for i in order]


def kpis(events: list[Event], config: KpiConfig = CONFIG) -> dict[str, Any]:
    return engine_for(events, config)


@given(st.data())
def test_order_within_the_lateness_does_not_change_any_kpi(data: st.DataObject) -> None:
    lives = data.draw(histories())
    shuffled = data.draw(within_lateness(lives))
    engine = KpiEngine(CONFIG)
    assert [engine.apply(e) for e in shuffled].count("late") == 0
    assert first_difference(kpis(shuffled), kpis(in_event_time(lives))) is None


@given(st.data())
def test_repeating_events_anywhere_after_the_original_is_idempotent(data: st.DataObject) -> None:
    lives = data.draw(histories())
    events = data.draw(within_lateness(lives))
    repeated = list(events)
    for _ in range(data.draw(st.integers(1, 10))):
        original = data.draw(st.integers(0, len(events) - 1))
        position = data.draw(st.integers(repeated.index(events[original]) + 1, len(repeated)))
        repeated.insert(position, events[original])
    assert first_difference(kpis(repeated), kpis(events)) is None


@given(st.data())
def test_conservation_received_is_open_plus_resolved_plus_withdrawn(data: st.DataObject) -> None:
    events = data.draw(within_lateness(data.draw(histories(with_submission=True))))
    engine = KpiEngine(CONFIG)
    for e in events:
        engine.apply(e)
    for snap in engine.report().agencies.values():
        resolved = sum(snap.resolved.values()) + snap.resolution_pending
        assert sum(snap.received.values()) == snap.open + resolved + snap.withdrawn


@given(st.data())
def test_every_rate_and_the_index_lie_within_zero_and_one(data: st.DataObject) -> None:
    events = data.draw(
        st.permutations([e for life in data.draw(histories(with_submission=False)) for e in life])
    )
    engine = KpiEngine(CONFIG)
    for e in events:
        engine.apply(e)
    report = engine.report()
    for key, snap in [*report.agencies.items(), *report.provinces.items()]:
        values = [
            *snap.rates.values(),
            *snap.today_rates.values(),
            snap.digital_government_index(CONFIG.index_weights),
        ]
        assert all(v is None or 0.0 <= v <= 1.0 for v in values), key


@given(
    dues=st.lists(st.integers(0, 10 * 24 * 60), min_size=1, max_size=20),
    steps=st.lists(st.integers(0, 24 * 60), min_size=1, max_size=20),
)
def test_overdue_never_decreases_as_stream_time_advances_over_fixed_open_dossiers(
    dues: list[int], steps: list[int]
) -> None:
    engine = KpiEngine(CONFIG)
    for i, due in enumerate(dues):
        engine.apply(dossier("submitted", f"D{i}", _at(0)))
        engine.apply(dossier("accepted", f"D{i}", _at(0), due_at=_at(due)))
    now, previous = 0, 0
    for step in steps:
        now += step
        engine.advance_to(_at(now).timestamp())
        overdue = engine.report().agencies[("TTH", "STP")].overdue
        assert overdue >= previous
        assert overdue == sum(1 for due in dues if now > due)
        previous = overdue


@given(st.data())
def test_the_engine_agrees_with_the_oracle_under_any_arrival_order(data: st.DataObject) -> None:
    lives = data.draw(histories(with_submission=False))
    events = data.draw(st.permutations([e for life in lives for e in life]))
    difference = first_difference(kpis(events), oracle_for(events, CONFIG))
    assert difference is None, difference
