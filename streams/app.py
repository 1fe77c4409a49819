"""The Faust app: two stages on Kafka (see entity_stage.py and agency_stage.py).

Built by :func:`create_worker` from explicit parts (no module globals), so that tests and
the CLI compose it the same way. Messages are consumed as raw bytes and validated by the
schemas (a faust.Record would crash the agent on bad input); every table row is written
with an explicit changelog partition, once per batch.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.streams.kpi import KpiConfig, KpiReport
from faust.types import TP
from prometheus_client import CollectorRegistry

from .agency_stage import AgencyStage
from .entity_stage import EntityStage, InputMessage, Outputs
from .lag import ConsumerLag
from .metrics import KpiCollector, pipeline_metrics

__all__ = ["Worker", "WorkerConfig", "create_worker"]

log = logging.getLogger(__name__)

#: a message a stage wants sent: topic, key, value, partition (None: by key), headers
Outgoing = tuple[str, bytes | None, bytes | None, int | None, list[tuple[str, bytes]] | None]


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
    batch_size: int = 1000
    batch_within: float = 0.1
    session_timeout: float = 10.0
    commit_interval: float = 1.0
    embedded_broker: bool = False  # work around Tansu's LATEST offsets (BROKER-NOTES #1)
    credentials: Any = None  # faust.SASLCredentials / SSLCredentials
    data_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "citypulse")
    faust_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Worker:
    app: faust.App
    registry: CollectorRegistry
    entity_stages: dict[str, EntityStage]
    agency_stage: AgencyStage
    latest_report: list[KpiReport] = field(default_factory=list)

    def report(self) -> KpiReport:
        if self.latest_report:
            return self.latest_report[-1]
        return KpiReport(None, "", {}, {}, ())


def create_worker(
    config: WorkerConfig, kpi: KpiConfig, registry: CollectorRegistry | None = None
) -> Worker:
    registry = registry or CollectorRegistry()
    config.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    metrics = pipeline_metrics(registry, (config.dossier_topic, config.document_topic))
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
    }
    if config.embedded_broker:
        options["producer_max_batch_size"] = 16  # one record per batch (BROKER-NOTES #1)
    if config.credentials is not None:
        options["broker_credentials"] = config.credentials
    options.update(config.faust_options)
    app = faust.App(config.app_id, broker=config.brokers, **options)

    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    facts = app.topic(config.facts_topic, partitions=config.partitions, internal=True, **raw)

    def table(name: str) -> Any:
        # bytes keys and values: Faust's changelog codec is then "raw" (our JSON inside)
        return app.Table(
            name, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes
        )

    def outputs(outbox: list[Outgoing], t: Any) -> Outputs:
        """Outputs of one stage: each send is queued in ``outbox``; :func:`delivered` hands
        them to the producer in order and waits until the broker acknowledged all of them.
        Table rows go straight to the table's changelog topic (with the memory store, Faust
        recovers a table by reading its changelog from the start, so nothing else is kept)."""
        changelog = t.changelog_topic.get_topic_name()

        def write_row(partition: int, key: bytes, value: bytes | None) -> None:
            outbox.append((changelog, key, value, partition, None))

        def send_facts(agency: str, value: bytes) -> None:
            outbox.append((config.facts_topic, agency.encode(), value, None, None))

        def send_watermark(value: bytes) -> None:
            outbox.extend(
                (config.facts_topic, None, value, partition, None)
                for partition in range(config.partitions)
            )

        def send_dead_letter(
            key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
        ) -> None:
            outbox.append((config.dead_letter_topic, key, value, None, headers))

        return Outputs(write_row, send_facts, send_watermark, send_dead_letter)

    async def delivered(outbox: list[Outgoing]) -> None:
        """Send what a stage queued, in order, and wait until the broker acknowledged it all;
        only then is the stage's input batch acknowledged.

        Straight to the producer rather than Faust's ``send_soon``: that buffer is drained one
        message at a time, stalls every stream while it holds more than 100 messages, and its
        flush before a commit gives up after 0.1 s without progress
        (faust/transport/producer.py, flush_atmost), so offsets could be committed for output
        not yet sent, which a crash then loses.
        """
        producer = app.producer
        pending = []
        for topic, key, value, partition, headers in outbox:
            pending.append(await producer.send(topic, key, value, partition, None, headers))
        outbox.clear()
        await asyncio.gather(*pending)

    agency_table = table("agencies")
    agency_outbox: list[Outgoing] = []
    agency_stage = AgencyStage(
        kpi, agency_table.data, outputs(agency_outbox, agency_table).write_row
    )
    stages: dict[str, EntityStage] = {}
    outboxes: dict[str, list[Outgoing]] = {}
    for name, contract in (
        (config.dossier_topic, DOSSIER_TOPIC),
        (config.document_topic, DOCUMENT_TOPIC),
    ):
        t = table(f"entities-{contract.split('.')[1].removesuffix('-events')}")
        outboxes[name] = []
        stages[name] = EntityStage(name, contract, kpi, t.data, outputs(outboxes[name], t), metrics)

    def entity_agent(stage: EntityStage, sent: list[Outgoing]) -> Callable[[Any], Any]:
        async def agent(stream: Any) -> None:
            async for events in stream.take_events(config.batch_size, within=config.batch_within):
                stage.process(
                    InputMessage(e.message.partition, e.message.offset, e.key, e.value)
                    for e in events
                )
                await delivered(sent)
                stage.checkpoint()  # phase 2: only once everything above is durable
                await delivered(sent)

        return agent

    for name, stage in stages.items():
        app.agent(app.topic(name, **raw), name=f"citypulse.entities.{name}")(
            entity_agent(stage, outboxes[name])
        )

    async def agencies(stream: Any) -> None:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            for event in events:
                agency_stage.process(event.message.partition, event.key, event.value)
            await delivered(agency_outbox)

    app.agent(facts, name="citypulse.agencies")(agencies)
    worker = Worker(app, registry, stages, agency_stage)
    registry.register(KpiCollector(worker.report))
    lag = ConsumerLag(stages)
    registry.register(lag)

    async def publish_report() -> None:
        """Refresh the report /metrics serves (built here, in the event loop, not by the
        HTTP thread, so that it never reads state while an agent changes it)."""
        if app.rebalancing or app.in_recovery:
            return
        lag.refresh(app.consumer)
        report = agency_stage.report()
        if report is not None:
            worker.latest_report[:] = [report]

    app.timer(0.25)(publish_report)

    async def on_revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
        for name, stage in stages.items():
            stage.revoke(tp.partition for tp in revoked if tp.topic == name)
        agency_stage.revoke(tp.partition for tp in revoked if tp.topic == config.facts_topic)

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]

    async def on_rebalance_complete(sender: Any, **kwargs: Any) -> None:
        """Adopt the agency rows recovered for our facts partitions. Only now: Faust sends
        this once table recovery is over; reading the table earlier would adopt a partial
        state and later writes would overwrite the recovered rows."""
        for tp in app.assignor.assigned_actives():
            if tp.topic == config.facts_topic and tp.partition not in agency_stage.loaded:
                agency_stage.load(tp.partition)
            elif tp.topic in stages and tp.partition not in stages[tp.topic].partitions:
                stages[tp.topic].load(tp.partition)

    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    return worker
