"""The engine against the reference oracle on large simulated streams with faults injected."""

from __future__ import annotations

from collections import Counter

import pytest

from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DecodeError, Event, decode, load_reference
from citypulse.streams.kpi import Intake, KpiConfig, KpiEngine
from tests.support.compare import first_difference, normalised, oracle_for

REF = load_reference()
CONFIG = KpiConfig.from_reference(REF)
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)
N = 50_000


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_kpi_equals_the_oracle_on_50k_events_with_faults(seed: int) -> None:
    messages = Simulator(REF, SimulationConfig(seed=seed, faults=FAULTS)).take(N)
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
    assert len(engine_kpis["agencies"]) == len(REF.agencies)

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
    province = engine_kpis["provinces"]["TTH"]
    assert province["overdue"] > 0
    assert province["due_soon"] > 0
    assert province["undelivered"] > 0
    assert province["resolved"].get("approved/late", 0) > 0


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
