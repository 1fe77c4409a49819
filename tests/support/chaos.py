"""Chaos runs: workers of one group killed, frozen and stopped on a seeded schedule while a
faulty stream is produced; then the union of their /metrics must equal the oracle, exactly.

A run (:func:`run_chaos`) is fully described by its :class:`ChaosConfig`: the same seed gives
the same events, the same fault schedule (times, targets, kinds, durations) and so the same
run as far as the broker's and the OS's timing allows. ``tools/chaos.py`` runs it from the
command line; ``tests/integration/test_chaos.py`` runs a CI-sized one.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import Publisher
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.schemas.reference import load_references

from .samples import Samples, differences, parse
from .topics_under_test import expected_kpis, new_setup, read_topic
from .worker import WorkerProcess, union_of

__all__ = ["ChaosConfig", "ChaosResult", "Fault", "run_chaos", "schedule"]

#: the upstream faults of every chaos stream (as the integration tests use)
STREAM_FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)
#: the workers' session timeout (streams/faust_adapter/app.py WorkerConfig): a freeze must outlast it
SESSION_TIMEOUT = 10.0

Kind = Literal["kill", "freeze", "term"]


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the stream starts
    worker: int  # slot index
    kind: Kind  # SIGKILL + restart, SIGSTOP + SIGCONT, SIGTERM + restart
    down: float  # seconds until the restart (or SIGCONT)

    def __str__(self) -> str:
        return f"{self.at:6.1f}s {self.kind:<6} worker {self.worker} for {self.down:.1f}s"


@dataclass(frozen=True)
class ChaosConfig:
    seed: int
    workers: int = 2
    events: int = 100_000
    produce_seconds: float = 60.0  # the stream is spread over this long
    kills: int = 4
    freezes: int = 1
    terms: int = 1
    settle_timeout: float = 180.0  # after the last fault, for the KPIs to equal the oracle
    log_level: str = "WARNING"
    #: the provinces simulated together (their departments share codes, CONTRACT §7)
    provinces: tuple[str, ...] = ("TTH", "HYN")


@dataclass
class ChaosResult:
    config: ChaosConfig
    faults: list[Fault]
    exact: bool
    settled_after: float | None  # seconds from the last fault's end to exact KPIs
    series: int
    problems: list[str] = field(default_factory=list)
    logs: Path | None = None
    duration: float = 0.0
    #: the workers' repairs of broker and Faust faults, from their logs (:func:`repairs`)
    repaired: dict[str, int] = field(default_factory=dict)

    def verdict(self) -> str:
        c = self.config
        counts = {k: sum(f.kind == k for f in self.faults) for k in ("kill", "freeze", "term")}
        what = (
            f"seed={c.seed} workers={c.workers} events={c.events} "
            f"provinces={','.join(c.provinces)} kills={counts['kill']} "
            f"freezes={counts['freeze']} terms={counts['term']} run={self.duration:.0f}s"
        )
        done = ", ".join(f"{repair}: {n}" for repair, n in self.repaired.items() if n)
        if self.exact:
            return (
                f"EXACT {what}: {self.series} KPI series equal the oracle "
                f"{self.settled_after:.1f}s after the last fault"
            ) + (f" (repairs: {done})" if done else "")
        first = self.problems[0] if self.problems else "?"
        return f"WRONG {what}: {first} (logs and seed kept in {self.logs})"


def schedule(config: ChaosConfig) -> list[Fault]:
    """The seeded fault schedule: faults spread over the production time, never two at once
    on one worker; kills and terms keep a worker down 1-3 s, a freeze outlasts the session
    timeout (the group moves on; the frozen member wakes up a zombie)."""
    rng = random.Random(config.seed)
    counts: dict[Kind, int] = {"kill": config.kills, "freeze": config.freezes}
    counts["term"] = config.terms
    kinds: list[Kind] = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    start, end = 5.0, max(6.0, config.produce_seconds)
    busy_until = [0.0] * config.workers
    faults = []
    for i, kind in enumerate(kinds):
        at = start + (end - start) * (i + rng.random()) / max(1, len(kinds))
        down = (
            rng.uniform(1.5, 2.0) * SESSION_TIMEOUT if kind == "freeze" else rng.uniform(1.0, 3.0)
        )
        free = [w for w in range(config.workers) if busy_until[w] <= at]
        if not free:  # every worker is down: this fault waits for the first back
            w = min(range(config.workers), key=busy_until.__getitem__)
            at = busy_until[w] + 0.5
            free = [w]
        worker = rng.choice(free)
        busy_until[worker] = at + down + 1.0
        faults.append(Fault(round(at, 2), worker, kind, round(down, 2)))
    return sorted(faults, key=lambda f: f.at)


class _Slots:
    """The running worker of each slot (a restart is a new process, logging to one file).

    Faults on one slot take turns (``locks``): a SIGTERM's stop can outlast the schedule's
    estimate, and a kill meanwhile would leave two processes in one slot."""

    def __init__(self, env: dict[str, str], logs: Path, n: int) -> None:
        self.env = env
        self.logs = logs
        self.started: list[WorkerProcess] = []
        self.locks = [threading.Lock() for _ in range(n)]
        self.current = [self._new(i) for i in range(n)]

    def _new(self, i: int) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.logs / f"worker-{i}.log").start()
        self.started.append(worker)
        return worker

    def restart(self, i: int) -> None:
        self.current[i] = self._new(i)

    def stop_all(self) -> None:
        for w in self.started:
            if w.process is not None and w.process.poll() is None:
                w.process.send_signal(signal.SIGCONT)
                with contextlib.suppress(Exception):  # stop() kills one that does not stop
                    w.stop(timeout=15)


def _apply(slots: _Slots, fault: Fault, logs: Path) -> None:
    with slots.locks[fault.worker]:
        _apply_alone(slots, fault, logs)


def _apply_alone(slots: _Slots, fault: Fault, logs: Path) -> None:
    worker = slots.current[fault.worker]
    assert worker.process is not None
    with (logs / "faults.log").open("a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {fault}\n")
    if fault.kind == "freeze":
        worker.process.send_signal(signal.SIGSTOP)
        time.sleep(fault.down)
        worker.process.send_signal(signal.SIGCONT)
        return
    if fault.kind == "kill":
        worker.kill()
    else:
        worker.stop(signal.SIGTERM, timeout=30)
    time.sleep(fault.down)
    slots.restart(fault.worker)


def _produce(broker: EmbeddedBroker, topics: dict[str, str], config: ChaosConfig) -> str | None:
    """Publish the seeded stream in paced chunks over ``produce_seconds``; an error or None."""
    sim = SimulationConfig(seed=config.seed, faults=STREAM_FAULTS)
    messages = Simulator(load_references(config.provinces), sim).take(config.events)
    publisher = Publisher([broker.bootstrap])
    chunks = max(1, int(config.produce_seconds * 4))
    size = -(-len(messages) // chunks)
    began = time.monotonic()
    for n in range(chunks):
        for m in messages[n * size : (n + 1) * size]:
            publisher.send(m, topic=topics[m.topic])
        publisher.flush()
        pause = began + (n + 1) * config.produce_seconds / chunks - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    report = publisher.close()
    return None if report.ok else f"publishing failed: {report}"


#: self-checks that stay 0 unless something was lost (streams/exposition/metrics.py)
SELF_CHECKS = ("citypulse_facts_inconsistent_total", "citypulse_offsets_skipped_total")


def _inconsistent(worker: WorkerProcess) -> float | None:
    """What the worker's self-checks counted (None: not exported, or no /metrics)."""
    text = worker.metrics()
    if text is None:
        return None
    samples = parse(text)
    if not all(any(k[0] == name for k in samples) for name in SELF_CHECKS):
        return None
    return sum(v for k, v in samples.items() if k[0] in SELF_CHECKS)


