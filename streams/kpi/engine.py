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
from typing import Any

from citypulse.schemas import Event

from .agency import AgencyBook
from .clock import LocalDays
from .config import KpiConfig
from .facts import Emit
from .flows import FLOWS, Flow, flow_of
from .labels import LabelGuard
from .outcome import APPLIED, DUPLICATE, LATE, Outcome
from .report import KpiReport, build_report

__all__ = ["KpiEngine"]

#: an entity's record (DossierState | DocumentState)
_Record = Any


class KpiEngine:
    """Folds events into KPIs. Not thread-safe; one engine per stream of events."""

    def __init__(
        self,
        config: KpiConfig | None = None,
        *,
        emit: Emit | None = None,
        labels: LabelGuard | None = None,
        on_release: Callable[[str], None] | None = None,
    ) -> None:
        """``emit``: where facts go (default: applied to this engine's own :attr:`book`, so
        that :meth:`report` works); ``labels``: the label bound, shared by the engines of one
        worker (default: this engine's own); ``on_release(entity_id)``: told when an entity
        is released."""
        self.config = config or KpiConfig()
        self.days = LocalDays(self.config.timezone)
        self.book = AgencyBook(self.config, self.days)
        self._own_book = emit is None
        self.emit: Emit = self.book.apply if emit is None else emit
        self.on_release = on_release
        self.labels = labels or LabelGuard(self.config.known_agencies, self.config.max_agencies)
        #: flow name -> entity id -> record
        self.tables: dict[str, dict[str, _Record]] = {f.name: {} for f in FLOWS}
        self.stream_time: float | None = None
        # (release time, flow name, entity id): candidates for release, checked lazily.
        self._releases: list[tuple[float, str, str]] = []

    @property
    def dossiers(self) -> dict[str, _Record]:
        return self.tables["dossier"]

    @property
    def documents(self) -> dict[str, _Record]:
        return self.tables["document"]

    # -- folding -------------------------------------------------------------------------
    def apply(self, event: Event) -> Outcome:
        """Fold one decoded event; says whether it was applied, a duplicate, late or a conflict."""
        flow = flow_of(event)
        entity_id = flow.entity_id(event)
        table = self.tables[flow.name]
        t = event.occurred_at.timestamp()
        refused = self._admit(table.get(entity_id), event.event_id, t)
        if refused is not None:
            return refused
        key = self.labels.key(event.province, event.agency)
        rec = table.get(entity_id)  # looked up again: advancing stream time may have released it
        if rec is None:
            rec = table[entity_id] = flow.record(key, t)
        outcome = flow.reduce(rec, event, t, self.days.day(t), self.emit, key)
        if outcome == APPLIED:
            rec.event_ids.append(event.event_id)
            if t > rec.last_at:
                rec.last_at = t
            if not rec.in_progress:
                heapq.heappush(
                    self._releases, (rec.last_at + self.config.retention, flow.name, entity_id)
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
            _, flow, entity_id = heapq.heappop(releases)
            table = self.tables[flow]
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
        if not self._own_book:
            raise RuntimeError("this engine records facts for another stage: it has no report")
        if self.stream_time is None:
            return KpiReport(None, "", {}, {}, self.config.index_weights, self.config.scoring)
        self.book.settle({"": self.stream_time})
        return build_report(self.book, self.stream_time)

    def adopt(
        self, flow: Flow[Any, Any], records: dict[str, _Record], *, stream_time: float | None
    ) -> None:
        """Continue ``flow`` from recovered entity records: their releases follow.

        ``stream_time``: the stream time of the checkpoint the records continue from (None:
        before any event). Not the newest record's last event: records may be ahead of the
        checkpoint (written by a batch that did not complete), and judging lateness against
        them would turn the replay of that batch's other events into late events.
        """
        self.tables[flow.name] = records
        self.stream_time = stream_time
        retention = self.config.retention
        self._releases = [
            (r.last_at + retention, flow.name, k) for k, r in records.items() if not r.in_progress
        ]
        heapq.heapify(self._releases)
        self.labels.restore(r.key for r in records.values())
