"""Stage 1 of the worker: input messages -> entity state -> facts per agency.

One :class:`~citypulse.streams.kpi.KpiEngine` per input partition (stream time, lateness and
dedup per partition), recording its facts. A batch of messages is processed in order; then
every entity row it touched is written once, to the changelog partition of its input
partition, and the facts go out grouped by agency, followed by a watermark.

Why this survives crashes and redeliveries: all writes for one input partition go to one
changelog partition in processing order, and Faust flushes the producer before it commits
input offsets. After a crash the changelog holds a prefix of the writes, and the replay from
the last commit makes the same decisions again. An event already applied (its id is in its
entity's row) is not applied twice: the facts it emitted are sent again, with their original
offset, and the agency stage applies them only if it had not already.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import NamedTuple

from citypulse.schemas import DecodeError, decode
from citypulse.schemas.document import DocumentEventBase
from citypulse.schemas.privacy import scrub
from citypulse.streams.kpi import (
    APPLIED,
    DocumentRecord,
    DossierRecord,
    Fact,
    FactRecorder,
    KpiConfig,
    KpiEngine,
)

from .codec import EntityRow, dumps, facts_message, source_name
from .metrics import PipelineMetrics

__all__ = ["EntityStage", "InputMessage", "Outputs"]

log = logging.getLogger(__name__)


class InputMessage(NamedTuple):
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class Outputs(NamedTuple):
    """Where stage 1 writes; the Faust app passes producer-backed callables, tests pass lists."""

    write_row: Callable[[int, bytes, bytes | None], None]  # changelog partition, key, value/None
    send_facts: Callable[[str, bytes], None]  # agency key, message
    send_watermark: Callable[[bytes], None]  # to every facts partition
    dead_letter: Callable[[bytes | None, bytes, list[tuple[str, bytes]]], None]


@dataclass
class _Partition:
    engine: KpiEngine
    recorder: FactRecorder
    rows: dict[str, EntityRow]
    released: set[str] = field(default_factory=set)


class EntityStage:
    def __init__(
        self,
        topic: str,
        contract_topic: str,
        config: KpiConfig,
        store: MutableMapping[bytes, bytes],
        outputs: Outputs,
        metrics: PipelineMetrics | None = None,
    ) -> None:
        """``topic``: the input topic's name; ``contract_topic``: which contract topic it carries
        (names may be changed by settings); ``store``: the table's data (recovered rows)."""
        self.topic = topic
        self.contract_topic = contract_topic
        self.dossier = contract_topic.startswith("citypulse.dossier")
        self.config = config
        self.store = store
        self.out = outputs
        self.metrics = metrics
        self.partitions: dict[int, _Partition] = {}
        #: entities released by the last batch: delete their rows only once the facts of their
        #: events are durable (call :meth:`write_tombstones` after flushing the producer)
        self.tombstones: list[tuple[int, str]] = []

    # -- partitions ----------------------------------------------------------------------
    def _partition(self, partition: int) -> _Partition:
        part = self.partitions.get(partition)
        if part is None:
            log.warning("%s[%d]: message before the partition was loaded", self.topic, partition)
            part = self.load(partition)
        return part

    def load(self, partition: int) -> _Partition:
        """Adopt the rows recovered for ``partition`` (call once table recovery is over)."""
        part = self.partitions[partition] = self._recover(partition)
        return part

    def _recover(self, partition: int) -> _Partition:
        """Rebuild a partition's engine from the rows the table recovered for it."""
        rows: dict[str, EntityRow] = {}
        for key, raw in list(self.store.items()):
            row = EntityRow.decode(raw, self.dossier)
            if row.partition == partition:
                rows[key.decode()] = row
        recorder = FactRecorder()
        part = _Partition(KpiEngine(self.config, sink=recorder), recorder, rows)
        part.engine.on_release = part.released.add
        records = {k: r.record for k, r in rows.items()}
        if self.dossier:
            part.engine.adopt(
                {k: r for k, r in records.items() if isinstance(r, DossierRecord)}, {}
            )
        else:
            part.engine.adopt(
                {}, {k: r for k, r in records.items() if isinstance(r, DocumentRecord)}
            )
        return part

    def revoke(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.partitions.pop(p, None)

    def stream_time(self) -> float | None:
        times = [
            p.engine.stream_time
            for p in self.partitions.values()
            if p.engine.stream_time is not None
        ]
        return max(times, default=None)

    # -- a batch -------------------------------------------------------------------------
    def process(self, batch: Iterable[InputMessage]) -> None:
        dirty: dict[int, set[str]] = defaultdict(set)
        by_agency: dict[str, list[tuple[str, int, list[Fact]]]] = defaultdict(list)
        touched: set[int] = set()
        now = time.time()
        for message in batch:
            touched.add(message.partition)
            self._one(message, now, dirty, by_agency)
        for partition, ids in dirty.items():
            part = self.partitions[partition]
            for entity_id in ids:
                row = part.rows.get(entity_id)
                self._write(partition, entity_id.encode(), None if row is None else row.encode())
        parts = {p: self.partitions[p] for p in touched if p in self.partitions}
        for partition, part in parts.items():
            for entity_id in part.released:
                part.rows.pop(entity_id, None)
                self.tombstones.append((partition, entity_id))
            part.released.clear()
        for agency, items in by_agency.items():
            self.out.send_facts(agency, facts_message(items))
        watermark: dict[str, float] = {}
        for p, part in parts.items():
            if part.engine.stream_time is not None:
                watermark[source_name(self.topic, p)] = part.engine.stream_time
        if watermark:
            self.out.send_watermark(dumps({"wm": watermark}))
            if self.metrics is not None:
                self.metrics.stream_time.labels(self.topic).set(max(watermark.values()))

    def write_tombstones(self) -> None:
        """Delete the rows of released entities (after the producer was flushed).

        A released entity's row is what says its events were applied. Were its deletion
        durable while the facts of its last events were not (they go to another topic), a
        replay after a crash would judge those events late and their facts would be lost.
        """
        for partition, entity_id in self.tombstones:
            part = self.partitions.get(partition)
            if part is None or entity_id not in part.rows:  # not re-created meanwhile
                self._write(partition, entity_id.encode(), None)
        self.tombstones.clear()

    def _write(self, partition: int, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.store.pop(key, None)
        else:
            self.store[key] = value
        self.out.write_row(partition, key, value)

    def _one(
        self,
        message: InputMessage,
        now: float,
        dirty: dict[int, set[str]],
        by_agency: dict[str, list[tuple[str, int, list[Fact]]]],
    ) -> None:
        m = self.metrics
        event = decode(self.contract_topic, message.value)
        if isinstance(event, DecodeError):
            self._reject(message, event.reason, event.detail)
            if m is not None:
                m.invalid.labels(self.topic, event.reason).inc()
            return
        if m is not None:
            m.events.labels(self.topic, event.event_type).inc()
            m.lag.labels(self.topic).observe(max(0.0, now - event.occurred_at.timestamp()))
        part = self._partition(message.partition)
        entity_id = event.document_id if isinstance(event, DocumentEventBase) else event.dossier_id
        source = source_name(self.topic, message.partition)
        row = part.rows.get(entity_id)
        if row is not None and event.event_id in row.facts:
            offset, facts = row.facts[event.event_id]
            self._route(source, offset, facts, by_agency)  # applied before: send again, idempotent
            if (
                offset != message.offset and m is not None
            ):  # a repeat from upstream, not a redelivery
                m.duplicate.labels(self.topic).inc()
            return
        outcome = part.engine.apply(event)
        if outcome == APPLIED:
            facts = list(part.recorder.facts)
            part.recorder.facts.clear()
            record = (
                part.engine.dossiers.get(entity_id)
                if self.dossier
                else part.engine.documents.get(entity_id)
            )
            assert record is not None
            if row is None or row.record is not record:
                row = part.rows[entity_id] = EntityRow(message.partition, record)
            row.facts[event.event_id] = [message.offset, facts]
            part.released.discard(entity_id)
            dirty[message.partition].add(entity_id)
            self._route(source, message.offset, facts, by_agency)
            return
        if outcome == "duplicate":  # in the record but not in the facts (not expected)
            if m is not None:
                m.duplicate.labels(self.topic).inc()
            return
        detail = (
            f"occurred_at {event.occurred_at.isoformat()} is older than stream time - lateness"
            if outcome == "late"
            else f"a second {event.event_type} for this entity (event_id {event.event_id})"
        )
        self._reject(message, outcome, detail)
        if m is not None:
            (m.late if outcome == "late" else m.conflict).labels(self.topic).inc()

    @staticmethod
    def _route(
        source: str,
        offset: int,
        facts: list[Fact],
        by_agency: dict[str, list[tuple[str, int, list[Fact]]]],
    ) -> None:
        grouped: dict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            grouped["/".join(fact[1])].append(fact)
        for agency, agency_facts in grouped.items():
            by_agency[agency].append((source, offset, agency_facts))

    def _reject(self, message: InputMessage, reason: str, detail: str) -> None:
        headers = [
            ("error.reason", reason.encode()),
            ("error.detail", detail.encode()[:1000]),
            ("source.topic", self.topic.encode()),
            ("source.partition", str(message.partition).encode()),
            ("source.offset", str(message.offset).encode()),
        ]
        self.out.dead_letter(message.key, scrub(message.value), headers)
