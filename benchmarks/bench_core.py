"""Benchmark of the pure core and the worker's stages, in process (figures printed, no asserts).

    .venv/bin/python benchmarks/bench_core.py [--events 100000] [--rounds 5]

Decoding is measured against the baseline ``json.loads`` of the same bytes, in the same run;
each figure is the median of ``--rounds`` runs on one core. (``json.loads`` then
``validate_python`` is not an option at all: in Python mode the strict models reject the
ISO 8601 strings that JSON mode parses, so bytes go straight into the models.)

The last row runs the worker's two stages (streams/stages/) on the same messages, in batches
of 500, with no broker and no Faust: rows, facts and watermarks are encoded and the facts
applied by the agency stage, as in the worker. It is the ceiling of what a worker on one
core could reach whatever Faust and the broker cost.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence

from citypulse.producers.faults import Message
from citypulse.producers.profile import SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import INPUT_TOPICS, DecodeError, Event, decode, load_reference
from citypulse.streams.kpi import Intake, KpiConfig, KpiEngine
from citypulse.streams.stages.agency import AgencyStage, FactsMessage
from citypulse.streams.stages.entity import EntityStage, InputMessage, Outputs

PARTITIONS = 4
BATCH = 500


def rate(n: int, run: Callable[[], object], rounds: int) -> float:
    """Median items per second of ``run`` over ``rounds`` runs."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return n / statistics.median(times)


def stages(config: KpiConfig, messages: Sequence[Message]) -> None:
    """Both stages over ``messages``: input batches of BATCH per topic, each batch's facts
    and watermarks applied by the agency stage before the next (every phase of a batch runs,
    its output kept in memory)."""
    facts: list[tuple[str | None, bytes]] = []

    def send_facts(agency: str, value: bytes) -> None:
        facts.append((agency, value))

    def send_watermark(value: bytes) -> None:
        facts.append((None, value))

    out = Outputs(lambda *a: None, send_facts, send_watermark, lambda *a: None)
    entity = {}
    for topic in INPUT_TOPICS:
        entity[topic] = EntityStage(topic, topic, config, {}, out)
        entity[topic].adopt(dict.fromkeys(range(PARTITIONS)))
    agency = AgencyStage(config, {}, lambda *a: None)
    for p in range(PARTITIONS):
        agency.load(p)
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    facts_offsets: dict[int, int] = defaultdict(int)
    batches: dict[str, list[InputMessage]] = defaultdict(list)
    for m in messages:
        p = zlib.crc32(m.key or b"") % PARTITIONS
        batches[m.topic].append(InputMessage(p, offsets[(m.topic, p)], m.key, m.value))
        offsets[(m.topic, p)] += 1
        if len(batches[m.topic]) < BATCH:
            continue
        for phase in entity[m.topic].phases(batches.pop(m.topic)):
            phase()
        batch: list[FactsMessage] = []
        for name, value in facts:
            fp = 0 if name is None else zlib.crc32(name.encode()) % PARTITIONS
            batch.append((fp, facts_offsets[fp], None if name is None else name.encode(), value))
            facts_offsets[fp] += 1
        facts.clear()
        for phase in agency.phases(batch):
            phase()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    reference = load_reference()
    config = KpiConfig.from_reference(reference)
    messages = Simulator(reference, SimulationConfig(seed=args.seed)).take(args.events)
    by_topic = [(INPUT_TOPICS[m.topic].adapter, m.value) for m in messages]
    raws = [m.value for m in messages]
    events: list[Event] = [
        e for m in messages if not isinstance(e := decode(m.topic, m.value), DecodeError)
    ]
    n = len(messages)
    size = statistics.mean(len(r) for r in raws)

    def loads() -> None:
        for raw in raws:
            json.loads(raw)

    def validate_json() -> None:
        for adapter, raw in by_topic:
            adapter.validate_json(raw)

    def fold_and_read() -> None:
        engine = KpiEngine(config)
        for i, e in enumerate(events, 1):
            engine.apply(e)
            if i % 10_000 == 0:  # a /metrics scrape's worth of reading, every 10k events
                engine.report()
        engine.report()

    def intake() -> None:
        p = Intake(KpiEngine(config))
        for m in messages:
            p.feed(m.topic, m.value)
        p.engine.report()

    print(f"citypulse core benchmark · Python {platform.python_version()} · {platform.machine()}")
    print(
        f"{n:,} simulated events (seed {args.seed}), mean {size:.0f} bytes, "
        f"median of {args.rounds} rounds\n"
    )
    baseline = rate(n, loads, args.rounds)
    rows = [
        ("json.loads (baseline)", baseline),
        ("TypeAdapter.validate_json (bytes -> models)", rate(n, validate_json, args.rounds)),
        (
            "engine: fold + read KPIs (decoded events)",
            rate(len(events), fold_and_read, args.rounds),
        ),
        ("intake: decode + fold (bytes in)", rate(n, intake, args.rounds)),
        (
            "worker's stages: entity + agency, no broker",
            rate(n, lambda: stages(config, messages), args.rounds),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}   events/s   vs json.loads")
    for name, value in rows:
        print(f"{name:{width}}  {value:>9,.0f}   {value / baseline:>5.2f}x")


if __name__ == "__main__":
    main()
