"""Event time, lateness, duplicates, release of finished state (CONTRACT §4)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from citypulse.schemas import load_reference
from citypulse.streams.kpi import OTHER, KpiConfig, KpiEngine
from tests.support.events import ICT, document, dossier, ts

STP = ("TTH", "STP")


def fold(engine: KpiEngine, *events: object) -> list[str]:
    return [engine.apply(e) for e in events]  # type: ignore[arg-type]


def test_stream_time_is_the_largest_occurred_at_seen() -> None:
    engine = KpiEngine()
    fold(
        engine,
        dossier("submitted", "D1", "2026-03-02 08:00"),
        dossier("submitted", "D2", "2026-03-02 07:30"),
    )
    assert engine.stream_time == ts("2026-03-02 08:00")


def test_an_event_older_than_the_lateness_is_late_and_not_applied() -> None:
    engine = KpiEngine(KpiConfig(allowed_lateness=3600))
    outcomes = fold(
        engine,
        dossier("submitted", "D1", "2026-03-02 10:00"),
        dossier("submitted", "D2", "2026-03-02 09:00"),  # exactly at the limit: in time
        dossier("submitted", "D3", "2026-03-02 08:59"),  # older: late
    )
    assert outcomes == ["applied", "applied", "late"]
    assert engine.report().agencies[STP].received == {"online/full_process": 2}


def test_a_repeated_event_id_counts_once() -> None:
    engine = KpiEngine()
    event = dossier("submitted", "D1", "2026-03-02 08:00")
    assert fold(engine, event, event, event) == ["applied", "duplicate", "duplicate"]
    assert engine.report().agencies[STP].received == {"online/full_process": 1}


def test_resolution_before_acceptance_within_the_lateness_equals_in_order() -> None:
    sub = dossier("submitted", "D1", "2026-03-02 08:00")
    acc = dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-02 17:00")
    res = dossier("resolved", "D1", "2026-03-02 08:40")
    in_order, disordered = KpiEngine(), KpiEngine()
    fold(in_order, sub, acc, res)
    fold(disordered, res, sub, acc)
    assert in_order.report().to_dict() == disordered.report().to_dict()
    assert disordered.report().agencies[STP].resolved == {"approved/on_time": 1}


def test_overdue_moves_with_stream_time_without_any_event_for_the_dossier() -> None:
    engine = KpiEngine()
    fold(engine, dossier("submitted", "D1", "2026-03-02 08:00"),
         dossier("accepted", "D1", "2026-03-02 08:05", due_at="2026-03-02 17:00"))  # fmt: skip
    assert engine.report().agencies[STP].overdue == 0
    engine.advance_to(ts("2026-03-02 17:01"))
    assert engine.report().agencies[STP].overdue == 1
    fold(engine, document("sent", "V1", "2026-03-03 08:00", agency="SNV"))
    assert engine.report().agencies[STP].overdue == 1


def test_todays_gauges_roll_over_at_local_midnight() -> None:
    engine = KpiEngine()
    fold(engine, dossier("submitted", "D1", "2026-03-02 23:50"))
    assert engine.report().agencies[STP].today["received"] == 1
    engine.advance_to(ts("2026-03-03 00:00"))  # 17:00 UTC: midnight in Hue
    report = engine.report()
    assert report.day == "2026-03-03"
    assert report.agencies[STP].today["received"] == 0
    assert report.agencies[STP].received == {"online/full_process": 1}  # totals stay


def test_a_late_arrival_from_yesterday_counts_in_totals_but_not_in_today() -> None:
    engine = KpiEngine()
    fold(
        engine,
        dossier("submitted", "D1", "2026-03-03 00:10"),
        dossier("submitted", "D0", "2026-03-02 23:30"),
    )
    snap = engine.report().agencies[STP]
    assert snap.today["received"] == 1
    assert sum(snap.received.values()) == 2


def test_finished_entities_are_released_after_the_retention_and_open_ones_are_kept() -> None:
    engine = KpiEngine(KpiConfig(allowed_lateness=3600, retention=7200))
    fold(
        engine,
        dossier("submitted", "DONE", "2026-03-02 08:00"),
        dossier("resolved", "DONE", "2026-03-02 09:00"),
        dossier("submitted", "OPEN", "2026-03-02 08:00"),
        document("sent", "V1", "2026-03-02 08:00"),
        document("received", "V1", "2026-03-02 09:00"),
        document("sent", "V2", "2026-03-02 08:00"),
    )
    engine.advance_to(ts("2026-03-02 11:00"))  # exactly the retention after the last events
    assert set(engine.dossiers) == {"DONE", "OPEN"}
    assert set(engine.documents) == {"V1", "V2"}
    engine.advance_to(ts("2026-03-02 11:01"))
    assert set(engine.dossiers) == {"OPEN"}
    assert set(engine.documents) == {"V2"}


def test_a_repeat_after_release_is_late_never_applied_twice() -> None:
    engine = KpiEngine()
    sent = document("sent", "V1", "2026-03-02 08:00")
    fold(engine, sent, document("received", "V1", "2026-03-02 08:30"))
    engine.advance_to(ts("2026-03-02 10:00"))
    assert "V1" not in engine.documents
    assert fold(engine, sent) == ["late"]
    assert engine.report().agencies[STP].documents_sent == {"electronic/true": 1}


def test_memory_grows_with_what_is_in_progress_not_with_history() -> None:
    engine = KpiEngine()
    start = datetime(2026, 3, 2, 8, tzinfo=ICT)
    for day in range(30):
        for n in range(100):
            when = start + timedelta(days=day, minutes=n)
            d = f"D{day}-{n}"
            fold(
                engine,
                dossier("submitted", d, when),
                dossier("resolved", d, when + timedelta(minutes=1)),
            )
    fold(engine, dossier("submitted", "STILL-OPEN", start + timedelta(days=30)))
    engine.advance_to((start + timedelta(days=30, hours=3)).timestamp())
    assert len(engine.dossiers) == 1  # 3,000 finished dossiers released, the open one kept
    assert sum(engine.report().agencies[STP].received.values()) == 3001


def test_a_dossier_whose_submission_was_late_keeps_its_acceptance_until_closed() -> None:
    engine = KpiEngine()
    fold(
        engine,
        dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-06 17:00"),
        document("sent", "V1", "2026-03-02 10:00", agency="SNV"),
        dossier("submitted", "D1", "2026-03-02 08:00"),  # late: dropped
        document("sent", "V2", "2026-03-04 10:00", agency="SNV"),  # two days on
        dossier("resolved", "D1", "2026-03-04 10:00"),
    )
    assert engine.report().agencies[STP].resolved == {"approved/on_time": 1}


def test_a_second_different_event_for_a_once_only_step_is_a_conflict() -> None:
    engine = KpiEngine()
    outcomes = fold(
        engine,
        dossier("submitted", "D1", "2026-03-02 08:00", channel="online"),
        dossier("submitted", "D1", "2026-03-02 08:01", channel="counter"),
        dossier("resolved", "D1", "2026-03-02 09:00"),
        dossier("withdrawn", "D1", "2026-03-02 09:05"),
        dossier("supplement_requested", "D1", "2026-03-02 09:06"),
        dossier("supplement_requested", "D1", "2026-03-02 09:07"),
    )
    assert outcomes == ["applied", "conflict", "applied", "conflict", "applied", "applied"]
    assert engine.report().agencies[STP].received == {"online/full_process": 1}


def test_a_dossier_counts_under_the_agency_of_its_submission() -> None:
    """From its submission on: a step applied before it (here the acceptance, counted for the
    digitisation rate) stays counted under the agency known then (docs/kpis.md)."""
    engine = KpiEngine()
    fold(engine, dossier("accepted", "D1", "2026-03-02 08:10", due_at="2026-03-02 17:00", agency="SXD"),
         dossier("submitted", "D1", "2026-03-02 08:00", agency="STP"))  # fmt: skip
    report = engine.report()
    assert report.agencies[STP].open == 1
    assert report.agencies[STP].due_soon == 1
    sxd = report.agencies[("TTH", "SXD")]
    assert (sxd.open, sxd.received, sxd.due_soon, sxd.accepted) == (0, {}, 0, {"false": 1})


def test_unknown_agencies_are_counted_until_the_bound_then_reported_as_other() -> None:
    known = KpiConfig.from_reference(load_reference()).known_agencies
    engine = KpiEngine(KpiConfig(known_agencies=known, max_agencies=len(known) + 2))
    for i, agency in enumerate(["NEW1", "NEW2", "NEW3", "NEW4", "STP"]):
        fold(engine, dossier("submitted", f"D{i}", "2026-03-02 08:00", agency=agency))
    fold(engine, dossier("submitted", "X", "2026-03-02 08:00", agency="NEW9", province="ZZZ"))
    agencies = set(engine.report().agencies)
    assert {("TTH", "NEW1"), ("TTH", "NEW2"), ("TTH", OTHER), STP} <= agencies
    assert ("TTH", "NEW3") not in agencies
    assert (OTHER, OTHER) in agencies
    assert sum(engine.report().agencies[("TTH", OTHER)].received.values()) == 2


def test_retention_shorter_than_the_lateness_is_refused() -> None:
    with pytest.raises(ValueError, match="retention"):
        KpiConfig(allowed_lateness=3600, retention=60)


def test_an_event_that_releases_its_own_entity_still_has_its_repeat_recognised() -> None:
    """Regression (found by hypothesis): the event that advances stream time past its own
    entity's retention was applied to the released record, so its id was forgotten."""
    engine = KpiEngine(KpiConfig(allowed_lateness=3600, retention=3600))
    returned = dossier("result_returned", "D1", "2026-03-02 07:01")
    fold(
        engine,
        dossier("submitted", "D1", "2026-03-02 06:00"),
        dossier("resolved", "D1", "2026-03-02 06:00"),
    )
    assert fold(engine, returned, returned) == ["applied", "duplicate"]
    assert engine.report().agencies[STP].results_returned == {"online": 1}
