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
    dead_letter = app.topic(config.dead_letter_topic, **raw)
    facts = app.topic(config.facts_topic, partitions=config.partitions, internal=True, **raw)

    def table(name: str) -> Any:
        # bytes keys and values: Faust's changelog codec is then "raw" (our JSON inside)
        return app.Table(
            name, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes
        )

    def outputs(in_flight: list[Any], t: Any) -> Outputs:
        """Producer-backed outputs of one stage; every send's delivery future goes to
        ``in_flight``, and the stage awaits them all before its input is acknowledged."""

        def write_row(partition: int, key: bytes, value: bytes | None) -> None:
            in_flight.append(
                t.send_changelog(
                    partition, key, value, key_serializer="raw", value_serializer="raw"
                )
            )

        def send_facts(agency: str, value: bytes) -> None:
            in_flight.append(facts.send_soon(key=agency.encode(), value=value))

        def send_watermark(value: bytes) -> None:
            in_flight.extend(
                facts.send_soon(key=None, value=value, partition=partition)
                for partition in range(config.partitions)
            )

        def send_dead_letter(
            key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
        ) -> None:
            in_flight.append(dead_letter.send_soon(key=key, value=value, headers=headers))

        return Outputs(write_row, send_facts, send_watermark, send_dead_letter)

    async def delivered(in_flight: list[Any]) -> None:
        """Wait until every message sent so far by this stage is acknowledged by the broker.

        Faust flushes its producer before committing offsets, but its buffer flush gives up
        after 0.1 s without progress (faust/transport/producer.py, flush_atmost), so under
        load offsets can be committed for output still in the buffer; a crash then loses it.
        Waiting here, before the batch is acknowledged, makes every commit cover only output
        the broker has.
        """
        while in_flight:
            pending = list(in_flight)
            in_flight.clear()
            await asyncio.gather(*pending)

    agency_table = table("agencies")
    agency_in_flight: list[Any] = []
    agency_stage = AgencyStage(
        kpi, agency_table.data, outputs(agency_in_flight, agency_table).write_row
    )
    stages: dict[str, EntityStage] = {}
    in_flight: dict[str, list[Any]] = {}
    for name, contract in (
        (config.dossier_topic, DOSSIER_TOPIC),
        (config.document_topic, DOCUMENT_TOPIC),
    ):
        t = table(f"entities-{contract.split('.')[1].removesuffix('-events')}")
        in_flight[name] = []
        stages[name] = EntityStage(
            name, contract, kpi, t.data, outputs(in_flight[name], t), metrics
        )

    def entity_agent(stage: EntityStage, sent: list[Any]) -> Callable[[Any], Any]:
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
            entity_agent(stage, in_flight[name])
        )

    async def agencies(stream: Any) -> None:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            for event in events:
                agency_stage.process(event.message.partition, event.key, event.value)
            await delivered(agency_in_flight)

    app.agent(facts, name="citypulse.agencies")(agencies)
    worker = Worker(app, registry, stages, agency_stage)
    registry.register(KpiCollector(worker.report))
    lag = ConsumerLag(stages.keys())
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