def run_chaos(
    broker: EmbeddedBroker, config: ChaosConfig, logs: Path, prefix: str | None = None
) -> ChaosResult:
    """One chaos run on ``broker``, its logs (workers, faults, differences) in ``logs``."""
    began = time.monotonic()
    logs.mkdir(parents=True, exist_ok=True)
    setup = new_setup(broker, prefix or f"chaos{config.seed}x{int(time.time())}.", logs)
    env = {**setup.env, "CITYPULSE_LOG_LEVEL": config.log_level}
    faults = schedule(config)
    (logs / "schedule.txt").write_text(
        f"{config}\n" + "".join(f"{f}\n" for f in faults), encoding="utf-8"
    )
    slots = _Slots(env, logs, config.workers)
    produced: list[str | None] = []
    producer = threading.Thread(
        target=lambda: produced.append(_produce(broker, setup.topics, config)), daemon=True
    )
    result = ChaosResult(config, faults, False, None, 0, logs=logs)
    try:
        t0 = time.monotonic()
        producer.start()
        running = []
        for fault in faults:  # each in its own thread: faults on two workers may overlap
            time.sleep(max(0.0, t0 + fault.at - time.monotonic()))
            running.append(threading.Thread(target=_apply, args=(slots, fault, logs)))
            running[-1].start()
        for thread in running:
            thread.join()
        last_fault = time.monotonic()
        producer.join()
        if produced and produced[0]:
            result.problems.append(produced[0])
            return result
        records = [
            r
            for contract in (DOSSIER_TOPIC, DOCUMENT_TOPIC)
            for r in read_topic(broker.bootstrap, setup.topics[contract], contract)
        ]
        expected = expected_kpis(records)
        result.series = len(expected)
        _settle(slots, expected, last_fault, config.settle_timeout, result)
        result.repaired = repairs(logs)
        if not result.exact:
            dump_topics(broker.bootstrap, setup.env["CITYPULSE_APP_ID"].removesuffix("app"),
                        logs / "topics.jsonl.gz")  # fmt: skip
    finally:
        slots.stop_all()
        result.duration = time.monotonic() - began
    return result


