"""Benchmark of record and replay on the embedded broker (figures printed, no asserts).

    .venv/bin/python benchmarks/bench_recording.py [--events 100000] [--rounds 3]

In one run, on one embedded Tansu broker (4 partitions per topic), with the same 100,000
simulated events (the usual faults), each measured ``--rounds`` times (medians reported):

* **raw producer** (baseline for replay): kafka-python (``acks=all``, as the publisher) sends
  the values, nothing else;
* **replay**: ``citypulse replay`` of a recording of them, as fast as possible (reading and
  checking the file first, then sending with keys, headers and partitions kept);
* **raw consumer** (baseline for record): kafka-python ``assign()`` + ``poll()`` reads the
  topics, nothing else;
* **record**: ``citypulse record`` of the topics into a file (gzip JSON Lines).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from rich.console import Console

from citypulse.broker import EmbeddedBroker
from citypulse.commands.record import RecordOptions, record
from citypulse.commands.replay import ReplayOptions, plan_replay, replay
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.recording import write_messages
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, load_reference
from citypulse.settings import Settings
from citypulse.topic_admin import ensure_topics

PARTITIONS = 4
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)


def median_rate(n: int, rounds: int, run: Callable[[int], None]) -> tuple[float, list[float]]:
    rates = []
    for i in range(rounds):
        started = time.perf_counter()
        run(i)
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates), rates


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    n, rounds = args.events, args.rounds
    messages = Simulator(load_reference(), SimulationConfig(seed=7, faults=FAULTS)).take(n)
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (progress bars off)
    work = Path(tempfile.mkdtemp(prefix="citypulse-bench-recording-"))
    recording = work / "simulated.jsonl.gz"
    write_messages(
        recording,
        messages,
        topics={DOSSIER_TOPIC: DOSSIER_TOPIC, DOCUMENT_TOPIC: DOCUMENT_TOPIC},
        partitions=PARTITIONS,
        source={"bench": True},
        created_at=SimulationConfig().start.astimezone(UTC),
    )

    with EmbeddedBroker() as broker:
        settings = Settings(broker=broker.url, partitions=PARTITIONS)

        def produce(i: int) -> None:
            topics = {DOSSIER_TOPIC: f"raw{i}.dossiers", DOCUMENT_TOPIC: f"raw{i}.documents"}
            ensure_topics([broker.bootstrap], topics.values(), PARTITIONS)
            producer = KafkaProducer(
                bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5,
                batch_size=256 * 1024, max_in_flight_requests_per_connection=1,
            )  # fmt: skip
            for m in messages:
                producer.send(topics[m.topic], key=m.key, value=m.value)
            producer.flush()
            producer.close()

        def replay_round(i: int) -> None:
            options = ReplayOptions(recording, topic_prefix=f"replay{i}.")
            result = replay(settings, options, plan_replay(options), quiet)
            assert result.report.sent == n, result.report

        def consume(i: int) -> None:
            consumer = KafkaConsumer(bootstrap_servers=[broker.bootstrap], max_poll_records=5000)
            tps = [TopicPartition(f"replay0.{t}", p) for t in (DOSSIER_TOPIC, DOCUMENT_TOPIC)
                   for p in range(PARTITIONS)]  # fmt: skip
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            seen = 0
            while seen < n:
                seen += sum(len(rs) for rs in consumer.poll(timeout_ms=1000).values())
            consumer.close()

        def record_round(i: int) -> None:
            topics = [f"replay0.{t}" for t in (DOSSIER_TOPIC, DOCUMENT_TOPIC)]
            result = record(settings, RecordOptions(topics, work / f"rec{i}.jsonl.gz"), quiet)
            assert result.records == n, result

        produce_rate, produce_all = median_rate(n, rounds, produce)
        replay_rate, replay_all = median_rate(n, rounds, replay_round)
        consume_rate, consume_all = median_rate(n, rounds, consume)
        record_rate, record_all = median_rate(n, rounds, record_round)

    size = recording.stat().st_size
    print(f"embedded Tansu broker, {PARTITIONS} partitions per topic, {n:,} simulated events, "
          f"{rounds} rounds (medians), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          f"recording {size / 1e6:.1f} MB ({size / n:.0f} B/event)")  # fmt: skip

    def line(name: str, rate: float, every: list[float], base: float | None) -> None:
        ratio = "" if base is None else f"  = {rate / base:.2f} x baseline"
        spread = ", ".join(f"{r:,.0f}" for r in every)
        print(f"  {name:34} {rate:10,.0f} events/s{ratio}   ({spread})")

    line("raw kafka-python producer (base)", produce_rate, produce_all, None)
    line("citypulse replay (file -> topics)", replay_rate, replay_all, produce_rate)
    line("raw kafka-python consumer (base)", consume_rate, consume_all, None)
    line("citypulse record (topics -> file)", record_rate, record_all, consume_rate)


if __name__ == "__main__":
    main()
