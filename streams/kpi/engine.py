"""The KPI engine: event time, lateness, duplicates, entity state and agency aggregates.

Single-process composition of the pure core. Rules (CONTRACT §4, docs/kpis.md):

* **Stream time** is the largest ``occurred_at`` folded so far by this engine; it is "now"
  for every KPI, so the same events give the same KPIs whatever the wall clock.
* An event older than ``stream time - allowed_lateness`` is **late**: not applied.
* A repeated ``event_id`` is a **duplicate**: counted once. Each entity remembers the ids of
  its applied events; an entity no longer in progress (closed dossier, received document) is
  released ``retention`` seconds of stream time after its last event (``retention >=
  allowed_lateness``), so a repeat that arrives after the release is necessarily late.
  Memory grows with what is in progress (the backlog, documents in flight), not with history.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final, TypeVar

from citypulse.schemas import Event
from citypulse.schemas.document import DocumentEventBase
from citypulse.schemas.dossier import DossierEventBase

from .agency import AgencyAggregate, AgencyBook
from .clock import LocalDays
from .config import KpiConfig
from .document import DocumentRecord, apply_document_event
from .dossier import DossierRecord, apply_dossier_event
from .labels import LabelGuard
from .outcome import APPLIED, DUPLICATE, LATE, Outcome
from .report import KpiReport, build_report
from .sink import AgencyKey, AgencySink

__all__ = ["KpiEngine"]

_DOSSIER: Final = "d"
_DOCUMENT: Final = "t"
_STATE_VERSION: Final = 1

_Record = DossierRecord | DocumentRecord
_R = TypeVar("_R", DossierRecord, DocumentRecord)
_E = TypeVar("_E", DossierEventBase, DocumentEventBase)


class KpiEngine:
    """Folds events into KPIs. Not thread-safe; one engine per stream of events."""

    def __init__(
        self,
        config: KpiConfig | None = None,
        *,
        sink: AgencySink | None = None,
        on_release: Callable[[str], None] | None = None,
    ) -> None:
        """``sink``: where facts go (default: this engine's own :attr:`book`, so that
        :meth:`report` works); ``on_release(entity_id)``: told when an entity is released."""
        self.config = config or KpiConfig()
        self.days = LocalDays(self.config.timezone)
        self.book = AgencyBook(self.config, self.days)
        self.sink: AgencySink = self.book if sink is None else sink
        self.on_release = on_release
        self.labels = LabelGuard(self.config.known_agencies, self.config.max_agencies)
        self.dossiers: dict[str, DossierRecord] = {}
        self.documents: dict[str, DocumentRecord] = {}
        self.stream_time: float | None = None
        # (release time, kind, entity id): candidates for release, checked lazily.
        self._releases: list[tuple[float, str, str]] = []

    # -- folding -------------------------------------------------------------------------
    def apply(self, event: Event) -> Outcome:
        """Fold one decoded event; says whether it was applied, a duplicate, late or a conflict."""
        if isinstance(event, DossierEventBase):
            return self._fold_dossier(event)
        return self._fold_document(event)

    def _fold_dossier(self, event: DossierEventBase) -> Outcome:
        return self._fold(
            event, event.dossier_id, self.dossiers, DossierRecord, apply_dossier_event, _DOSSIER
        )

    def _fold_document(self, event: DocumentEventBase) -> Outcome:
        return self._fold(
            event,
            event.document_id,
            self.documents,
            DocumentRecord,
            apply_document_event,
            _DOCUMENT,
        )

    def _fold(
        self,
        event: _E,
        entity_id: str,
        table: dict[str, _R],
        new: Callable[[AgencyKey, float], _R],
        reduce: Callable[[_R, _E, float, str, AgencySink, AgencyKey], Outcome],
        kind: str,
    ) -> Outcome:
        t = event.occurred_at.timestamp()
        refused = self._admit(table.get(entity_id), event.event_id, t)
        if refused is not None:
            return refused
        key = self.labels.key(event.province, event.agency)
        rec = table.get(entity_id)  # looked up again: advancing stream time may have released it
        if rec is None:
            rec = table[entity_id] = new(key, t)
        outcome = reduce(rec, event, t, self.days.day(t), self.sink, key)
        if outcome == APPLIED:
            rec.event_ids.append(event.event_id)
            if t > rec.last_at:
                rec.last_at = t
            if not rec.in_progress:
                heapq.heappush(
                    self._releases, (rec.last_at + self.config.retention, kind, entity_id)
                )
        return outcome

    def _admit(self, rec: _Record | None, event_id: str, t: float) -> Outcome | None:
        """Duplicate or late (then not applied), else None after advancing stream time."""
        if rec is not None and event_id in rec.event_ids:
            return DUPLICATE
        now = self.stream_time
        if now is None or t > now:
            self._advance(t)
        elif t < now - self.config.allowed_lateness:
            return LATE
        return None

    def _advance(self, now: float) -> None:
        """Move stream time forward and release entities whose retention has passed."""
        self.stream_time = now
        releases = self._releases
        while releases and releases[0][0] < now:
            _, kind, entity_id = heapq.heappop(releases)
            table: dict[str, Any] = self.dossiers if kind == _DOSSIER else self.documents
            rec = table.get(entity_id)
            if (
                rec is not None
                and not rec.in_progress
                and rec.last_at + self.config.retention < now
            ):
                del table[entity_id]
                if self.on_release is not None:
                    self.on_release(entity_id)

    def advance_to(self, now: float) -> None:
        """Advance stream time without an event (e.g. from another partition's watermark)."""
        if self.stream_time is None or now > self.stream_time:
            self._advance(now)

    # -- reading -------------------------------------------------------------------------
    def report(self) -> KpiReport:
        """Every KPI at the current stream time (only when this engine keeps its own book)."""
        if self.sink is not self.book:
            raise RuntimeError("this engine records facts for another stage: it has no report")
        if self.stream_time is None:
            return KpiReport(None, "", {}, {}, self.config.index_weights)
        self.book.settle({self.book.source: self.stream_time})
        return build_report(self.book, self.stream_time)

    def adopt(
        self,
        dossiers: dict[str, DossierRecord],
        documents: dict[str, DocumentRecord],
        *,
        stream_time: float | None,
    ) -> None:
        """Continue from recovered entity records: releases and labels follow.

        ``stream_time``: the stream time of the checkpoint the records continue from (None:
        before any event). Not the newest record's last event: records may be ahead of the
        checkpoint (written by a batch that did not complete), and judging lateness against
        them would turn the replay of that batch's other events into late events.
        """
        self.dossiers, self.documents = dossiers, documents
        records: list[tuple[str, str, DossierRecord | DocumentRecord]] = [
            *((_DOSSIER, k, r) for k, r in dossiers.items()),
            *((_DOCUMENT, k, r) for k, r in documents.items()),
        ]
        self.stream_time = stream_time
        retention = self.config.retention
        self._releases = [
            (r.last_at + retention, kind, k) for kind, k, r in records if not r.in_progress
        ]
        heapq.heapify(self._releases)
        for _, _, r in records:
            self.labels.key(*r.key)

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """All state as JSON-compatible data (entity records, aggregates, labels)."""
        return {
            "version": _STATE_VERSION,
            "stream_time": self.stream_time,
            "dossiers": {k: r.to_dict() for k, r in self.dossiers.items()},
            "documents": {k: r.to_dict() for k, r in self.documents.items()},
            "aggregates": [a.to_dict() for a in self.book.aggregates.values()],
            "labels": self.labels.to_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: KpiConfig | None = None) -> KpiEngine:
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported KPI state version {state.get('version')!r}")
        engine = cls(config)
        engine.stream_time = state["stream_time"]
        engine.dossiers = {k: DossierRecord.from_dict(v) for k, v in state["dossiers"].items()}
        engine.documents = {k: DocumentRecord.from_dict(v) for k, v in state["documents"].items()}
        for data in state["aggregates"]:
            agg = AgencyAggregate.from_dict(data)
            engine.book.aggregates[(agg.province, agg.agency)] = agg
        engine.labels.restore(state["labels"])
        retention = engine.config.retention
        for kind, table in ((_DOSSIER, engine.dossiers), (_DOCUMENT, engine.documents)):
            for entity_id, rec in table.items():
                if not rec.in_progress:
                    engine._releases.append((rec.last_at + retention, kind, entity_id))
        heapq.heapify(engine._releases)
        return engine
