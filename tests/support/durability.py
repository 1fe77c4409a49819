"""The worker's two stages on a simulated broker that can crash at any point, in pure code.

What a crash leaves behind, as on Kafka without transactions: everything a stage *awaited* is
durable; of what it sent since (the phase in flight), each output partition keeps a prefix
of any length. Input offsets are committed now and then, only for batches whose processing
returned (Faust acks an event after the agent's body, then commits acked offsets from a
timer), so a restart redelivers from some earlier batch boundary. A restarted stage recovers
its table the way the worker does: by replaying its changelog (the greatest version of each
key, codec.py; ``None`` deletes). Each batch runs through the stages' own protocol
(:meth:`EntityStage.phases` and :meth:`AgencyStage.phases` with protocol.run_batch).

With ``zombies`` a crashed stage is not dead but frozen: what it had in flight is not lost but
lands late, after some of its successor's batches (a worker frozen past its session timeout
wakes up and its sends complete). Recovery must then keep the successor's newer rows (versions) and
stage 2 must count the stale facts once.

With ``hides_newest_batch`` the broker also behaves as the embedded Tansu does (BROKER-NOTES
#1): what a stage sends between two awaits is one record batch per partition, and table
recovery reads a changelog partition only up to the first record of its newest batch (the
records it hides are still in the log, and a later recovery reads them once a newer batch
follows).

This is what the integration test does with SIGKILL, except that here every crash point is
reachable, and a run takes milliseconds.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import CollectorRegistry

from citypulse.producers.faults import Message
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.streams.exposition.metrics import PipelineMetrics, pipeline_metrics
from citypulse.streams.kpi import KpiConfig
from citypulse.streams.stages.agency import AgencyStage
from citypulse.streams.stages.codec import recover_record, version_header, version_of
from citypulse.streams.stages.entity import EntityStage, InputMessage, Outputs
from citypulse.streams.stages.protocol import Phases, run_batch

__all__ = ["CrashingBroker", "Plan", "run_with_crashes"]

FACTS = "facts"
DEAD_LETTER = "dead-letter"
Record = tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]


class _Crash(Exception):
    """The stage's process dies while a phase's output is in flight."""


def partition_of(key: bytes | None, partitions: int) -> int:
    return 0 if key is None else zlib.crc32(key) % partitions


@dataclass
class CrashingBroker:
    rng: random.Random
    partitions: int
    logs: dict[tuple[str, int], list[Record]] = field(default_factory=lambda: defaultdict(list))
    durable: dict[tuple[str, int], int] = field(default_factory=dict)
    hides_newest_batch: bool = False
    zombies: bool = False
    #: a zombie's in-flight records, per partition, and in how many delivered phases they land
    late: dict[tuple[str, int], list[Record]] = field(default_factory=dict)
    late_in: int = 0
    #: where each partition's record batches start (a batch: what was sent between awaits)
    batch_starts: dict[tuple[str, int], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def send(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        log = self.logs[(topic, partition)]
        if len(log) == self.durable.get((topic, partition), 0):
            self.batch_starts[(topic, partition)].append(len(log))
        log.append((key, value, headers))

    def delivered(self) -> None:
        """The stage awaited its sends: all of them are durable (and a zombie's late ones, once
        their time has come)."""
        self.late_in -= 1
        if self.late and self.late_in <= 0:
            late, self.late = self.late, {}
            for tp, records in late.items():
                for record in records:
                    self.send(tp[0], tp[1], *record)
        self.durable = {tp: len(log) for tp, log in self.logs.items()}

    def run_batch(self, phases: Phases, crash_phase: int | None) -> bool:
        """Run a batch's phases (1, 2, ...) through the agents' protocol (run_batch), this
        broker delivering each phase's output; False if the stage crashed in phase
        ``crash_phase`` (what it sent there is left in flight)."""
        delivered = 0

        async def deliver() -> None:
            nonlocal delivered
            delivered += 1
            if delivered == crash_phase:
                raise _Crash
            self.delivered()

        try:
            run_batch(phases, deliver).send(None)  # never suspends: runs to its end at once
        except StopIteration:
            return True
        except _Crash:
            return False
        raise AssertionError("run_batch suspended")

    def recoverable(self, tp: tuple[str, int]) -> list[Record]:
        """What table recovery reads of a changelog partition."""
        log = self.logs[tp]
        if self.hides_newest_batch and self.batch_starts[tp]:
            return log[: self.batch_starts[tp][-1] + 1]
        return log

    def crash(self) -> None:
        """Each partition keeps a random prefix of what was in flight; a zombie's rest lands
        later (:attr:`zombies`)."""
        for tp, log in self.logs.items():
            start = self.durable.get(tp, 0)
            cut = self.rng.randint(start, len(log))
            if self.zombies and cut < len(log):
                self.late.setdefault(tp, []).extend(log[cut:])
                self.late_in = self.rng.randint(1, 60)
            del log[cut:]
            starts = self.batch_starts[tp]
            while starts and starts[-1] >= len(log):  # the whole batch was lost
                starts.pop()
        self.durable = {tp: len(log) for tp, log in self.logs.items()}

    def table(self, changelog: str) -> dict[bytes, bytes]:
        """A table recovered from its changelog, as the worker's recovery rebuilds it."""
        data: dict[bytes, bytes] = {}
        versions: dict[bytes, int] = {}
        for (topic, partition), _ in sorted(self.logs.items()):
            if topic != changelog:
                continue
            for key, value, headers in self.recoverable((topic, partition)):
                assert key is not None
                recover_record(data, versions, key, value, version_of(headers))
        return data

    def write_row(self, changelog: str) -> Callable[[int, bytes, bytes | None, int], None]:
        def write(partition: int, key: bytes, value: bytes | None, version: int) -> None:
            self.send(changelog, partition, key, value, (version_header(version),))

        return write

    def entity_outputs(self, changelog: str) -> Outputs:
        n = self.partitions

        def facts(agency: str, value: bytes) -> None:
            key = agency.encode()
            self.send(FACTS, partition_of(key, n), key, value)

        def watermark(value: bytes) -> None:
            for p in range(n):
                self.send(FACTS, p, None, value)

        def dead_letter(key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
            self.send(DEAD_LETTER, 0, key, value, tuple(headers))

        return Outputs(self.write_row(changelog), facts, watermark, dead_letter)


@dataclass(frozen=True)
class Plan:
    """Where the crashes happen: after how many batches of a run, and in which phase."""

    crashes: tuple[tuple[int, int], ...]  # (batches completed before the crash, phase 1 to 3)
    max_batch: int = 120
    commit_probability: float = 0.3


def batches(
    inputs: dict[int, list[InputMessage]],
    start: dict[int, int],
    rng: random.Random,
    max_batch: int,
) -> Iterator[list[InputMessage]]:
    """Messages from ``start`` offsets, partitions interleaved at random (as fetches return
    them), in batches of random size; each partition in offset order."""
    cursors = {p: start.get(p, 0) for p in inputs}
    while True:
        batch: list[InputMessage] = []
        size = rng.randint(1, max_batch)
        while len(batch) < size:
            live = [p for p, c in cursors.items() if c < len(inputs[p])]
            if not live:
                break
            p = rng.choice(live)
            take = min(rng.randint(1, 40), len(inputs[p]) - cursors[p], size - len(batch))
            batch.extend(inputs[p][cursors[p] : cursors[p] + take])
            cursors[p] += take
        if not batch:
            return
        yield batch


S = TypeVar("S")


def run_restarting(
    broker: CrashingBroker,
    inputs: dict[int, list[InputMessage]],
    plan: Plan,
    start: Callable[[], S],
    step: Callable[[S, list[InputMessage], int | None], bool],
) -> S:
    """Feed ``inputs`` in batches to stages made by ``start`` until one finishes them all.

    ``step(stage, batch, crash_phase)`` handles one batch and says whether it completed (False:
    it crashed in that phase). Completed batches are acknowledged and now and then committed;
    after a crash the broker loses part of what was in flight and a new stage starts from the
    last commit."""
    committed: dict[int, int] = {}  # next offset to read, per partition
    crashes = list(plan.crashes)
    while True:
        stage = start()
        acked = dict(committed)
        for n, batch in enumerate(batches(inputs, committed, broker.rng, plan.max_batch)):
            crash_phase = crashes[0][1] if crashes and crashes[0][0] == n else None
            if not step(stage, batch, crash_phase):
                break
            for m in batch:
                acked[m.partition] = max(acked.get(m.partition, 0), m.offset + 1)
            if broker.rng.random() < plan.commit_probability:
                committed = dict(acked)
        else:
            return stage
        crashes.pop(0)
        broker.crash()


def run_entity_stage(
    broker: CrashingBroker,
    topic: str,
    contract: str,
    config: KpiConfig,
    inputs: dict[int, list[InputMessage]],
    plan: Plan,
    metrics: PipelineMetrics,
) -> None:
    """Run stage 1 over ``inputs`` to the end, crashing and restarting as planned."""
    changelog = f"{topic}-changelog"

    def start() -> EntityStage:
        stage = EntityStage(
            topic,
            contract,
            config,
            broker.table(changelog),
            broker.entity_outputs(changelog),
            metrics,
        )
        for p in inputs:
            stage.load(p)
        return stage

    def step(stage: EntityStage, batch: list[InputMessage], crash_phase: int | None) -> bool:
        return broker.run_batch(stage.phases(batch), crash_phase)

    run_restarting(broker, inputs, plan, start, step)


def run_agency_stage(
    broker: CrashingBroker, config: KpiConfig, plan: Plan, metrics: PipelineMetrics
) -> AgencyStage:
    """Run stage 2 over the durable facts, crashing and restarting as planned; the survivor."""
    changelog = "agencies-changelog"
    inputs = {
        p: [
            InputMessage(p, offset, key, value)
            for offset, (key, value, _) in enumerate(broker.logs.get((FACTS, p), []))
            if value is not None
        ]
        for p in range(broker.partitions)
    }

    def start() -> AgencyStage:
        stage = AgencyStage(config, broker.table(changelog), broker.write_row(changelog), metrics)
        for p in inputs:
            stage.load(p)
        return stage

    def step(stage: AgencyStage, batch: list[InputMessage], crash_phase: int | None) -> bool:
        return broker.run_batch(
            stage.phases([(m.partition, m.offset, m.key, m.value) for m in batch]), crash_phase
        )

    return run_restarting(broker, inputs, plan, start, step)


def inputs_of(messages: list[Message], partitions: int) -> dict[str, dict[int, list[InputMessage]]]:
    """Messages as the input topics hold them: partition by key, offsets in send order."""
    out: dict[str, dict[int, list[InputMessage]]] = {
        DOSSIER_TOPIC: {p: [] for p in range(partitions)},
        DOCUMENT_TOPIC: {p: [] for p in range(partitions)},
    }
    for m in messages:
        log = out[m.topic][partition_of(m.key, partitions)]
        log.append(InputMessage(partition_of(m.key, partitions), len(log), m.key, m.value))
    return out


def run_with_crashes(
    messages: list[Message],
    config: KpiConfig,
    rng: random.Random,
    plans: dict[str, Plan],
    partitions: int = 4,
    hides_newest_batch: bool = False,
    zombies: bool = False,
) -> tuple[AgencyStage, CrashingBroker, dict[str, dict[int, list[InputMessage]]]]:
    """Both stages over ``messages``; ``plans`` per stage (the two input topics' stage 1, and
    ``"agencies"``). Returns the final agency stage, the broker and the inputs."""
    broker = CrashingBroker(rng, partitions, hides_newest_batch=hides_newest_batch, zombies=zombies)
    inputs = inputs_of(messages, partitions)
    metrics = pipeline_metrics(CollectorRegistry())  # shared by every stage and incarnation
    for contract, by_partition in inputs.items():
        plan = plans.get(contract, Plan(()))
        run_entity_stage(broker, contract, contract, config, by_partition, plan, metrics)
    agencies = run_agency_stage(broker, config, plans.get("agencies", Plan(())), metrics)
    return agencies, broker, inputs


def skipped_offsets(stage: AgencyStage) -> float:
    """``citypulse_offsets_skipped_total`` over every stage and incarnation of a run."""
    assert stage.metrics is not None
    return sum(
        sample.value
        for family in stage.metrics.skipped.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def inconsistent_facts(stage: AgencyStage) -> dict[str, float]:
    """``citypulse_facts_inconsistent_total`` per reason, over every incarnation of stage 2."""
    assert stage.metrics is not None
    return {
        sample.labels["reason"]: sample.value
        for family in stage.metrics.facts_inconsistent.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }
