"""How long a restarted worker takes to recover, against the history it must read.

For each size: a fresh embedded broker, that many simulated events published, one worker run
until it has handled all of them, SIGKILLed, and a second worker started. Printed: the
changelog records the second worker must read, the time from its start to ``/readyz`` (group
join + table recovery), and to its KPIs being complete again (equal to the first worker's).

    .venv/bin/python benchmarks/bench_recovery.py             # 100k, 500k, 1M events
    .venv/bin/python benchmarks/bench_recovery.py 50000       # one size
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support

from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.producers.profile import SimulationConfig
from citypulse.producers.publisher import Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from tests.support.samples import kpi_samples
from tests.support.topics_under_test import new_setup
from tests.support.worker import WorkerProcess


def changelog_records(bootstrap: str, app_id: str) -> int:
    """Records in the worker's changelog topics (read to their ends: the embedded broker's
    reported end offsets are not to be trusted, BROKER-NOTES #1)."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    topics = [t for t in consumer.topics() if t.startswith(app_id) and t.endswith("-changelog")]
    tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    count = 0
    while batch := consumer.poll(timeout_ms=2000, max_records=50_000):
        count += sum(len(records) for records in batch.values())
    consumer.close()
    return count


def wait(what: str, check: object, timeout: float) -> float:
    began = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - began > timeout:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - began


def run(events: int) -> tuple[int, int, float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    with EmbeddedBroker(log_dir=tmp) as broker:
        setup = new_setup(broker, f"r{events}.", tmp)
        publisher = Publisher([broker.bootstrap])
        for m in Simulator(load_reference(), SimulationConfig(seed=7)).take(events):
            publisher.send(m, topic=setup.topics[m.topic])
        assert publisher.close(timeout=120).ok
        first = WorkerProcess(setup.env, tmp / "first.log").start()
        wait("first worker done", lambda: first.events_seen() >= events, 1800)
        time.sleep(3)  # its last batches' rows and checkpoints
        done = kpi_samples(first.metrics() or "")
        first.kill()
        records = changelog_records(broker.bootstrap, setup.env["CITYPULSE_APP_ID"])
        second = WorkerProcess(setup.env, tmp / "second.log").start()
        ready = wait("second worker ready", lambda: second.probe("/readyz") == 200, 1800)
        complete = ready + wait(
            "KPIs complete", lambda: kpi_samples(second.metrics() or "") == done, 600
        )
        second.stop()
    return events, records, ready, complete


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 500_000, 1_000_000]
    print(
        "| events | changelog records read | restart -> ready (s) | restart -> KPIs complete (s) |"
    )
    print("|---:|---:|---:|---:|")
    for size in sizes:
        events, records, ready, complete = run(size)
        print(f"| {events:,} | {records:,} | {ready:.1f} | {complete:.1f} |", flush=True)


if __name__ == "__main__":
    main()
