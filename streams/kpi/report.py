"""Reading KPIs out: per-agency and per-province snapshots, ratios and the index."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .agency import TODAY_COUNTERS, AgencyAggregate, AgencyBook
from .config import KpiConfig
from .sink import AgencyKey

__all__ = ["Histogram", "KpiReport", "KpiSnapshot", "build_report", "index", "ratios"]


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


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _where(counts: Mapping[str, int], keep: Callable[[str], bool]) -> int:
    return sum(n for label, n in counts.items() if keep(label))


def ratios(
    received: Mapping[str, int],
    resolved: Mapping[str, int],
    results: Mapping[str, int],
    ratings: Mapping[str, int],
    sent: Mapping[str, int],
) -> dict[str, float | None]:
    """The rates of CONTRACT §5 from label-keyed counters (None where nothing to divide by)."""
    n_received = sum(received.values())
    electronic = _where(sent, lambda k: k.startswith("electronic/"))
    return {
        "online_submission": _ratio(
            _where(received, lambda k: k.startswith("online/")), n_received
        ),
        "full_process": _ratio(_where(received, lambda k: k.endswith("/full_process")), n_received),
        "on_time_resolution": _ratio(
            _where(resolved, lambda k: k.endswith("/on_time")), sum(resolved.values())
        ),
        "online_result": _ratio(_where(results, lambda k: k != "counter"), sum(results.values())),
        "satisfaction": _ratio(ratings.get("true", 0), sum(ratings.values())),
        "electronic_document": _ratio(electronic, sum(sent.values())),
        "digital_signature": _ratio(sent.get("electronic/true", 0), electronic),
    }


def today_ratios(today: Mapping[str, int]) -> dict[str, float | None]:
    """Today's rates (the ``citypulse_kpi_ratio`` gauges) from today's counters."""
    return {
        "online_submission": _ratio(today["received_online"], today["received"]),
        "full_process": _ratio(today["received_full_process"], today["received"]),
        "on_time_resolution": _ratio(today["resolved_on_time"], today["resolved"]),
        "online_result": _ratio(today["results_online"], today["results_returned"]),
        "satisfaction": _ratio(today["ratings_satisfied"], today["ratings"]),
        "electronic_document": _ratio(today["documents_electronic"], today["documents_sent"]),
        "digital_signature": _ratio(today["documents_signed"], today["documents_electronic"]),
    }


def index(rates: Mapping[str, float | None], weights: Iterable[tuple[str, float]]) -> float | None:
    """Digital-government index: weighted mean of the rates that are defined."""
    num = den = 0.0
    for kpi, weight in weights:
        value = rates.get(kpi)
        if value is not None and weight > 0:
            num += weight * value
            den += weight
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """Every KPI of one agency (or a province's total) at one stream time."""

    received: dict[str, int]
    resolved: dict[str, int]
    resolution_pending: int
    withdrawn: int
    open: int
    overdue: int
    due_soon: int
    results_returned: dict[str, int]
    ratings: dict[str, int]
    documents_sent: dict[str, int]
    undelivered: int
    processing: Histogram
    delivery: Histogram
    today: dict[str, int]
    rates: dict[str, float | None] = field(init=False)
    today_rates: dict[str, float | None] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "rates",
            ratios(
                self.received, self.resolved, self.results_returned, self.ratings,
                self.documents_sent,
            ),
        )  # fmt: skip
        object.__setattr__(self, "today_rates", today_ratios(self.today))

    @classmethod
    def of(cls, agg: AgencyAggregate, now: float, day: str, config: KpiConfig) -> KpiSnapshot:
        return cls(
            received=dict(agg.received),
            resolved=dict(agg.resolved),
            resolution_pending=len(agg.pending),
            withdrawn=agg.withdrawn,
            open=agg.open,
            overdue=agg.overdue(now),
            due_soon=agg.due_soon(now, config.due_soon_horizon),
            results_returned=dict(agg.results_returned),
            ratings=dict(agg.ratings),
            documents_sent=dict(agg.documents_sent),
            undelivered=agg.undelivered(now, config.undelivered_after),
            processing=Histogram.of(
                config.processing_buckets, agg.processing_buckets, agg.processing_sum
            ),
            delivery=Histogram.of(config.delivery_buckets, agg.delivery_buckets, agg.delivery_sum),
            today=dict(agg.today_at(day)),
        )

    @classmethod
    def total(cls, parts: Iterable[KpiSnapshot], config: KpiConfig) -> KpiSnapshot:
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
            open=sum(s.open for s in items),
            overdue=sum(s.overdue for s in items),
            due_soon=sum(s.due_soon for s in items),
            results_returned=merged(s.results_returned for s in items),
            ratings=merged(s.ratings for s in items),
            documents_sent=merged(s.documents_sent for s in items),
            undelivered=sum(s.undelivered for s in items),
            processing=processing,
            delivery=delivery,
            today=merged([dict.fromkeys(TODAY_COUNTERS, 0), *(s.today for s in items)]),
        )

    def digital_government_index(self, weights: Iterable[tuple[str, float]]) -> float | None:
        return index(self.today_rates, weights)


@dataclass(frozen=True, slots=True)
class KpiReport:
    """All KPIs at one stream time: per (province, agency) and per province."""

    stream_time: float | None
    day: str
    agencies: dict[AgencyKey, KpiSnapshot]
    provinces: dict[str, KpiSnapshot]
    index_weights: tuple[tuple[str, float], ...]

    def index(self, key: AgencyKey) -> float | None:
        return self.agencies[key].digital_government_index(self.index_weights)

    def to_dict(self) -> dict[str, Any]:
        """Plain, comparable data (used by the tests to compare with the oracle)."""

        def flat(s: KpiSnapshot) -> dict[str, Any]:
            d = asdict(s)
            d["index"] = s.digital_government_index(self.index_weights)
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
    provinces = {p: KpiSnapshot.total(s, config) for p, s in by_province.items()}
    return KpiReport(now, day, agencies, provinces, config.index_weights)
