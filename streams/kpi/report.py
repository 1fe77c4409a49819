"""Reading KPIs out: per-agency and per-province snapshots, ratios and the index."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from citypulse.schemas.reference import ScoringTable

from .agency import AgencyAggregate, AgencyBook, zero_today
from .config import KpiConfig
from .facts import AgencyKey
from .ratios import index, ratios, today_ratios
from .service_index import service_index

__all__ = ["Histogram", "KpiReport", "KpiSnapshot", "build_report"]


@dataclass(frozen=True, slots=True)
class Histogram:
    """Bucket upper bounds, per-bucket (non-cumulative) counts with +Inf last, and the sum."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float

    @classmethod
    def of(cls, bounds: tuple[float, ...], counts: list[int], total: float) -> Histogram:
        return cls(bounds, tuple(counts) if counts else (0,) * (len(bounds) + 1), total)

    def __add__(self, other: Histogram) -> Histogram:
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        return Histogram(self.bounds, counts, self.sum + other.sum)


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """Every KPI of one agency (or a province's total) at one stream time."""

    received: dict[str, int]
    resolved: dict[str, int]
    resolution_pending: int
    withdrawn: int
    accepted: dict[str, int]
    open: int
    overdue: int
    due_soon: int
    results_returned: dict[str, int]
    results_electronic: dict[str, int]
    payments: dict[str, int]
    ratings: dict[str, int]
    documents_sent: dict[str, int]
    undelivered: int
    processing: Histogram
    delivery: Histogram
    today: dict[str, int]
    #: the counters of the current local calendar month (the same items as today's)
    month: dict[str, int]
    #: the agency's share of procedures published on time (a province's: the mean of its
    #: agencies'), from reference data; None if not known
    published_share: float | None
    rates: dict[str, float | None] = field(init=False)
    today_rates: dict[str, float | None] = field(init=False)
    month_rates: dict[str, float | None] = field(init=False)

    def __post_init__(self) -> None:
        families = {
            "received": self.received,
            "resolved": self.resolved,
            "accepted": self.accepted,
            "results_returned": self.results_returned,
            "results_electronic": self.results_electronic,
            "payments": self.payments,
            "ratings": self.ratings,
            "documents_sent": self.documents_sent,
        }
        object.__setattr__(self, "rates", ratios(families))
        object.__setattr__(self, "today_rates", today_ratios(self.today))
        object.__setattr__(self, "month_rates", today_ratios(self.month))

    @classmethod
    def of(cls, agg: AgencyAggregate, now: float, day: str, config: KpiConfig) -> KpiSnapshot:
        return cls(
            received=dict(agg.received),
            resolved=dict(agg.resolved),
            resolution_pending=len(agg.pending),
            withdrawn=agg.withdrawn,
            accepted=dict(agg.accepted),
            open=agg.open,
            overdue=agg.overdue(now),
            due_soon=agg.due_soon(now, config.due_soon_horizon),
            results_returned=dict(agg.results_returned),
            results_electronic=dict(agg.results_electronic),
            payments=dict(agg.payments),
            ratings=dict(agg.ratings),
            documents_sent=dict(agg.documents_sent),
            undelivered=agg.undelivered(now, config.undelivered_after),
            processing=Histogram.of(
                config.processing_buckets, agg.processing_buckets, agg.processing_sum
            ),
            delivery=Histogram.of(config.delivery_buckets, agg.delivery_buckets, agg.delivery_sum),
            today=agg.today_at(day),
            month=agg.month_at(day[:7]),
            published_share=config.published_share.get((agg.province, agg.agency)),
        )

    @classmethod
    def total(
        cls, parts: Iterable[KpiSnapshot], config: KpiConfig, published_share: float | None
    ) -> KpiSnapshot:
        """Sum of several snapshots: counts are added, ratios recomputed (never averaged)."""

        def merged(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
            out: dict[str, int] = {}
            for d in dicts:
                for k, n in d.items():
                    out[k] = out.get(k, 0) + n
            return out

        items = list(parts)
        processing = Histogram.of(config.processing_buckets, [], 0.0)
        delivery = Histogram.of(config.delivery_buckets, [], 0.0)
        for s in items:
            processing += s.processing
            delivery += s.delivery
        return cls(
            received=merged(s.received for s in items),
            resolved=merged(s.resolved for s in items),
            resolution_pending=sum(s.resolution_pending for s in items),
            withdrawn=sum(s.withdrawn for s in items),
            accepted=merged(s.accepted for s in items),
            open=sum(s.open for s in items),
            overdue=sum(s.overdue for s in items),
            due_soon=sum(s.due_soon for s in items),
            results_returned=merged(s.results_returned for s in items),
            results_electronic=merged(s.results_electronic for s in items),
            payments=merged(s.payments for s in items),
            ratings=merged(s.ratings for s in items),
            documents_sent=merged(s.documents_sent for s in items),
            undelivered=sum(s.undelivered for s in items),
            processing=processing,
            delivery=delivery,
            today=merged([zero_today(), *(s.today for s in items)]),
            month=merged([zero_today(), *(s.month for s in items)]),
            published_share=published_share,
        )

    def digital_government_index(self, weights: Iterable[tuple[str, float]]) -> float | None:
        return index(self.today_rates, weights)

    def service_index(self, table: ScoringTable) -> dict[str, dict[str, float]]:
        """Period (``today``, ``month``) -> group -> points (service_index.py)."""
        return {
            "today": service_index(self.today_rates, self.published_share, table),
            "month": service_index(self.month_rates, self.published_share, table),
        }


@dataclass(frozen=True, slots=True)
class KpiReport:
    """All KPIs at one stream time: per (province, agency) and per province."""

    stream_time: float | None
    day: str
    agencies: dict[AgencyKey, KpiSnapshot]
    provinces: dict[str, KpiSnapshot]
    index_weights: tuple[tuple[str, float], ...]
    scoring: ScoringTable | None = None

    def index(self, key: AgencyKey) -> float | None:
        return self.agencies[key].digital_government_index(self.index_weights)

    def to_dict(self) -> dict[str, Any]:
        """Plain, comparable data (used by the tests to compare with the oracle)."""

        def flat(s: KpiSnapshot) -> dict[str, Any]:
            d = asdict(s)
            d["index"] = s.digital_government_index(self.index_weights)
            d["service_index"] = {} if self.scoring is None else s.service_index(self.scoring)
            return d

        return {
            "stream_time": self.stream_time,
            "day": self.day,
            "agencies": {"/".join(k): flat(s) for k, s in sorted(self.agencies.items())},
            "provinces": {p: flat(s) for p, s in sorted(self.provinces.items())},
        }


def build_report(book: AgencyBook, now: float) -> KpiReport:
    """Every KPI of ``book`` at stream time ``now`` (a read: settle pending resolutions first,
    :meth:`AgencyBook.settle`)."""
    config = book.config
    day = book.days.day(now)
    agencies = {key: KpiSnapshot.of(agg, now, day, config) for key, agg in book.aggregates.items()}
    by_province: dict[str, list[KpiSnapshot]] = {}
    for (province, _), snap in agencies.items():
        by_province.setdefault(province, []).append(snap)
    provinces = {
        p: KpiSnapshot.total(s, config, config.province_published_share(p))
        for p, s in by_province.items()
    }
    return KpiReport(now, day, agencies, provinces, config.index_weights, config.scoring)
