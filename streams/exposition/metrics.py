"""Every Prometheus metric of citypulse (CONTRACT §6), declared once, with an injected registry.

KPI series are read from a :class:`~citypulse.streams.kpi.KpiReport` at scrape time by a
custom collector (so a restarted worker exports the state it recovered, not counters that
restart at zero). Pipeline-health series are ordinary client metrics updated as events flow.
All label values come from bounded sets: (province, agency) bounded by the label guard, the
rest from the contract's enumerations.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from citypulse.schemas import Reference
from citypulse.schemas.decoding import InvalidReason
from citypulse.streams.kpi import INDEX_KPIS, KpiReport, KpiSnapshot, Outcome
from citypulse.streams.kpi import Histogram as KpiHistogram

__all__ = [
    "EVENT_LAG_BUCKETS",
    "FACT_INCONSISTENCIES",
    "AgencyInfoCollector",
    "KpiCollector",
    "PipelineMetrics",
    "TopicTally",
    "pipeline_metrics",
]

#: reasons of ``citypulse_facts_inconsistent_total``: a removal (fact name) of a deadline
#: or an awaited document the agency does not hold, or an error applying a facts message
FACT_INCONSISTENCIES = ("due_removed", "delivered", "error")

#: arrival wall time - occurred_at, seconds: live traffic lags by seconds, replays by days.
EVENT_LAG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)

_CHANNELS = ("online", "counter", "postal")
_LEVELS = ("full_process", "partial", "offline")
_OUTCOMES = ("approved", "rejected")
_TIMELINESS = ("on_time", "late")
_DELIVERIES = ("online", "postal", "counter")
_PAYMENT_CHANNELS = ("online", "offline")
_FORMATS = ("electronic", "paper")
_BOOL = ("true", "false")
_KEY = ["province", "agency"]


def _labelled(
    name: str,
    doc: str,
    labels: list[str],
    combos: Iterable[tuple[str, ...]],
    rows: Iterable[tuple[tuple[str, str], KpiSnapshot]],
    counts: Callable[[KpiSnapshot], dict[str, int]],
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=_KEY + labels)
    combos = list(combos)
    for key, snap in rows:
        values = counts(snap)
        for combo in combos:
            family.add_metric([*key, *combo], values.get("/".join(combo), 0))
    return family


def _histogram(
    name: str, doc: str, rows: Iterable[tuple[tuple[str, str], KpiHistogram]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=_KEY)
    for key, h in rows:
        cumulative = list(itertools.accumulate(h.counts))
        buckets = [(repr(float(b)), float(c)) for b, c in zip(h.bounds, cumulative, strict=False)]
        buckets.append(("+Inf", float(cumulative[-1])))
        family.add_metric(list(key), buckets, h.sum)
    return family


def _gauge(name: str, doc: str, rows: Iterable[tuple[tuple[str, str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=_KEY)
    for key, value in rows:
        family.add_metric(list(key), value)
    return family


class AgencyInfoCollector(Collector):
    """``citypulse_agency_info``: 1 for every agency of the reference data of the provinces
    watched, with its names; ``citypulse_agency_published_share`` where it is known.

    The KPI series carry codes only (bounded, stable labels); alert texts and dashboards join
    this series on (province, agency) to show the names people know the agencies by. Every
    worker exports the whole reference, so a query takes ``max by`` (or ``first``) of it.
    """

    def __init__(self, references: Reference | Sequence[Reference]) -> None:
        self._references = (references,) if isinstance(references, Reference) else references

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "citypulse_agency_info",
            "1 for each agency of the reference data; its names and level as labels.",
            labels=[*_KEY, "agency_name", "province_name", "level", "district"],
        )
        shares = GaugeMetricFamily(
            "citypulse_agency_published_share",
            "Share of the agency's procedures published on time on the national database "
            "(reference data; the transparency group of the service index).",
            labels=_KEY,
        )
        for r in self._references:
            for a in r.agencies:
                family.add_metric(
                    [r.province, a.code, a.name, r.province_name, a.level, a.district], 1
                )
                if a.published_share is not None:
                    shares.add_metric([r.province, a.code], a.published_share)
        yield family
        yield shares


class KpiCollector(Collector):
    """Exposes the KPIs of the agencies this worker owns, read from a report at scrape time."""

    def __init__(self, report: Callable[[], KpiReport]) -> None:
        self._report = report

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: the series depend on the data

    def collect(self) -> Iterator[Metric]:
        report = self._report()
        rows = sorted(report.agencies.items())
        yield _labelled(
            "citypulse_dossiers_received",
            "Dossiers submitted (dossier.submitted).",
            ["channel", "service_level"],
            itertools.product(_CHANNELS, _LEVELS),
            rows,
            lambda s: s.received,
        )
        yield _labelled(
            "citypulse_dossiers_resolved",
            "Dossiers resolved, on time or late "
            "(a resolution awaiting its acceptance is not counted yet).",
            ["outcome", "timeliness"],
            itertools.product(_OUTCOMES, _TIMELINESS),
            rows,
            lambda s: s.resolved,
        )
        yield _labelled(
            "citypulse_dossier_results_returned",
            "Results returned, by delivery.",
            ["delivery"],
            ((d,) for d in _DELIVERIES),
            rows,
            lambda s: s.results_returned,
        )
        yield _labelled(
            "citypulse_dossiers_accepted",
            "Dossiers accepted; digitized = papers digitised at reception.",
            ["digitized"],
            ((b,) for b in _BOOL),
            rows,
            lambda s: s.accepted,
        )
        yield _labelled(
            "citypulse_dossier_payments",
            "Dossier fees paid, by channel (online = the national payment platform).",
            ["channel"],
            ((c,) for c in _PAYMENT_CHANNELS),
            rows,
            lambda s: s.payments,
        )
        electronic = CounterMetricFamily(
            "citypulse_dossier_electronic_results",
            "Results returned as digitally signed electronic documents.",
            labels=_KEY,
        )
        for key, snap in rows:
            electronic.add_metric(list(key), sum(snap.results_electronic.values()))
        yield electronic
        yield _labelled(
            "citypulse_dossier_ratings",
            "Ratings; satisfied = score >= 4.",
            ["satisfied"],
            ((b,) for b in _BOOL),
            rows,
            lambda s: s.ratings,
        )
        yield _labelled(
            "citypulse_documents_sent",
            "Documents sent, by format and digital signature.",
            ["format", "signed"],
            itertools.product(_FORMATS, _BOOL),
            rows,
            lambda s: s.documents_sent,
        )
        withdrawn = CounterMetricFamily(
            "citypulse_dossiers_withdrawn", "Dossiers withdrawn.", labels=_KEY
        )
        for key, snap in rows:
            withdrawn.add_metric(list(key), snap.withdrawn)
        yield withdrawn
        yield _gauge(
            "citypulse_dossiers_open",
            "Open dossiers: submitted, not resolved or withdrawn.",
            ((k, s.open) for k, s in rows),
        )
        yield _gauge(
            "citypulse_dossiers_overdue",
            "Open accepted dossiers past their due_at (stream time).",
            ((k, s.overdue) for k, s in rows),
        )
        yield _gauge(
            "citypulse_dossiers_due_soon",
            "Open accepted dossiers due within the horizon.",
            ((k, s.due_soon) for k, s in rows),
        )
        yield _gauge(
            "citypulse_dossiers_resolution_pending",
            "Resolutions held until their acceptance arrives or the lateness passes.",
            ((k, s.resolution_pending) for k, s in rows),
        )
        yield _gauge(
            "citypulse_documents_undelivered",
            "Documents sent, not received, older than the threshold.",
            ((k, s.undelivered) for k, s in rows),
        )
        yield _histogram(
            "citypulse_dossier_processing_seconds",
            "Resolved minus submitted, seconds.",
            ((k, s.processing) for k, s in rows),
        )
        yield _histogram(
            "citypulse_document_delivery_seconds",
            "Received minus sent, seconds.",
            ((k, s.delivery) for k, s in rows),
        )
        ratio = GaugeMetricFamily(
            "citypulse_kpi_ratio",
            "Today's rates (event time, local day) and the digital-government index, per agency.",
            labels=[*_KEY, "kpi"],
        )
        for key, snap in rows:
            for kpi in INDEX_KPIS:
                value = snap.today_rates[kpi]
                if value is not None:
                    ratio.add_metric([*key, kpi], value)
            index = snap.digital_government_index(report.index_weights)
            if index is not None:
                ratio.add_metric([*key, "digital_government_index"], index)
        yield ratio
        today = GaugeMetricFamily(
            "citypulse_today_items",
            "Today's counts behind the today ratios (event time, local day).",
            labels=[*_KEY, "item"],
        )
        for key, snap in rows:
            for name, value in sorted(snap.today.items()):
                today.add_metric([*key, name], value)
        yield today
        month = GaugeMetricFamily(
            "citypulse_month_items",
            "The current month's counts behind the month's service index (event time, local "
            "calendar month).",
            labels=[*_KEY, "item"],
        )
        for key, snap in rows:
            for name, value in sorted(snap.month.items()):
                month.add_metric([*key, name], value)
        yield month
        points = GaugeMetricFamily(
            "citypulse_service_index_points",
            "Service index (CONTRACT §8): points of each group with something to score in the "
            "period, and the total out of 100.",
            labels=[*_KEY, "period", "group"],
        )
        if report.scoring is not None:
            for key, snap in rows:
                for period, groups in snap.service_index(report.scoring).items():
                    for group, value in groups.items():
                        points.add_metric([*key, period, group], value)
        yield points


class PipelineMetrics(NamedTuple):
    """Pipeline health, per worker (sum or max across workers in PromQL)."""

    events: Counter
    invalid: Counter
    duplicate: Counter
    redelivered: Counter
    late: Counter
    conflict: Counter
    facts_inconsistent: Counter
    skipped: Counter
    reread: Counter
    takeovers: Counter
    stream_time: Gauge
    lag: Histogram


class TopicTally:
    """The pipeline-health counts of one input topic as metrics (a ``Tally`` of the core)."""

    def __init__(self, metrics: PipelineMetrics, topic: str) -> None:
        self._metrics = metrics
        self._topic = topic
        self._events: dict[str, Any] = {}  # event type -> its child (looked up once)
        self._refused = {
            "duplicate": metrics.duplicate.labels(topic),
            "late": metrics.late.labels(topic),
            "conflict": metrics.conflict.labels(topic),
        }

    def event(self, event_type: str) -> None:
        child = self._events.get(event_type)
        if child is None:
            child = self._events[event_type] = self._metrics.events.labels(self._topic, event_type)
        child.inc()

    def invalid(self, reason: str) -> None:
        self._metrics.invalid.labels(self._topic, reason).inc()

    def refused(self, outcome: Outcome) -> None:
        self._refused[outcome].inc()


def pipeline_metrics(registry: CollectorRegistry, topics: Iterable[str] = ()) -> PipelineMetrics:
    """The pipeline counters, with a zero series per input topic (and reason) from the start:
    ``rate()`` of a rejection that never happened is then 0, not "no data"."""
    metrics = PipelineMetrics(
        events=Counter(
            "citypulse_events",
            "Schema-valid events received.",
            ["topic", "event_type"],
            registry=registry,
        ),
        invalid=Counter(
            "citypulse_events_invalid",
            "Messages rejected by the schemas.",
            ["topic", "reason"],
            registry=registry,
        ),
        duplicate=Counter(
            "citypulse_events_duplicate",
            "Repeated event_id, counted once.",
            ["topic"],
            registry=registry,
        ),
        redelivered=Counter(
            "citypulse_events_redelivered",
            "Messages delivered again after a restart or rebalance, already handled: skipped.",
            ["topic"],
            registry=registry,
        ),
        late=Counter(
            "citypulse_events_late",
            "Events older than stream time minus the lateness.",
            ["topic"],
            registry=registry,
        ),
        conflict=Counter(
            "citypulse_events_conflict",
            "Second different event for a once-only step.",
            ["topic"],
            registry=registry,
        ),
        facts_inconsistent=Counter(
            "citypulse_facts_inconsistent",
            "Agency facts that do not fit the agency's state (lost or repeated upstream): "
            "skipped. Always 0 unless there is a bug.",
            ["reason"],
            registry=registry,
        ),
        skipped=Counter(
            "citypulse_offsets_skipped",
            "Offsets of an input or facts partition that the worker jumped over without handling "
            "them: messages lost (committed unprocessed, or state lost in a recovery). Always 0 "
            "unless there is a bug.",
            ["topic"],
            registry=registry,
        ),
        reread=Counter(
            "citypulse_changelog_records_reread",
            "Changelog records that table recovery skipped and the worker read before adopting "
            "the state (a fault of Faust's recovery, repaired).",
            ["table"],
            registry=registry,
        ),
        takeovers=Counter(
            "citypulse_group_takeovers",
            "Times this worker took over the member id of a group leader that had left while "
            "the group was forming, which the embedded broker never replaces (a fault of its "
            "group coordinator, worked around).",
            registry=registry,
        ),
        stream_time=Gauge(
            "citypulse_stream_time_seconds",
            "Stream time (largest occurred_at), unix s.",
            ["topic"],
            registry=registry,
        ),
        lag=Histogram(
            "citypulse_event_lag_seconds",
            "Arrival wall time minus occurred_at.",
            ["topic"],
            buckets=EVENT_LAG_BUCKETS,
            registry=registry,
        ),
    )
    for reason in FACT_INCONSISTENCIES:
        metrics.facts_inconsistent.labels(reason)
    for topic in topics:
        for reason in get_args(InvalidReason):
            metrics.invalid.labels(topic, reason)
        for counter in (
            metrics.duplicate,
            metrics.redelivered,
            metrics.late,
            metrics.conflict,
            metrics.skipped,
        ):
            counter.labels(topic)
    return metrics
