"""Benchmark of the worker on the embedded broker (figures printed, no asserts).

    .venv/bin/python benchmarks/bench_worker.py [--events 100000] [--rate 2000] [--seconds 20]
        [--year-events 3000000]

One run, one embedded Tansu broker, 4 partitions per input topic, simulated events with the
usual faults (duplicates, disorder, late, malformed, personal data):

1. **raw aiokafka**: a consumer that only reads the topics and ``json.loads`` each value;
2. **bare Faust**: an agent that only iterates the same topics (benchmarks/bare_faust.py),
   on stock Faust (the baseline) and on the worker's transport (streams/faust_adapter/transport.py);
   and the worker's App delivering each fetch, as a batch, to a handler that only acknowledges
   it (what the worker's stages receive, with no work: the worker's ceiling);
3. **citypulse worker**: everything (decode, engine, tables, facts, agency stage, metrics),
   timed from its first event to the moment ``/metrics`` shows every KPI complete; one
   worker, then two workers of one group (their ``/metrics`` summed);
4. **latency** at a steady ``--rate``: for each dossier submission and document sending,
   the time from ``send()`` to the first scrape of ``/metrics`` (every 20 ms) that counts it;
5. **a province-year**: ``citypulse simulate --to`` a recording of ``--year-events`` events
   (a province-year is about 3 million), ``citypulse verify`` it, then ``citypulse replay``
   it into fresh topics read by two workers: the time from the start of the replay until the
   workers' ``/metrics`` count what ``verify`` says (``--year-events 0`` leaves it out).

Throughputs are timed from each consumer's first event (group join and recovery excluded).
1 to 3 run ``--repeat`` times in turn (each with a new consumer group) and their medians
are printed with every run's figure, so that ratios compare runs made side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from citypulse.broker import EmbeddedBroker, free_port
from citypulse.producers.faults import Message
from citypulse.producers.pacing import paced
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, DecodeError, decode, load_reference
from citypulse.scrape import parse, scrape
from citypulse.streams.kpi import APPLIED, KpiConfig, KpiEngine
from citypulse.topic_admin import ensure_topics

PARTITIONS = 4
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)
COUNTED = frozenset({"dossier.submitted", "document.sent"})  # +1 on /metrics when applied
TOPICS = {DOSSIER_TOPIC: "bench.dossiers", DOCUMENT_TOPIC: "bench.documents"}


def murmur2_partition(key: bytes | None) -> int | None:
    from kafka.partitioner.default import murmur2

    return None if key is None else (murmur2(key) & 0x7FFFFFFF) % PARTITIONS


class Predictor:
    """What the worker will count: one engine per input partition, as in the worker."""

    def __init__(self, config: KpiConfig) -> None:
        self.config = config
        self.engines: dict[tuple[str, int], KpiEngine] = {}

    def counted(self, topic: str, partition: int | None, value: bytes) -> int:
        event = decode(topic, value)
        if isinstance(event, DecodeError) or partition is None:
            return 0
        engine = self.engines.setdefault((topic, partition), KpiEngine(self.config))
        return int(engine.apply(event) == APPLIED and event.event_type in COUNTED)


def counted_on_metrics(text: str) -> float:
    return sum(
        v
        for (name, _), v in parse(text).items()
        if name in ("citypulse_dossiers_received_total", "citypulse_documents_sent_total")
    )


def publish(bootstrap: str, messages: Sequence[Message]) -> float:
    publisher = Publisher([bootstrap])
    started = time.perf_counter()
    for m in messages:
        publisher.send(m, topic=TOPICS[m.topic])
    report = publisher.close()
    assert report.ok, report
    return len(messages) / (time.perf_counter() - started)


async def raw_aiokafka(bootstrap: str, n: int) -> tuple[float, list[tuple[str, int, bytes]]]:
    """Read and parse ``n`` records; the rate, and the records (contract topic, partition)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    contract = {v: k for k, v in TOPICS.items()}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(t, p) for t in TOPICS.values() for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        records: list[tuple[str, int, bytes]] = []
        started = 0.0
        while len(records) < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, messages in batch.items():
                if not started:
                    started = time.perf_counter()
                for m in messages:
                    with contextlib.suppress(ValueError):  # the simulator injects bad JSON
                        json.loads(m.value)
                    records.append((contract[tp.topic], tp.partition, m.value))
        return n / (time.perf_counter() - started), records
    finally:
        await consumer.stop()


