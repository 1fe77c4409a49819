"""The worker's split, in pure code: one recording engine per input partition (entity stage),
facts applied to one book per agency (agency stage). Must equal the oracle exactly."""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from datetime import datetime

import pytest

from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DecodeError, Event, decode, load_reference
from citypulse.schemas.document import DocumentEventBase
from citypulse.schemas.reference import SHIPPED, load_references
from citypulse.streams.kpi import (
    AgencyBook,
    Fact,
    KpiConfig,
    KpiEngine,
    PartitionedKpis,
    build_report,
    decode_fact,
    encode_fact,
)
from citypulse.streams.kpi.facts import Delivered, DueAdded, DueRemoved
from tests.support.compare import first_difference, normalised, oracle_for

REF = load_reference()
CONFIG = KpiConfig.from_references(load_references())
PARTITIONS = 4


def stream_of(event: Event) -> str:
    entity = event.document_id if isinstance(event, DocumentEventBase) else event.dossier_id
    topic = "documents" if isinstance(event, DocumentEventBase) else "dossiers"
    return f"{topic}:{zlib.crc32(entity.encode()) % PARTITIONS}"


MONDAY = SimulationConfig().start
MONTH_END = MONDAY.replace(day=31)  # Tuesday 31 March: every stream below reaches 1 April


@pytest.mark.parametrize(
    ("seed", "provinces", "start", "count"),
    [
        (4, ("TTH",), MONDAY, 30_000),
        # provinces sharing agency codes, a month boundary inside the stream (the engine
        # against the oracle on three such streams of 50,000: test_oracle_comparison.py)
        (5, SHIPPED, MONTH_END, 30_000),
    ],
)
def test_entity_stage_per_partition_plus_agency_stage_equals_the_oracle(
    seed: int, provinces: tuple[str, ...], start: datetime, count: int
) -> None:
    faults = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01)
    simulation = SimulationConfig(seed=seed, start=start, faults=faults)
    messages = Simulator(load_references(provinces), simulation).take(count)
    events = [e for m in messages if not isinstance(e := decode(m.topic, m.value), DecodeError)]

    facts_by_stream: dict[str, list[Fact]] = defaultdict(list)
    engines: dict[str, KpiEngine] = {}
    for e in events:
        stream = stream_of(e)
        if stream not in engines:
            engines[stream] = KpiEngine(CONFIG, emit=facts_by_stream[stream].append)
        engines[stream].apply(e)

    mismatched: list[str] = []
    book = AgencyBook(CONFIG, KpiEngine(CONFIG).days, on_mismatch=mismatched.append)
    for stream, facts in sorted(facts_by_stream.items(), reverse=True):  # any order of streams
        wire = json.loads(json.dumps([encode_fact(f) for f in facts]))  # as the worker sends them
        for fact in wire:
            book.apply(decode_fact(fact), stream)
    stream_times = {s: e.stream_time for s, e in engines.items() if e.stream_time is not None}
    book.settle(stream_times)
    report = build_report(book, max(stream_times.values()))

    got = normalised(report.to_dict())
    expected = oracle_for(events, CONFIG, stream_of=stream_of)
    assert first_difference(got, expected) is None, first_difference(got, expected)
    assert mismatched == []
    assert sorted(got["provinces"]) == sorted(provinces)
    for province in got["provinces"].values():
        assert set(province["service_index"]["month"]) >= {"transparency", "progress", "total"}
        if start == MONTH_END:  # the month began inside the stream: less than the totals
            assert report.day.startswith("2026-04")
            assert 0 < province["month"]["received"] < sum(province["received"].values())
    # the same department code in several provinces: one agency each, never merged
    departments = [k for k in got["agencies"] if k.endswith("/SKHDT")]
    assert len(departments) == len(provinces)


def test_an_engine_that_records_facts_has_no_report_of_its_own() -> None:
    facts: list[Fact] = []
    engine = KpiEngine(CONFIG, emit=facts.append)
    with pytest.raises(RuntimeError, match="records facts"):
        engine.report()


def test_removing_a_deadline_the_agency_does_not_hold_is_counted_not_raised() -> None:
    # a lost or repeated fact upstream: the other deadlines stay, the mismatch is counted
    seen: list[str] = []
    book = AgencyBook(CONFIG, KpiEngine(CONFIG).days, on_mismatch=seen.append)
    key = ("TTH", "STP")
    for due_at in (100.0, 200.0):
        book.apply(DueAdded(key, due_at))
    book.apply(DueRemoved(key, 150.0))  # bisect would point at 200.0
    book.apply(DueRemoved(key, 300.0))  # past the end
    book.apply(Delivered(key, 50.0, 10.0, awaited=True))  # never awaited
    assert book.get(("TTH", "STP")).open_due == [100.0, 200.0]
    assert seen == ["due_removed", "due_removed", "delivered"]
    book.apply(DueRemoved(key, 200.0))
    assert book.get(("TTH", "STP")).open_due == [100.0]
    assert book.get(("TTH", "STP")).delivery_buckets  # the delivery itself still counts


def test_partitioned_kpis_compute_what_the_worker_computes() -> None:
    # the same split, packaged for `citypulse verify`: equal to the oracle per partition
    faults = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01)
    messages = Simulator(REF, SimulationConfig(seed=6, faults=faults)).take(20_000)
    kpis = PartitionedKpis(CONFIG)
    events = []
    streams: dict[int, str] = {}
    for m in messages:
        partition = zlib.crc32(m.key) % PARTITIONS
        kpis.feed(m.topic, partition, m.value)
        if not isinstance(e := decode(m.topic, m.value), DecodeError):
            events.append(e)
            streams[id(e)] = f"{m.topic}:{partition}"
    got = normalised(kpis.report().to_dict())
    expected = oracle_for(events, CONFIG, stream_of=lambda e: streams[id(e)])
    assert first_difference(got, expected) is None, first_difference(got, expected)
    assert sum(kpis.stats().invalid.values()) == sum(
        m.fault in ("invalid_json", "invalid_schema", "unknown_event_type") for m in messages
    )
