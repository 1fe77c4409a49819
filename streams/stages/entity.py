"""Stage 1 of the worker: input messages -> entity state -> facts per agency.

One :class:`~citypulse.streams.kpi.KpiEngine` per input partition (stream time, lateness and
dedup per partition), recording its facts. A batch of messages is processed in order; then
every entity row it touched is written once, to the changelog partition of its input
partition, and the facts go out grouped by agency, followed by a watermark.

Why this survives crashes and redeliveries (at-least-once input, no transactions):

* A batch is written in three phases, each awaited before the next. Phase 1
  (:meth:`EntityStage.process`) writes its entity rows (to the changelog partition of its
  input partition), its facts and its dead letters. Phase 2 (:meth:`EntityStage.release`)
  writes the tombstones of released entities. Phase 3 (:meth:`EntityStage.checkpoint`)
  writes a **checkpoint row** ``~cp/<partition>``: the last input offset of the batch and
  the stream time after it. A durable checkpoint therefore means that everything its
  batches sent is durable. The checkpoint is also sent alone, so it is alone in its record
  batch: the embedded broker's latest offset counts only the first record of a partition's
  newest batch (BROKER-NOTES #1), and table recovery must see the newest checkpoint.
* On recovery (restart, rebalance) a partition resumes from its checkpoint: a redelivered
  message at or below the checkpoint offset is skipped (it was fully handled). A message
  above it belongs to a batch that was cut short: if its event is in its entity's row, it was
  applied, and the facts it emitted are sent again with their original offset (the agency
  stage applies them only if it had not); otherwise it is applied now, against the stream
  time of the checkpoint advanced by the events replayed before it, so lateness is judged
  exactly as it was the first time. (Judging it against the rows instead would be wrong:
  rows of a cut-short batch may be durable for its later events only.)
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from citypulse.schemas import DecodeError
from citypulse.schemas.privacy import scrub
from citypulse.streams.kpi import (
    APPLIED,
    DUPLICATE,
    LATE,
    Fact,
    KpiConfig,
    KpiEngine,
    LabelGuard,
    Outcome,
    Tally,
    decode_fact,
    encode_fact,
    flow_of_topic,
    read,
)
from citypulse.streams.kpi.facts import agency_name

from ..exposition.metrics import PipelineMetrics, TopicTally
from .codec import (
    CHECKPOINT_PREFIX,
    Checkpoint,
    EntityRow,
    dumps,
    facts_message,
    source_name,
    write_record,
)
from .protocol import Phases

__all__ = ["EntityStage", "InputMessage", "Outputs"]

log = logging.getLogger(__name__)


class InputMessage(NamedTuple):
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class Outputs(NamedTuple):
    """Where stage 1 writes; the Faust app passes producer-backed callables, tests pass lists."""

    #: changelog partition, key, value (None: delete), version (codec.py)
    write_row: Callable[[int, bytes, bytes | None, int], None]
    send_facts: Callable[[str, bytes], None]  # agency key, message
    send_watermark: Callable[[bytes], None]  # to every facts partition
    dead_letter: Callable[[bytes | None, bytes, list[tuple[str, bytes]]], None]


#: the facts of one event, each with the agency it goes to: (agency name, encoded fact)
_Routed = list[tuple[str, list[Any]]]


@dataclass
class _Partition:
    engine: KpiEngine
    facts: list[Fact]  # emitted by the engine, not yet routed
    rows: dict[str, EntityRow]
    released: set[str] = field(default_factory=set)
    #: last input offset whose batch is fully delivered (its checkpoint is written)
    checkpoint: int = -1
    #: last input offset processed by the current batch (phase 1)
    processed: int = -1
    #: the partition's first offset (log start), if known: where a partition without a
    #: checkpoint must begin
    first: int | None = None


class _Uncounted:
    """The tally of a stage without metrics (tests)."""

    def event(self, event_type: str) -> None:
        pass

    def invalid(self, reason: str) -> None:
        pass

    def refused(self, outcome: Outcome) -> None:
        pass


class EntityStage:
    def __init__(
        self,
        topic: str,
        contract_topic: str,
        config: KpiConfig,
        store: MutableMapping[bytes, bytes],
        outputs: Outputs,
        metrics: PipelineMetrics | None = None,
        labels: LabelGuard | None = None,
    ) -> None:
        """``topic``: the input topic's name; ``contract_topic``: which contract topic it carries
        (names may be changed by settings); ``store``: the table's data (recovered rows);
        ``labels``: the worker's label bound, shared by its stages."""
        self.topic = topic
        self.contract_topic = contract_topic
        self.flow = flow_of_topic(contract_topic)
        self.config = config
        self.labels = labels or LabelGuard(config.known_agencies, config.max_agencies)
        self.store = store
        self.out = outputs
        self.metrics = metrics
        self.tally: Tally = _Uncounted() if metrics is None else TopicTally(metrics, topic)
        self._lag = None if metrics is None else metrics.lag.labels(topic)
        self.partitions: dict[int, _Partition] = {}
        #: entities released by the current batch (partition, id, version): deleted in phase 2
        self.tombstones: list[tuple[int, str, int]] = []

    # -- partitions ----------------------------------------------------------------------
    def _partition(self, partition: int) -> _Partition:
        part = self.partitions.get(partition)
        if part is None:
            log.warning("%s[%d]: message before the partition was loaded", self.topic, partition)
            part = self.load(partition)
        return part

    def load(self, partition: int, first: int | None = None) -> _Partition:
        """Adopt the rows the table holds for ``partition`` (call once table recovery is
        over), replacing what this stage held of it."""
        return self.adopt({partition: first})[partition]

    def adopt(self, firsts: Mapping[int, int | None]) -> dict[int, _Partition]:
        """:meth:`load` each partition of ``firsts`` (partition -> its first offset, if known).

        One pass over the table for all of them: the table holds every partition's rows, and
        decoding it once per partition made a restart after a million events block the
        event loop for minutes."""
        rows: dict[int, dict[str, EntityRow]] = {p: {} for p in firsts}
        for key, raw in list(self.store.items()):
            if key.startswith(CHECKPOINT_PREFIX):
                continue
            row = EntityRow.decode(raw, self.flow.record)
            if row.partition in rows:
                rows[row.partition][key.decode()] = row
        for partition, first in firsts.items():
            part = self.partitions[partition] = self._rebuild(partition, rows[partition])
            part.first = first
        return {p: self.partitions[p] for p in firsts}

    def _rebuild(self, partition: int, rows: dict[str, EntityRow]) -> _Partition:
        """A partition's engine from the rows the table recovered for it."""
        raw = self.store.get(CHECKPOINT_PREFIX + str(partition).encode())
        checkpoint = Checkpoint.decode(raw, partition)
        self.labels.restore(checkpoint.unknown)
        facts: list[Fact] = []
        engine = KpiEngine(self.config, emit=facts.append, labels=self.labels)
        part = _Partition(engine, facts, rows, set(), checkpoint.offset)
        engine.on_release = part.released.add
        records = {k: r.record for k, r in rows.items()}
        engine.adopt(self.flow, records, stream_time=checkpoint.stream_time)
        return part

    def holds(self, partition: int) -> bool:
        """Whether this stage has adopted ``partition`` (and not given it up since)."""
        return partition in self.partitions

    def resume_offset(self, partition: int) -> int:
        """Where input ``partition`` must be read from again: after the last offset its state
        covers, or at its first offset (0 if unknown) when it has no state."""
        part = self.partitions[partition]
        handled = max(part.processed, part.checkpoint)
        return handled + 1 if handled >= 0 else (part.first or 0)

    def revoke(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.partitions.pop(p, None)

    # -- a batch -------------------------------------------------------------------------
    def phases(self, batch: Iterable[InputMessage]) -> Phases:
        """The batch's phases, in order: the output of each must be delivered before the next
        one runs, and the batch acknowledged only after the last (protocol.py)."""
        return (lambda: self.process(batch), self.release, self.checkpoint)

    def process(self, batch: Iterable[InputMessage]) -> None:
        """Phase 1: apply the batch; write the rows it changed, its facts and dead letters."""
        dirty: dict[int, dict[str, int]] = defaultdict(dict)  # entity id -> version
        by_agency: dict[str, list[tuple[str, int, list[Any]]]] = defaultdict(list)
        touched: set[int] = set()
        now = time.time()
        for message in batch:
            part = self._partition(message.partition)
            if message.offset <= part.checkpoint:
                if self.metrics is not None:  # fully handled before a restart or rebalance
                    self.metrics.redelivered.labels(self.topic).inc()
                continue
            handled = max(part.processed, part.checkpoint)
            if handled < 0 and part.first is not None:
                handled = part.first - 1  # nothing handled yet: it must start at the first
            if message.offset > handled + 1 and (handled >= 0 or part.first is not None):
                self._skipped(message.partition, handled, message.offset)
            touched.add(message.partition)
            part.processed = max(part.processed, message.offset)
            self._one(message, part, now, dirty, by_agency)
        for partition, ids in dirty.items():
            part = self.partitions[partition]
            for entity_id, version in ids.items():
                row = part.rows.get(entity_id)
                value = None if row is None else row.encode()
                self._write(partition, entity_id.encode(), value, version)
        parts = {p: self.partitions[p] for p in touched if p in self.partitions}
        for partition, part in parts.items():
            for entity_id in part.released:
                part.rows.pop(entity_id, None)
                self.tombstones.append((partition, entity_id, part.processed))
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

    def release(self) -> None:
        """Phase 2 of a batch: call once everything :meth:`process` sent is delivered.

        Deletes the rows of released entities (a released entity's row is what says its
        events were applied: deleted while the facts of its last events were not durable, a
        replay would lose them).
        """
        for partition, entity_id, version in self.tombstones:
            part = self.partitions.get(partition)
            if part is None or entity_id not in part.rows:  # not re-created meanwhile
                self._write(partition, entity_id.encode(), None, version)
        self.tombstones.clear()

    def checkpoint(self) -> None:
        """Phase 3 of a batch: call once everything :meth:`release` sent is delivered.

        Writes each partition's checkpoint row, the partition's newest changelog record.
        """
        for partition, part in self.partitions.items():
            if part.processed > part.checkpoint:
                part.checkpoint = part.processed
                checkpoint = Checkpoint(
                    partition, part.checkpoint, part.engine.stream_time, self.labels.unknown()
                )
                value = checkpoint.encode()
                key = CHECKPOINT_PREFIX + str(partition).encode()
                self._write(partition, key, value, part.checkpoint)

    def _write(self, partition: int, key: bytes, value: bytes | None, version: int) -> None:
        write_record(self.store, key, value, version)
        self.out.write_row(partition, key, value, version)

    def _one(
        self,
        message: InputMessage,
        part: _Partition,
        now: float,
        dirty: dict[int, dict[str, int]],
        by_agency: dict[str, list[tuple[str, int, list[Any]]]],
    ) -> None:
        event = read(self.contract_topic, message.value, self.tally)
        if isinstance(event, DecodeError):
            self._reject(message, event.reason, event.detail)
            return
        if self._lag is not None:
            self._lag.observe(max(0.0, now - event.occurred_at.timestamp()))
        entity_id = self.flow.entity_id(event)
        source = source_name(self.topic, message.partition)
        row = part.rows.get(entity_id)
        if row is not None and event.event_id in row.facts:
            # applied before: by a batch cut short (send its facts again, idempotent; stream
            # time moves as it did then), or an upstream repeat of an applied event
            part.engine.advance_to(event.occurred_at.timestamp())
            offset, encoded = row.facts[event.event_id]
            routed = [(agency_name(decode_fact(f).key), f) for f in encoded]
            self._route(source, offset, routed, by_agency)
            if offset != message.offset:  # a repeat from upstream, not a redelivery
                self.tally.refused(DUPLICATE)
            return
        outcome = part.engine.apply(event)
        if outcome == APPLIED:
            routed = [(agency_name(f.key), encode_fact(f)) for f in part.facts]
            part.facts.clear()
            record = part.engine.tables[self.flow.name].get(entity_id)
            assert record is not None
            if row is None or row.record is not record:
                # a new record, or one re-created after its release earlier in this batch:
                # keep the facts of the released one's events that no checkpoint covers yet,
                # so that a replay of this batch re-sends them instead of recomputing them
                # against the re-created record (the row is durable before those facts are)
                carried = (
                    {}
                    if row is None
                    else {e: f for e, f in row.facts.items() if f[0] > part.checkpoint}
                )
                row = part.rows[entity_id] = EntityRow(message.partition, record, carried)
            row.facts[event.event_id] = [message.offset, [f for _, f in routed]]
            part.released.discard(entity_id)
            dirty[message.partition][entity_id] = message.offset
            self._route(source, message.offset, routed, by_agency)
            return
        self.tally.refused(outcome)
        if outcome == DUPLICATE:  # in the record but not in the facts (not expected)
            return
        detail = (
            f"occurred_at {event.occurred_at.isoformat()} is older than stream time - lateness"
            if outcome == LATE
            else f"a second {event.event_type} for this entity (event_id {event.event_id})"
        )
        self._reject(message, outcome, detail)

    @staticmethod
    def _route(
        source: str,
        offset: int,
        routed: _Routed,
        by_agency: dict[str, list[tuple[str, int, list[Any]]]],
    ) -> None:
        grouped: dict[str, list[list[Any]]] = defaultdict(list)
        for agency, fact in routed:
            grouped[agency].append(fact)
        for agency, agency_facts in grouped.items():
            by_agency[agency].append((source, offset, agency_facts))

    def _skipped(self, partition: int, handled: int, offset: int) -> None:
        """Offsets ``handled + 1 .. offset - 1`` will never reach this stage: lost input."""
        log.error(
            "%s[%d]: offsets %d..%d were never handled (next after %d is %d): messages lost",
            self.topic, partition, handled + 1, offset - 1, handled, offset,
        )  # fmt: skip
        if self.metrics is not None:
            self.metrics.skipped.labels(self.topic).inc(offset - handled - 1)

    def _reject(self, message: InputMessage, reason: str, detail: str) -> None:
        headers = [
            ("error.reason", reason.encode()),
            ("error.detail", detail.encode()[:1000]),
            ("source.topic", self.topic.encode()),
            ("source.partition", str(message.partition).encode()),
            ("source.offset", str(message.offset).encode()),
        ]
        self.out.dead_letter(message.key, scrub(message.value), headers)
