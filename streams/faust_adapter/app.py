"""The Faust app: two stages on Kafka (see stages/entity.py and stages/agency.py).

Built by :func:`create_worker` from explicit parts (no module globals), so that tests and
the CLI compose it the same way. Messages are consumed as raw bytes and validated by the
schemas (a faust.Record would crash the stage on bad input); every table row is written
with an explicit changelog partition, once per batch, and a stage's output goes out as one
record batch per partition (batches.py), not as one Faust message per record.

Faust keeps the group membership, the assignments, the tables and their recovery, and the
offset commits; the stages are not Faust agents. Each fetch's records of a stage's topic are
handed to the stage as batches (``App.deliver_batches``), and acknowledged once the batch's
output is delivered: Faust's per-message path (an event, a stream step and an ack each) cost
more than the stages' own work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer
from faust.types import TP
from prometheus_client import CollectorRegistry

from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.streams.kpi import DOCUMENTS, DOSSIERS, KpiConfig, KpiReport, LabelGuard

from ..exits import EXIT_INCOMPLETE, EXIT_STAGE_FAILED, EXIT_UNDELIVERED
from ..exposition.health import LivenessCollector
from ..exposition.liveness import Liveness
from ..exposition.metrics import KpiCollector, pipeline_metrics
from ..stages.agency import AgencyStage
from ..stages.codec import version_header
from ..stages.entity import EntityStage, InputMessage, Outputs
from ..stages.protocol import run_batch
from ..stages.sequence_guard import SequenceGuard
from .batches import RecordBatches
from .changelog_repair import missing_records, read_missing
from .lag import ConsumerLag, unread
from .transport import App, last_fetch_age, producer_of, recovered_ends, resume_at
from .versioned_store import VersionedTable

__all__ = ["Worker", "WorkerConfig", "create_worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    brokers: list[str]  # kafka://host:port URLs
    dossier_topic: str = DOSSIER_TOPIC
    document_topic: str = DOCUMENT_TOPIC
    dead_letter_topic: str = "citypulse.dead-letter"
    facts_topic: str = "citypulse.agency-facts"
    partitions: int = 4
    replication_factor: int = 1
    app_id: str = "citypulse"
    #: most input messages per batch of a stage (a fetch's records are split into batches)
    batch_size: int = 1000
    #: batches fetched and waiting for a stage, at most (then the fetch loop waits)
    batches_queued: int = 4
    #: bytes per record batch the worker sends (Kafka's default message.max.bytes is ~1 MiB)
    max_batch_bytes: int = 512 * 1024
    session_timeout: float = 10.0
    commit_interval: float = 1.0
    #: how long the worker may be unassigned, recovering or stalled before it gives up
    stall_timeout: float = 120.0
    credentials: Any = None  # faust.SASLCredentials / SSLCredentials
    data_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "citypulse")
    faust_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Worker:
    app: faust.App
    registry: CollectorRegistry
    agency_stage: AgencyStage
    liveness: Liveness
    latest_report: list[KpiReport] = field(default_factory=list)
    processed: int = 0  # input and facts messages handled (what liveness calls progress)

    def report(self) -> KpiReport:
        if self.latest_report:
            return self.latest_report[-1]
        return KpiReport(None, "", {}, {}, ())


def _exit(status: int, message: str) -> None:
    """Exit at once: the worker's in-memory state may be ahead of what is durable; its
    supervisor restarts it and it recovers from the changelogs."""
    log.critical(message, exc_info=True)
    logging.shutdown()
    os._exit(status)


async def guarded(batch: Awaitable[None]) -> None:
    """Run a batch, and exit if the broker refused its output for good. Cancelled (the
    worker stops), it stops: its input is not acknowledged, so it is delivered again."""
    try:
        await batch
    except asyncio.CancelledError:
        raise
    except Exception:
        _exit(EXIT_UNDELIVERED, "a batch's output could not be delivered: exiting")


def create_worker(
    config: WorkerConfig, kpi: KpiConfig, registry: CollectorRegistry | None = None
) -> Worker:
    registry = registry or CollectorRegistry()
    config.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    metrics = pipeline_metrics(registry, (config.dossier_topic, config.document_topic))
    metrics.skipped.labels(config.facts_topic)
    options: dict[str, Any] = {
        "store": "memory://",
        "topic_partitions": config.partitions,
        "topic_replication_factor": config.replication_factor,
        "broker_session_timeout": config.session_timeout,
        "broker_commit_interval": config.commit_interval,
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": False,
        "topic_allow_declare": True,
        "datadir": config.data_dir / f"{config.app_id}-data",
        "producer_max_batch_size": config.max_batch_bytes,
        # a standby's copy is never used: an in-memory table is recovered from the start of
        # its changelog whenever a partition becomes active (faust's memory store)
        "table_standby_replicas": 0,
    }
    if config.credentials is not None:
        options["broker_credentials"] = config.credentials
    options.update(config.faust_options)
    app = App(config.app_id, broker=config.brokers, **options)
    app.on_group_takeover = metrics.takeovers.inc

    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    facts = app.topic(config.facts_topic, partitions=config.partitions, internal=True, **raw)

    def table(name: str) -> VersionedTable:
        return VersionedTable.create(app, name, config.partitions)

    def producer() -> AIOKafkaProducer:
        # Faust's own aiokafka producer (its settings, credentials and lifecycle)
        return cast(AIOKafkaProducer, producer_of(app))

    def outputs(out: RecordBatches, changelog: str) -> Outputs:
        """Outputs of one stage, queued in ``out``; the stage's agent sends them."""

        def write_row(partition: int, key: bytes, value: bytes | None, version: int) -> None:
            out.add(changelog, partition, key, value, (version_header(version),))

        def send_facts(agency: str, value: bytes) -> None:
            out.add(config.facts_topic, None, agency.encode(), value)

        def send_watermark(value: bytes) -> None:
            for partition in range(config.partitions):
                out.add(config.facts_topic, partition, None, value)

        def send_dead_letter(
            key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
        ) -> None:
            out.add(config.dead_letter_topic, None, key, value, headers)

        return Outputs(write_row, send_facts, send_watermark, send_dead_letter)

    agency_table = table("agencies")
    tables = [agency_table]
    agency_out = RecordBatches(producer)
    agency_stage = AgencyStage(
        kpi,
        agency_table.data,
        outputs(agency_out, agency_table.changelog_topic.get_topic_name()).write_row,
        metrics,
        config.facts_topic,
    )
    stages: dict[str, EntityStage] = {}
    stage_out: dict[str, RecordBatches] = {}
    labels = LabelGuard(kpi.known_agencies, kpi.max_agencies)  # one bound per worker
    for name, flow in ((config.dossier_topic, DOSSIERS), (config.document_topic, DOCUMENTS)):
        t = table(f"entities-{flow.name}")
        tables.append(t)
        stage_out[name] = RecordBatches(producer)
        stages[name] = EntityStage(
            name,
            flow.topic.name,
            kpi,
            t.data,
            outputs(stage_out[name], t.changelog_topic.get_topic_name()),
            metrics,
            labels,
        )

    by_changelog = {t.changelog_topic.get_topic_name(): t for t in tables}
    for t in tables:
        metrics.reread.labels(t.name)  # 0 from the start, not "no data"

    # One lock per stage, held for a whole batch (all its phases): a rebalance revokes and
    # adopts partitions only between two batches. Replaced between phase 1 and the checkpoint
    # phase, a partition lost its progress, so no checkpoint was written for a batch that was
    # then acknowledged and committed (seen in a chaos run: 150 events lost).
    locks: dict[object, asyncio.Lock] = {}

    guard: SequenceGuard[TP] = SequenceGuard()

    async def current(messages: Sequence[Any], stage: EntityStage | AgencyStage) -> list[Any]:
        """The messages to process: fetched in the consumer's current generation, and each
        partition's in sequence from where the stage's state ends, of partitions the stage
        holds (sequence_guard.py). The others are left unacknowledged, never processed:
        older ones (fetched before a rebalance, still queued) and those of partitions the
        stage gave up may be of partitions that are another worker's now, and are read
        again from where their state ends after the rebalance; early ones are read again
        after a seek back."""
        generation = app.consumer_generation_id
        fresh = [m for m in messages if m.generation_id == generation]
        if len(fresh) < len(messages):
            log.info(
                "%d messages fetched before a rebalance dropped (delivered again)",
                len(messages) - len(fresh),
            )

        def expected(tp: TP) -> int | None:
            return stage.resume_offset(tp.partition) if stage.holds(tp.partition) else None

        verdicts, seek = guard.admit(((m.tp, m.offset) for m in fresh), expected)
        if not seek and all(verdicts):
            return fresh
        for tp, offset in seek.items():
            log.warning(
                "%s: messages from beyond %d arrived before it: withheld, sought back", tp, offset
            )
            await app.consumer.seek(tp, offset)
        return [m for m, ok in zip(fresh, verdicts, strict=True) if ok]

    #: batches delivered and not yet taken by their stage, per stage (cleared on revocation)
    queues: list[asyncio.Queue[list[Any]]] = []

    def run_stage(
        topic: faust.TopicT,
        stage: EntityStage | AgencyStage,
        send: Callable[[], Awaitable[None]],
        after: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Deliver ``topic``'s records to ``stage`` in batches; each batch holds the stage's
        lock through all its phases, and is acknowledged once its last phase's output is
        delivered; then ``after``."""
        queue: asyncio.Queue[list[Any]] = asyncio.Queue(config.batches_queued)
        queues.append(queue)
        lock = locks[stage] = asyncio.Lock()

        async def deliver(messages: list[Any]) -> None:
            for start in range(0, len(messages), config.batch_size):
                await queue.put(messages[start : start + config.batch_size])

        async def loop() -> None:
            try:
                while True:
                    messages = await queue.get()
                    async with lock:
                        admitted = await current(messages, stage)
                        batch = [
                            InputMessage(m.partition, m.offset, m.key, m.value) for m in admitted
                        ]
                        await guarded(run_batch(stage.phases(batch), send))
                    cast(Any, app.consumer).acknowledge(admitted)
                    worker.processed += len(batch)
                    if after is not None:
                        await after()
            except asyncio.CancelledError:
                raise
            except Exception:
                _exit(EXIT_STAGE_FAILED, f"the stage reading {topic.get_topic_name()} failed")

        app.deliver_batches(topic, deliver)
        app.run_from_start(loop)

    liveness = Liveness(config.stall_timeout, time.monotonic())
    worker = Worker(app, registry, agency_stage, liveness)
    registry.register(KpiCollector(worker.report))
    lag = ConsumerLag(stages.keys())
    registry.register(lag)
    registry.register(LivenessCollector(liveness))
    read_topics = (*stages, config.facts_topic)

    async def observe() -> None:
        """What liveness.py judges the worker by, once a second."""
        consumer = app.consumer
        unread_now = unread(consumer, read_topics)
        try:
            assigned = any(tp.topic in read_topics for tp in consumer.assignment())
        except Exception:  # not started yet
            assigned = False
        fetched_ago = last_fetch_age(consumer, read_topics, time.time() * 1000)
        liveness.observe(
            time.monotonic(),
            assigned=assigned,
            connected=fetched_ago is None or fetched_ago < config.session_timeout,
            recovering=app.rebalancing or app.in_recovery,
            lag=1 if unread_now is None else sum(unread_now.values()),
            processed=worker.processed,
            recovered=sum(t.changelog_read for t in tables),
        )

    app.every_from_start(1.0, observe)  # from the start: recovery included

    async def publish_report() -> None:
        """Refresh the report /metrics serves (built here, in the event loop, not by the
        HTTP thread, so that it never reads state while an agent changes it): after each
        batch of the agency stage (once its rows are durable), and on a timer (when idle)."""
        if app.rebalancing or app.in_recovery:
            return
        lag.refresh(app.consumer)
        report = agency_stage.report()
        if report is not None:
            worker.latest_report[:] = [report]

    app.timer(0.25)(publish_report)

    for name, stage in stages.items():
        run_stage(app.topic(name, **raw), stage, stage_out[name].send)
    # after each batch, at once rather than at the next tick: part of the latency
    run_stage(facts, agency_stage, agency_out.send, publish_report)

    @contextlib.asynccontextmanager
    async def between_batches() -> AsyncIterator[None]:
        """Hold every stage's lock: no batch is between two of its phases."""
        async with contextlib.AsyncExitStack() as held:
            for lock in locks.values():
                await held.enter_async_context(lock)
            yield

    #: rebalances begun so far (on_revoked): an adoption that waited across one is stale
    revocations = [0]

    async def on_revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
        revocations[0] += 1
        resume_at(app.consumer, {})
        guard.revoke()
        for queue in queues:  # of the generation that ends: never acknowledged, read again
            while not queue.empty():
                queue.get_nowait()
        async with between_batches():
            for name, stage in stages.items():
                stage.revoke(tp.partition for tp in revoked if tp.topic == name)
            agency_stage.revoke(tp.partition for tp in revoked if tp.topic == config.facts_topic)
            # at once, not after the rebalance: /metrics must stop showing agencies that are
            # about to be another worker's (each KPI series from one worker only, CONTRACT §5)
            report = agency_stage.report()
            worker.latest_report[:] = [] if report is None else [report]

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    async def on_rebalance_complete(sender: Any, **kwargs: Any) -> None:
        """Adopt the rows recovered for every partition assigned to us, again each time,
        once what recovery skipped of their changelogs is read (changelog_repair.py).

        Only now: Faust sends this once table recovery is over; reading the table earlier
        would adopt a partial state. And every time, not only for partitions not adopted yet:
        a recovery cut short by the next rebalance also ends with this signal (Faust 0.15),
        with the store half read, and the next, complete recovery sends it again. A stage
        writes every row to the store as it goes, so adopting the store again is always
        safe."""
        revoked_before = revocations[0]
        actives = app.assignor.assigned_actives()
        mine = [tp for tp in actives if tp.topic == config.facts_topic or tp.topic in stages]
        changelogs = [tp for tp in actives if tp.topic in by_changelog]
        # where each partition's log starts: a partition adopted without any state must be
        # read from there, or the skip check counts what it jumped (streams/stages/entity.py);
        # a changelog must have been applied from there (changelog_repair.py)
        firsts = await app.consumer.earliest_offsets(*mine, *changelogs) if actives else {}
        ends = recovered_ends(app, changelogs)
        began = time.monotonic()
        async with between_batches():
            if revocations[0] != revoked_before:
                # The next rebalance began while this one's completion waited (a recovery
                # cut short ends with this signal too, and its revocation may run first):
                # adopting its partitions now would keep partitions that are another
                # worker's, and export their agencies twice (seen in a chaos run). The
                # next completion adopts what is ours then.
                log.info("a rebalance began meanwhile: adoption left to its completion")
                return
            unread = await read_missing(
                by_changelog,
                missing_records(by_changelog, firsts, ends),
                cast(Any, app.consumer).read_ranges,
                lambda table, n: metrics.reread.labels(table).inc(n),
            )
            if unread:  # never serve an incomplete state: a restart recovers it afresh
                log.critical("changelog records could not be read: %s: exiting", unread)
                logging.shutdown()
                os._exit(EXIT_INCOMPLETE)
            resume = {}
            for tp in mine:
                if tp.topic == config.facts_topic:
                    agency_stage.load(tp.partition, firsts.get(tp))
                    resume[tp] = agency_stage.resume_offset(tp.partition)
            for name, stage in stages.items():
                await asyncio.sleep(0)  # one stage at a time: liveness observes in between
                adopted = stage.adopt(
                    {tp.partition: firsts.get(tp) for tp in mine if tp.topic == name}
                )
                resume.update({TP(name, p): stage.resume_offset(p) for p in adopted})
        log.info(
            "adopted the state of %d partitions in %.1f s", len(mine), time.monotonic() - began
        )
        # Each partition is read again from where its state ends: the consumer seeks there
        # after Faust's seek to the committed offsets (transport.py, perform_seek); the guard
        # refuses what arrives from further on (current()).
        resume_at(app.consumer, resume)

    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    return worker
