"""The service index (CONTRACT §8): the scoring table, the month period it is computed over,
and the province index from summed counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citypulse.schemas import load_reference
from citypulse.schemas.reference import PUBLISHED, Indicator, ScoringTable
from citypulse.streams.kpi import INDEX_KPIS, KpiConfig, KpiEngine
from citypulse.streams.kpi.service_index import TOTAL, service_index
from tests.support.events import dossier

TABLE = load_reference().scoring
#: every rate of the table at exactly its full marks
AT_FULL_MARKS = {i.rate: i.full_marks_at for i in TABLE.indicators}
PERFECT = dict.fromkeys(INDEX_KPIS, 1.0)


def test_the_shipped_table_is_the_contract_s() -> None:
    assert TABLE.groups == (
        ("transparency", 18.0), ("progress", 20.0), ("online", 22.0), ("digitization", 22.0),
        ("satisfaction", 18.0),
    )  # fmt: skip
    assert sum(most for _, most in TABLE.groups) == 100
    for group, most in TABLE.groups:
        assert sum(i.points for i in TABLE.indicators if i.group == group) == most


def test_a_perfect_agency_scores_100_and_each_group_its_max() -> None:
    points = service_index(PERFECT, 1.0, TABLE)
    assert points == pytest.approx({**dict(TABLE.groups), TOTAL: 100})


def test_full_marks_are_reached_at_the_threshold_and_not_raised_above() -> None:
    rates = {k: v for k, v in AT_FULL_MARKS.items() if k != PUBLISHED}
    assert service_index(rates, 1.0, TABLE)[TOTAL] == pytest.approx(100)
    assert service_index(PERFECT, 1.0, TABLE) == service_index(rates, 1.0, TABLE)


@given(st.floats(0.0, 1.0))
def test_below_the_threshold_an_indicator_scores_linearly(fraction: float) -> None:
    """Online submission (10 of the online group's 22 points, full marks at 0.5) at a
    fraction of its threshold, the group's other indicators perfect."""
    rates = {**PERFECT, "online_submission": 0.5 * fraction}
    points = service_index(rates, 1.0, TABLE)
    assert points["online"] == pytest.approx(22 * (10 * fraction + 6 + 6) / 22)
    assert points[TOTAL] == pytest.approx(100 - 10 * (1 - fraction))


def test_undefined_indicators_are_left_out_and_their_group_rescaled() -> None:
    """A commune with no payments is not punished for it: the online group is scored on
    its two other indicators."""
    rates = {**PERFECT, "online_payment": None, "online_submission": 0.25}  # half marks
    points = service_index(rates, 1.0, TABLE)
    assert points["online"] == pytest.approx(22 * (5 + 6) / 16)


def test_undefined_groups_are_left_out_and_the_total_rescaled() -> None:
    only_progress = {"on_time_resolution": 0.75}
    assert service_index(only_progress, None, TABLE) == pytest.approx({"progress": 15, TOTAL: 75})
    # no published share: no transparency group; the others as they are
    points = service_index(PERFECT, None, TABLE)
    assert "transparency" not in points
    assert points[TOTAL] == pytest.approx(100)
    assert service_index({}, None, TABLE) == {}


def test_the_published_share_is_the_transparency_group() -> None:
    assert service_index({}, 0.9, TABLE) == pytest.approx({"transparency": 16.2, TOTAL: 90})


def test_a_province_can_set_its_own_table() -> None:
    table = ScoringTable(
        (("progress", 60), ("transparency", 40)),
        (Indicator("progress", "on_time_resolution", 1, 0.9), Indicator("transparency", PUBLISHED, 1, 0.5)),
    )  # fmt: skip
    assert service_index({"on_time_resolution": 0.45}, 0.5, table) == pytest.approx(
        {"progress": 30, "transparency": 40, TOTAL: 70}
    )


def test_a_table_naming_a_rate_citypulse_does_not_compute_is_refused() -> None:
    table = ScoringTable((("online", 10),), (Indicator("online", "kiosk_share", 10, 1),))
    with pytest.raises(ValueError, match="kiosk_share"):
        KpiConfig(scoring=table)


# -- the month -------------------------------------------------------------------------------
CONFIG = KpiConfig.from_reference(load_reference())


def resolution(dossier_id: str, when: str, due: str) -> list[object]:
    return [
        dossier("submitted", dossier_id, when),
        dossier("accepted", dossier_id, when, due_at=due),
        dossier("resolved", dossier_id, when),
    ]


def test_the_month_counts_the_local_calendar_month_of_stream_time_and_rolls_over_on_the_1st() -> (
    None
):
    engine = KpiEngine(CONFIG)
    for e in [
        *resolution("D1", "2026-03-30 09:00", "2026-03-31 17:00"),  # on time
        *resolution("D2", "2026-03-31 10:00", "2026-03-31 09:00"),  # late
    ]:
        engine.apply(e)  # type: ignore[arg-type]
    march = engine.report().agencies[("TTH", "STP")]
    assert (march.month["resolved"], march.month["resolved_on_time"]) == (2, 1)
    assert march.service_index(TABLE)["month"]["progress"] == pytest.approx(10)
    # 00:30 on 1 April, local time (17:30 UTC on 31 March): a new month
    for e in resolution("D3", "2026-04-01 00:30", "2026-04-02 17:00"):
        engine.apply(e)  # type: ignore[arg-type]
    april = engine.report().agencies[("TTH", "STP")]
    assert (april.month["resolved"], april.month["resolved_on_time"]) == (1, 1)
    assert april.service_index(TABLE)["month"]["progress"] == pytest.approx(20)
    assert april.resolved == {"approved/on_time": 2, "approved/late": 1}  # totals go on


def test_an_agency_quiet_since_last_month_has_nothing_this_month() -> None:
    engine = KpiEngine(CONFIG)
    for e in [*resolution("D1", "2026-03-31 10:00", "2026-04-01 17:00"),
              *resolution("X", "2026-04-01 09:00", "2026-04-02 17:00")]:  # fmt: skip
        engine.apply(e)  # type: ignore[arg-type]
    engine.apply(dossier("submitted", "Y", "2026-04-01 09:05", agency="SXD"))
    stp = engine.report().agencies[("TTH", "STP")]
    assert stp.month["resolved"] == 1  # X only: D1 was March
