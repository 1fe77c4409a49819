"""Per-agency aggregates: counters, histograms, today's counters, open deadlines.

One :class:`AgencyAggregate` per (province, agency) label pair; :class:`AgencyBook` holds
them and implements :class:`~.sink.AgencySink`, so reducers can write to it directly.
Everything here is plain data (dicts, lists, numbers) so that it can be serialised.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .clock import LocalDays
from .config import KpiConfig
from .sink import AgencyKey

__all__ = ["TODAY_COUNTERS", "AgencyAggregate", "AgencyBook"]

#: Counters of the current local day, behind the "today" ratios.
TODAY_COUNTERS = (
    "received",
    "received_online",
    "received_full_process",
    "resolved",
    "resolved_on_time",
    "results_returned",
    "results_online",
    "ratings",
    "ratings_satisfied",
    "documents_sent",
    "documents_electronic",
    "documents_signed",
)


def _zero_today() -> dict[str, int]:
    return dict.fromkeys(TODAY_COUNTERS, 0)


@dataclass(slots=True)
class AgencyAggregate:
    """Everything citypulse knows about one agency, independent of any one entity.

    Label-valued counters are keyed by the label values joined with ``/``
    (``received["online/full_process"]``). Histograms keep per-bucket (non-cumulative)
    counts, the last one for ``+Inf``.
    """

    province: str
    agency: str
    received: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    results_returned: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    documents_sent: dict[str, int] = field(default_factory=dict)
    open: int = 0
    open_due: list[float] = field(default_factory=list)
    awaiting: list[float] = field(default_factory=list)
    #: dossier_id -> (resolved_at, day, outcome, source stream)
    pending: dict[str, tuple[float, str, str, str]] = field(default_factory=dict)
    processing_buckets: list[int] = field(default_factory=list)
    processing_sum: float = 0.0
    delivery_buckets: list[int] = field(default_factory=list)
    delivery_sum: float = 0.0
    day: str = ""
    today: dict[str, int] = field(default_factory=_zero_today)

    # -- today -------------------------------------------------------------------------
    def _today(self, day: str) -> dict[str, int] | None:
        """Today's counters if ``day`` is (or starts) the aggregate's current day, else None."""
        if day == self.day:
            return self.today
        if day > self.day:
            self.day = day
            self.today = _zero_today()
            return self.today
        return None  # an event of an earlier day: counted in totals, not in today's ratios

    # -- resolutions ---------------------------------------------------------------------
    def count_resolution(self, day: str, outcome: str, on_time: bool) -> None:
        label = f"{outcome}/{'on_time' if on_time else 'late'}"
        self.resolved[label] = self.resolved.get(label, 0) + 1
        today = self._today(day)
        if today is not None:
            today["resolved"] += 1
            today["resolved_on_time"] += on_time

    def settle(self, stream_times: Mapping[str, float], lateness: float) -> None:
        """Count as late the pending resolutions whose acceptance can no longer arrive in time.

        An acceptance that occurred no later than a resolution at ``r`` is late once the
        stream time of the resolution's source stream passes ``r + lateness``; from then on
        the resolution can only be late. ``stream_times``: stream time per source stream.
        """
        for dossier_id, (resolved_at, day, outcome, source) in list(self.pending.items()):
            now = stream_times.get(source)
            if now is not None and resolved_at < now - lateness:
                del self.pending[dossier_id]
                self.count_resolution(day, outcome, on_time=False)

    # -- histograms ----------------------------------------------------------------------
    @staticmethod
    def observe(counts: list[int], bounds: tuple[float, ...], value: float) -> None:
        if not counts:
            counts.extend([0] * (len(bounds) + 1))
        counts[bisect_left(bounds, value)] += 1  # le semantics: value <= bound

    # -- reading -------------------------------------------------------------------------
    def overdue(self, now: float) -> int:
        """Open accepted dossiers whose deadline has passed (``now > due_at``)."""
        return bisect_left(self.open_due, now)

    def due_soon(self, now: float, horizon: float) -> int:
        """Open accepted dossiers not overdue and due within ``horizon`` (``now <= due_at``)."""
        return bisect_right(self.open_due, now + horizon) - bisect_left(self.open_due, now)

    def undelivered(self, now: float, after: float) -> int:
        """Documents not received and sent more than ``after`` seconds ago."""
        return bisect_left(self.awaiting, now - after)

    def today_at(self, day: str) -> dict[str, int]:
        return self.today if day == self.day else _zero_today()

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgencyAggregate:
        agg = cls(**data)
        agg.pending = {k: tuple(v) for k, v in agg.pending.items()}  # type: ignore[misc]
        return agg


#: The sink methods a recorded fact may name.
FACT_NAMES = frozenset(
    {"received", "opened", "due_added", "due_removed", "resolved", "resolution_settled",
     "processed", "withdrawn", "result_returned", "rated", "sent", "awaiting", "delivered"}
)  # fmt: skip


class AgencyBook:
    """The aggregates of every agency, written to by reducers through the sink methods.

    ``source`` names the stream the facts being applied come from (one input partition in
    a worker; "" in a single engine): pending resolutions remember it, to be settled
    against that stream's time.

    ``on_mismatch(fact name)`` is called for a removal of a deadline or an awaited document
    that the agency does not hold. Facts applied exactly once, in order, never mismatch;
    a mismatch means a fact was lost or applied twice upstream. The removal is skipped (the
    agency's other numbers stay right), never raised: in a worker an exception would stop
    the agent in the middle of a batch.
    """

    def __init__(
        self,
        config: KpiConfig,
        days: LocalDays,
        on_mismatch: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.days = days
        self.aggregates: dict[AgencyKey, AgencyAggregate] = {}
        self.source = ""
        self.on_mismatch = on_mismatch

    def apply_fact(self, fact: Sequence[Any]) -> None:
        """Apply one recorded fact ``[name, [province, agency], *args]``."""
        name, key, *args = fact
        if name not in FACT_NAMES:
            raise ValueError(f"unknown fact {name!r}")
        getattr(self, name)((key[0], key[1]), *args)

    def get(self, key: AgencyKey) -> AgencyAggregate:
        agg = self.aggregates.get(key)
        if agg is None:
            agg = self.aggregates[key] = AgencyAggregate(*key)
        return agg

    def settle(self, stream_times: Mapping[str, float]) -> None:
        for agg in self.aggregates.values():
            agg.settle(stream_times, self.config.allowed_lateness)

    # -- AgencySink ----------------------------------------------------------------------
    def received(self, key: AgencyKey, day: str, channel: str, service_level: str) -> None:
        agg = self.get(key)
        label = f"{channel}/{service_level}"
        agg.received[label] = agg.received.get(label, 0) + 1
        today = agg._today(day)
        if today is not None:
            today["received"] += 1
            today["received_online"] += channel == "online"
            today["received_full_process"] += service_level == "full_process"

    def opened(self, key: AgencyKey, delta: int) -> None:
        self.get(key).open += delta

    def due_added(self, key: AgencyKey, due_at: float) -> None:
        insort(self.get(key).open_due, due_at)

    def due_removed(self, key: AgencyKey, due_at: float) -> None:
        self._remove(self.get(key).open_due, due_at, "due_removed")

    def resolved(
        self,
        key: AgencyKey,
        dossier_id: str,
        resolved_at: float,
        day: str,
        outcome: str,
        on_time: bool | None,
    ) -> None:
        agg = self.get(key)
        if on_time is None:
            agg.pending[dossier_id] = (resolved_at, day, outcome, self.source)
        else:
            agg.count_resolution(day, outcome, on_time)

    def resolution_settled(self, key: AgencyKey, dossier_id: str, on_time: bool) -> None:
        agg = self.get(key)
        pending = agg.pending.pop(dossier_id, None)
        if pending is not None:
            _, day, outcome, _ = pending
            agg.count_resolution(day, outcome, on_time)

    def processed(self, key: AgencyKey, seconds: float) -> None:
        agg = self.get(key)
        agg.observe(agg.processing_buckets, self.config.processing_buckets, seconds)
        agg.processing_sum += seconds

    def withdrawn(self, key: AgencyKey) -> None:
        self.get(key).withdrawn += 1

    def result_returned(self, key: AgencyKey, day: str, delivery: str) -> None:
        agg = self.get(key)
        agg.results_returned[delivery] = agg.results_returned.get(delivery, 0) + 1
        today = agg._today(day)
        if today is not None:
            today["results_returned"] += 1
            today["results_online"] += delivery != "counter"

    def rated(self, key: AgencyKey, day: str, satisfied: bool) -> None:
        agg = self.get(key)
        label = "true" if satisfied else "false"
        agg.ratings[label] = agg.ratings.get(label, 0) + 1
        today = agg._today(day)
        if today is not None:
            today["ratings"] += 1
            today["ratings_satisfied"] += satisfied

    def sent(self, key: AgencyKey, day: str, fmt: str, signed: bool) -> None:
        agg = self.get(key)
        label = f"{fmt}/{'true' if signed else 'false'}"
        agg.documents_sent[label] = agg.documents_sent.get(label, 0) + 1
        today = agg._today(day)
        if today is not None:
            electronic = fmt == "electronic"
            today["documents_sent"] += 1
            today["documents_electronic"] += electronic
            today["documents_signed"] += electronic and signed

    def awaiting(self, key: AgencyKey, sent_at: float) -> None:
        insort(self.get(key).awaiting, sent_at)

    def delivered(self, key: AgencyKey, sent_at: float, seconds: float, awaited: bool) -> None:
        agg = self.get(key)
        if awaited:
            self._remove(agg.awaiting, sent_at, "delivered")
        agg.observe(agg.delivery_buckets, self.config.delivery_buckets, seconds)
        agg.delivery_sum += seconds

    def _remove(self, values: list[float], value: float, fact: str) -> None:
        """Remove one ``value`` from the sorted ``values``; report a mismatch if absent."""
        i = bisect_left(values, value)
        if i < len(values) and values[i] == value:
            del values[i]
        elif self.on_mismatch is not None:
            self.on_mismatch(fact)
