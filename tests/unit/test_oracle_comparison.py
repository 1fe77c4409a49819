"""The engine against the reference oracle on large simulated streams with faults injected:
several provinces whose agencies share codes, across a month boundary (CONTRACT v1.1)."""

from __future__ import annotations

from collections import Counter

import pytest

from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DecodeError, Event, decode, load_reference
from citypulse.schemas.reference import SHIPPED, load_references
from citypulse.streams.kpi import Intake, KpiConfig, KpiEngine
from tests.support.compare import first_difference, normalised, oracle_for

REF = load_reference()
CONFIG = KpiConfig.from_references(load_references())
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)
N = 50_000
#: Tuesday 31 March: every stream below reaches 1 April
MONTH_END = SimulationConfig().start.replace(day=31)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "provinces"), [(1, ("TTH", "HYN")), (2, ("QNH", "AGG")), (3, SHIPPED)]
)
def test_every_kpi_equals_the_oracle_on_50k_events_with_faults(
    seed: int, provinces: tuple[str, ...]
) -> None:
    references = load_references(provinces)
    simulation = SimulationConfig(seed=seed, start=MONTH_END, faults=FAULTS)
    messages = Simulator(references, simulation).take(N)
    intake = Intake(KpiEngine(CONFIG))
    events: list[Event] = []
    for m in messages:
        intake.feed(m.topic, m.value)
        event = decode(m.topic, m.value)
        if not isinstance(event, DecodeError):
            events.append(event)

    engine_kpis = normalised(intake.engine.report().to_dict())
    oracle_kpis = oracle_for(events, CONFIG)
    assert first_difference(engine_kpis, oracle_kpis) is None, first_difference(
        engine_kpis, oracle_kpis
    )
    assert len(engine_kpis["agencies"]) == sum(len(r.agencies) for r in references)

    # every injected fault was seen for what it is
    faults = Counter(m.fault for m in messages)
    stats = intake.stats
    assert sum(stats.duplicate.values()) == faults["duplicate"] > 0
    assert sum(stats.late.values()) == faults["late"] > 0
    for reason in ("invalid_json", "invalid_schema", "unknown_event_type"):
        assert sum(n for (_, r), n in stats.invalid.items() if r == reason) == faults[reason] > 0
    assert faults["disorder"] > 0
    assert faults["pii"] > 0
    assert sum(stats.conflict.values()) == 0
    # the stream exercised the subtle paths, not only the easy ones
    assert engine_kpis["day"].startswith("2026-04")  # the month began inside the stream
    for province in engine_kpis["provinces"].values():
        assert province["overdue"] > 0
        assert province["due_soon"] > 0
        assert province["undelivered"] > 0
        assert province["resolved"].get("approved/late", 0) > 0
        assert 0 < province["month"]["received"] < sum(province["received"].values())
        assert {"transparency", "progress", "online", "total"} <= set(
            province["service_index"]["month"]
        )


def test_the_comparison_notices_a_single_missing_event() -> None:
    messages = Simulator(REF, SimulationConfig(seed=1)).take(5000)
    events = [e for m in messages if not isinstance(e := decode(m.topic, m.value), DecodeError)]
    engine = KpiEngine(CONFIG)
    submitted = next(i for i, e in enumerate(events) if e.event_type == "dossier.submitted")
    for e in events[:submitted] + events[submitted + 1 :]:
        engine.apply(e)
    assert (
        first_difference(normalised(engine.report().to_dict()), oracle_for(events, CONFIG))
        is not None
    )