#: what a worker logs when it repairs a fault of the broker or of Faust, by repair
REPAIR_LOG_LINES = {
    "group takeovers": "taking its member id over",
    "recoveries completed from the changelog": "table recovery skipped changelog records",
}


def repairs(logs: Path) -> dict[str, int]:
    """How often the run's workers logged each repair (REPAIR_LOG_LINES)."""
    text = "".join(p.read_text(errors="replace") for p in sorted(logs.glob("worker-*.log")))
    return {what: text.count(line) for what, line in REPAIR_LOG_LINES.items()}


def dump_topics(bootstrap: str, prefix: str, path: Path) -> int:
    """Every record of the run's topics (inputs, facts, changelogs, dead letters) as gzip JSON
    lines: topic, partition, offset, key, value (text, or base64 of bytes), headers. What a
    wrong run leaves for its diagnosis; the number of records."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    tps = [
        TopicPartition(t, p)
        for t in sorted(consumer.topics())
        if t.startswith(prefix)
        for p in sorted(consumer.partitions_for_topic(t) or ())
    ]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)

    def text(raw: bytes | None) -> str | None:
        if raw is None:
            return None
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode()

    count = 0
    with gzip.open(path, "wt", encoding="utf-8") as out:
        while batch := consumer.poll(timeout_ms=3000, max_records=20_000):
            for records in batch.values():
                for r in records:
                    row = {
                        "topic": r.topic, "partition": r.partition, "offset": r.offset,
                        "key": text(r.key), "value": text(r.value),
                        "headers": [[k, text(v)] for k, v in r.headers or ()],
                    }  # fmt: skip
                    out.write(json.dumps(row) + "\n")
                    count += 1
    consumer.close()
    return count


def _settle(
    slots: _Slots, expected: Samples, last_fault: float, timeout: float, result: ChaosResult
) -> None:
    """Wait for the union of the workers' KPIs to equal ``expected`` (and stay equal 2 s)."""
    deadline = last_fault + timeout
    got: Samples | None = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        exited = [w for w in slots.current if w.process is None or w.process.poll() is not None]
        if exited:  # a supervisor would restart it; the harness says so and goes on
            for w in exited:
                i = slots.current.index(w)
                result.problems.append(f"worker {i} exited ({w.process and w.process.poll()})")
                slots.restart(i)
        try:
            got = union_of(slots.current)
        except AssertionError as exc:  # a series exported by two workers
            result.problems.append(str(exc))
            got = None
        if got != expected:
            continue
        settled = time.monotonic() - last_fault
        stable = True
        for _ in range(4):
            time.sleep(0.5)
            if union_of(slots.current) != expected:
                stable = False
        if not stable:
            continue
        skipped = [_inconsistent(w) for w in slots.current]
        if any(s is None or s > 0 for s in skipped):
            result.problems.insert(0, f"self-checks counted losses: {skipped}")
            break
        result.exact = True
        result.settled_after = settled
        result.problems = [p for p in result.problems if "exited" in p]
        return
    diff = differences(got or {}, expected)
    (result.logs or Path(".")).joinpath("differences.txt").write_text("\n".join(diff) + "\n")
    if got is None:
        result.problems.insert(0, "no complete /metrics from every worker")
    else:
        wrong = sum(1 for k in set(got) | set(expected) if got.get(k) != expected.get(k))
        result.problems.insert(
            0, f"{wrong} of {len(expected)} KPI series differ after {timeout:.0f}s, e.g. {diff[0]}"
        )
