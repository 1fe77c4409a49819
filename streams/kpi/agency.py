"""Per-agency aggregates: counters, histograms, today's counters, open deadlines.

One :class:`AgencyAggregate` per (province, agency) label pair; :class:`AgencyBook` holds
them and applies facts (facts.py) to them.
Everything here is plain data (dicts, lists, numbers) so that it can be serialised.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .clock import LocalDays
from .config import KpiConfig
from .facts import (
    Accepted,
    AgencyKey,
    Awaiting,
    Delivered,
    DueAdded,
    DueRemoved,
    Fact,
    Opened,
    Paid,
    Processed,
    Rated,
    Received,
    ResolutionSettled,
    Resolved,
    ResultReturned,
    Sent,
    Withdrawn,
)
from .ratios import TODAY_ITEMS

__all__ = ["AgencyAggregate", "AgencyBook", "zero_today"]


#: counter family -> its today counters: (item, label predicate)
_TODAY_BY_FAMILY = {
    family: tuple((c.item, c.matches) for c in TODAY_ITEMS if c.family == family)
    for family in {c.family for c in TODAY_ITEMS}
}


def zero_today() -> dict[str, int]:
    return {c.item: 0 for c in TODAY_ITEMS}


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
    accepted: dict[str, int] = field(default_factory=dict)  # by digitized
    results_returned: dict[str, int] = field(default_factory=dict)
    #: results returned as electronic documents, by delivery
    results_electronic: dict[str, int] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)  # by channel
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
    today: dict[str, int] = field(default_factory=zero_today)
    #: the local calendar month (``YYYY-MM``) of ``month_counts``, the same items as today's
    month: str = ""
    month_counts: dict[str, int] = field(default_factory=zero_today)

    # -- today -------------------------------------------------------------------------
    def _today(self, day: str) -> dict[str, int] | None:
        """Today's counters if ``day`` is (or starts) the aggregate's current day, else None."""
        if day == self.day:
            return self.today
        if day > self.day:
            self.day = day
            self.today = zero_today()
            return self.today
        return None  # an event of an earlier day: counted in totals, not in today's ratios

    def _month(self, month: str) -> dict[str, int] | None:
        """The month's counters if ``month`` is (or starts) the aggregate's month, else None."""
        if month == self.month:
            return self.month_counts
        if month > self.month:
            self.month = month
            self.month_counts = zero_today()
            return self.month_counts
        return None

    # -- counting ------------------------------------------------------------------------
    def count(self, family: str, label: str, day: str) -> None:
        """One more event in counter ``family`` under ``label``, and in the period counters
        (ratios.py) of the aggregate's current day and month if it happened in them."""
        counts: dict[str, int] = getattr(self, family)
        counts[label] = counts.get(label, 0) + 1
        periods = [p for p in (self._today(day), self._month(day[:7])) if p is not None]
        if periods:
            for item, matches in _TODAY_BY_FAMILY[family]:
                if matches(label):
                    for period in periods:
                        # .get: counters recovered from before an item existed lack it
                        period[item] = period.get(item, 0) + 1

    def count_resolution(self, day: str, outcome: str, on_time: bool) -> None:
        self.count("resolved", f"{outcome}/{'on_time' if on_time else 'late'}", day)

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
        """Today's counters on ``day``, every item present (a copy)."""
        return {**zero_today(), **self.today} if day == self.day else zero_today()

    def month_at(self, month: str) -> dict[str, int]:
        """The counters of ``month`` (``YYYY-MM``), every item present (a copy)."""
        return {**zero_today(), **self.month_counts} if month == self.month else zero_today()


class AgencyBook:
    """The aggregates of every agency, changed by applying facts (:meth:`apply`).

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
        self.on_mismatch = on_mismatch

    def get(self, key: AgencyKey) -> AgencyAggregate:
        agg = self.aggregates.get(key)
        if agg is None:
            agg = self.aggregates[key] = AgencyAggregate(*key)
        return agg

    def settle(self, stream_times: Mapping[str, float]) -> None:
        for agg in self.aggregates.values():
            agg.settle(stream_times, self.config.allowed_lateness)

    def apply(self, fact: Fact, source: str = "") -> None:
        """Apply one fact. ``source`` names the stream it comes from (one input partition in
        a worker): a pending resolution remembers it, to be settled against that stream's
        time."""
        agg = self.get(fact.key)
        match fact:
            case Received(day=day, channel=channel, service_level=level):
                agg.count("received", f"{channel}/{level}", day)
            case Accepted(day=day, digitized=digitized):
                agg.count("accepted", "true" if digitized else "false", day)
            case Opened(delta=delta):
                agg.open += delta
            case DueAdded(due_at=due_at):
                insort(agg.open_due, due_at)
            case DueRemoved(due_at=due_at):
                self._remove(agg.open_due, due_at, "due_removed")
            case Resolved(dossier_id=dossier_id, resolved_at=at, day=day, outcome=outcome):
                if fact.on_time is None:
                    agg.pending[dossier_id] = (at, day, outcome, source)
                else:
                    agg.count_resolution(day, outcome, fact.on_time)
            case ResolutionSettled(dossier_id=dossier_id, on_time=on_time):
                pending = agg.pending.pop(dossier_id, None)
                if pending is not None:
                    _, day, outcome, _ = pending
                    agg.count_resolution(day, outcome, on_time)
            case Processed(seconds=seconds):
                agg.observe(agg.processing_buckets, self.config.processing_buckets, seconds)
                agg.processing_sum += seconds
            case Withdrawn():
                agg.withdrawn += 1
            case ResultReturned(day=day, delivery=delivery, electronic=electronic):
                agg.count("results_returned", delivery, day)
                if electronic:
                    agg.count("results_electronic", delivery, day)
            case Paid(day=day, channel=channel):
                agg.count("payments", channel, day)
            case Rated(day=day, satisfied=satisfied):
                agg.count("ratings", "true" if satisfied else "false", day)
            case Sent(day=day, format=fmt, signed=signed):
                agg.count("documents_sent", f"{fmt}/{'true' if signed else 'false'}", day)
            case Awaiting(sent_at=sent_at):
                insort(agg.awaiting, sent_at)
            case Delivered(sent_at=sent_at, seconds=seconds, awaited=awaited):
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
