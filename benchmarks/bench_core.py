"""Benchmark of the pure core: schema decoding and the KPI engine (figures printed, no asserts).

    .venv/bin/python benchmarks/bench_core.py [--events 100000] [--rounds 5]

Decoding is measured against the baseline ``json.loads`` of the same bytes, in the same run;
each figure is the median of ``--rounds`` runs on one core. (``json.loads`` then
``validate_python`` is not an option at all: in Python mode the strict models reject the
ISO 8601 strings that JSON mode parses, so bytes go straight into the models.)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence

from citypulse.producers.profile import SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import INPUT_TOPICS, DecodeError, Event, decode, load_reference
from citypulse.streams.kpi import Intake, KpiConfig, KpiEngine


def rate(n: int, run: Callable[[], object], rounds: int) -> float:
    """Median items per second of ``run`` over ``rounds`` runs."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return n / statistics.median(times)


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

    def pipeline() -> None:
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
        ("pipeline: decode + fold (bytes in)", rate(n, pipeline, args.rounds)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}   events/s   vs json.loads")
    for name, value in rows:
        print(f"{name:{width}}  {value:>9,.0f}   {value / baseline:>5.2f}x")


if __name__ == "__main__":
    main()