def bare_faust(url: str, n: int, mode: str | None = None) -> float:
    """``mode``: None (stock Faust), ``--citypulse-transport`` or ``--batches`` (bare_faust.py)."""
    script = Path(__file__).with_name("bare_faust.py")
    flag = [mode] if mode else []
    app_id = f"bench-bare-{free_port()}"
    out = subprocess.run(
        [sys.executable, str(script), *flag, url, app_id, str(n), *TOPICS.values()],
        capture_output=True,
        timeout=600,
        check=True,
    )
    lines = [line for line in out.stdout.decode().splitlines() if '{"events"' in line]
    if not lines:
        raise RuntimeError(f"bare Faust agent printed no result:\n{out.stdout.decode()[-2000:]}")
    result = json.loads(lines[-1][lines[-1].index("{") :])
    return float(result["events"] / result["seconds"])


def start_worker(
    url: str, port: int, log: Path, app_id: str = "bench-worker", prefix: str = "bench."
) -> subprocess.Popen[bytes]:
    """A worker reading ``prefix``-named topics (the bench's own names for "bench.")."""
    topics = TOPICS if prefix == "bench." else {t: prefix + t for t in TOPICS}
    env = {
        **os.environ,
        "CITYPULSE_BROKER": url,
        "CITYPULSE_DOSSIER_TOPIC": topics[DOSSIER_TOPIC],
        "CITYPULSE_DOCUMENT_TOPIC": topics[DOCUMENT_TOPIC],
        "CITYPULSE_DEAD_LETTER_TOPIC": f"{prefix}dead-letter",
        "CITYPULSE_APP_ID": app_id,
        "CITYPULSE_PARTITIONS": str(PARTITIONS),
        "CITYPULSE_LOG_LEVEL": "WARNING",
        "CITYPULSE_HTTP_PORT": str(port),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "citypulse", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def metrics(port: int) -> str | None:
    try:
        return scrape(f"http://127.0.0.1:{port}/metrics", 5.0)
    except OSError:
        return None


def events_seen(text: str) -> float:
    names = ("citypulse_events_total", "citypulse_events_invalid_total")
    return sum(v for (name, _), v in parse(text).items() if name in names)


def summed(ports: Sequence[int], count: Callable[[str], float]) -> float | None:
    """``count`` of each worker's /metrics, summed; None while one does not answer."""
    total = 0.0
    for port in ports:
        text = metrics(port)
        if text is None:
            return None
        total += count(text)
    return total


def worker_throughput(
    ports: Sequence[int], n: int, expected: float, timeout: float = 600
) -> tuple[float, float]:
    """From the first event seen to the scrape where every counted KPI is there; and to the
    scrape where the entity stages had read every event (the workers' figures summed)."""
    deadline = time.monotonic() + timeout
    started = read_all = 0.0
    while time.monotonic() < deadline:
        seen = summed(ports, events_seen)
        now = time.perf_counter()
        if seen is not None:
            if not started and seen > 0:
                started = now
            if started and not read_all and seen >= n:
                read_all = now
            if read_all and (summed(ports, counted_on_metrics) or 0) >= expected:
                return n / (now - started), n / (read_all - started)
        time.sleep(0.5)  # a scrape costs the worker tens of ms: do not slow it down
    raise TimeoutError("the workers did not complete in time")


def run_workers(
    url: str, count: int, app_id: str, log_dir: Path, prefix: str = "bench."
) -> tuple[list[subprocess.Popen[bytes]], list[int], Path]:
    ports = [free_port() for _ in range(count)]
    log = log_dir / f"citypulse-bench-{app_id}.log"
    return [start_worker(url, port, log, app_id, prefix) for port in ports], ports, log


def stop(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(2)
    for worker in workers:
        worker.wait(30)


def citypulse(*argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "citypulse", *argv],
        capture_output=True,
        check=True,
        env={**os.environ, **(env or {})},
        timeout=3600,
    )
    return result.stdout.decode()


def province_year(url: str, events: int, seed: int, log_dir: Path) -> tuple[float, float, float]:
    """Seconds to simulate the recording, to replay it, and from the start of the replay until
    two workers count what ``verify`` says the recording holds."""
    prefix = "year."
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "year.jsonl.gz"
        began = time.perf_counter()
        citypulse("simulate", "--to", str(recording), "--events", str(events), "--seed", str(seed))
        simulated = time.perf_counter() - began
        expected = counted_on_metrics(citypulse("verify", str(recording), "--format", "prometheus"))
        ensure_topics(
            [url.removeprefix("kafka://")],
            [*(prefix + t for t in TOPICS), f"{prefix}dead-letter"],
            PARTITIONS,
        )
        workers, ports, _ = run_workers(url, 2, "bench-year", log_dir, prefix)
        try:
            while summed(ports, lambda text: 1.0) is None:
                time.sleep(0.5)
            began = time.perf_counter()
            citypulse(
                "replay", str(recording), "--topic-prefix", prefix, env={"CITYPULSE_BROKER": url}
            )
            replayed = time.perf_counter() - began
            while (summed(ports, counted_on_metrics) or 0) < expected:
                if time.perf_counter() - began > 3600:
                    raise TimeoutError("the province-year was not caught up in an hour")
                time.sleep(1)
            return simulated, replayed, time.perf_counter() - began
        finally:
            stop(workers)


def latency(
    bootstrap: str,
    port: int,
    messages: Sequence[Message],
    predictor: Predictor,
    base: float,
    rate: float,
) -> tuple[list[float], float]:
    """Per counted event: send() to the first scrape that shows it. Also the scrape time."""
    targets: list[tuple[float, float]] = []  # (cumulative count on /metrics, sent at)
    scrapes: list[tuple[float, float]] = []  # (time, count)
    scrape_costs: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            text = metrics(port)
            if text is not None:
                scrape_costs.append(time.perf_counter() - t0)
                scrapes.append((time.perf_counter(), counted_on_metrics(text)))
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    publisher = Publisher([bootstrap], linger_ms=0)
    total = base
    for m in paced(messages, rate=rate):
        counted = predictor.counted(m.topic, murmur2_partition(m.key), m.value)
        sent_at = time.perf_counter()
        publisher.send(m, topic=TOPICS[m.topic])
        if counted:
            total += counted
            targets.append((total, sent_at))
    assert publisher.close().ok
    deadline = time.monotonic() + 60
    while (not scrapes or scrapes[-1][1] < total) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    poller.join()
    latencies = []
    i = 0
    for target, sent_at in targets:  # both in increasing order
        while i < len(scrapes) and scrapes[i][1] < target:
            i += 1
        if i == len(scrapes):
            raise RuntimeError(f"count {target} never shown on /metrics")
        latencies.append(scrapes[i][0] - sent_at)
    return latencies, statistics.median(scrape_costs)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each throughput")
    parser.add_argument(
        "--year-events", type=int, default=3_000_000, help="the province-year (0: leave it out)"
    )
    args = parser.parse_args(argv)

    reference = load_reference()
    config = KpiConfig.from_reference(reference)
    extra = int(args.rate * args.seconds)
    simulation = SimulationConfig(seed=args.seed, faults=FAULTS)
    messages = Simulator(reference, simulation).take(args.events + extra)
    first, second = messages[: args.events], messages[args.events :]
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))

    with EmbeddedBroker() as broker:
        ensure_topics([broker.bootstrap], [*TOPICS.values(), "bench.dead-letter"], PARTITIONS)
        produce_rate = publish(broker.bootstrap, first)
        predictor = Predictor(config)
        runs: dict[str, list[float]] = {
            "raw": [],
            "bare": [],
            "bare+transport": [],
            "bare batches": [],
            "worker": [],
            "stage1": [],
            "2 workers": [],
        }
        for run in range(args.repeat):
            raw_rate, records = asyncio.run(raw_aiokafka(broker.bootstrap, len(first)))
            runs["raw"].append(raw_rate)
            if run == 0:
                expected = sum(predictor.counted(t, p, v) for t, p, v in records)
                by_value = {(t, v): p for t, p, v in records}
                mismatched = sum(
                    by_value.get((m.topic, m.value)) not in (None, murmur2_partition(m.key))
                    for m in first
                    if m.key is not None
                )
                assert not mismatched, f"{mismatched} messages not where murmur2 puts them"
            runs["bare"].append(bare_faust(broker.url, len(first)))
            runs["bare+transport"].append(
                bare_faust(broker.url, len(first), "--citypulse-transport")
            )
            runs["bare batches"].append(bare_faust(broker.url, len(first), "--batches"))
            workers, ports, log = run_workers(broker.url, 1, f"bench-worker-{run}", log_dir)
            try:
                worker_rate, stage1_rate = worker_throughput(ports, len(first), expected)
                runs["worker"].append(worker_rate)
                runs["stage1"].append(stage1_rate)
                if run == args.repeat - 1:  # the last worker also measures latency
                    latencies, scrape_cost = latency(
                        broker.bootstrap, ports[0], second, predictor, expected, args.rate
                    )
            finally:
                stop(workers)
            pair, ports, _ = run_workers(broker.url, 2, f"bench-workers-{run}", log_dir)
            try:
                runs["2 workers"].append(worker_throughput(ports, len(first), expected)[0])
            finally:
                stop(pair)
        year = (
            province_year(broker.url, args.year_events, args.seed, log_dir)
            if args.year_events
            else None
        )

    median = {k: statistics.median(v) for k, v in runs.items()}
    base = median["bare"]

    def row(label: str, key: str, note: str) -> None:
        each = ", ".join(f"{v:,.0f}" for v in runs[key])
        print(f"  {label:<30} {median[key]:8,.0f} events/s  {note}  [{each}]")

    print(f"embedded Tansu broker, {PARTITIONS} partitions per topic, {len(first)} events "
          f"({args.seed=}), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          f"throughputs: median of {args.repeat} runs [each run]")  # fmt: skip
    print(f"  kafka-python producer          {produce_rate:8,.0f} events/s")
    row("raw aiokafka read + parse", "raw", "(the reference of the goal)")
    row("bare Faust agent", "bare", f"= {base / median['raw']:.2f} of raw aiokafka")
    row(
        "bare Faust, worker's transport",
        "bare+transport",
        f"= {median['bare+transport'] / base:.0%} of bare Faust",
    )
    row(
        "bare batches, worker's App",
        "bare batches",
        f"= {median['bare batches'] / median['raw']:.2f} of raw aiokafka (the worker's ceiling)",
    )
    row(
        "citypulse worker, all work",
        "worker",
        f"= {median['worker'] / median['raw']:.2f} of raw aiokafka, "
        f"{median['worker'] / base:.0%} of bare Faust",
    )
    row(
        "  of which the entity stage",
        "stage1",
        f"= {median['stage1'] / base:.0%} of bare Faust (all read; KPIs not yet all shown)",
    )
    row(
        "two citypulse workers",
        "2 workers",
        f"= {median['2 workers'] / median['worker']:.2f} x one worker",
    )
    print(
        f"  produce -> /metrics at {args.rate:,.0f}/s over {args.seconds:.0f} s: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"({len(latencies)} counted events; a scrape takes {scrape_cost * 1000:.0f} ms, "
        f"every 20 ms)"
    )
    if year is not None:
        simulated, replayed, caught_up = year
        print(
            f"  province-year, {args.year_events:,} events, 2 workers: caught up "
            f"{caught_up:,.0f} s after the replay began ({args.year_events / caught_up:,.0f} "
            f"events/s; the replay itself {replayed:,.0f} s, the simulation {simulated:,.0f} s)"
        )
    print(f"  worker log: {log}")


if __name__ == "__main__":
    main()
