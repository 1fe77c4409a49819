"""Settings of the KPI core (no I/O): lateness, horizons, buckets, index weights, label bounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from citypulse.schemas.reference import PUBLISHED, Reference, ScoringTable

from .ratios import INDEX_KPIS
from .service_index import mean_share

__all__ = [
    "DELIVERY_BUCKETS",
    "PROCESSING_BUCKETS",
    "KpiConfig",
]

_HOUR: Final = 3600.0
_DAY: Final = 86400.0

#: Dossier processing time (submitted -> resolved), seconds. Statutory times run from
#: same-day (civil status) to 30 working days (land), so buckets span hours to 3 months.
PROCESSING_BUCKETS: Final = (
    _HOUR, 4 * _HOUR, 8 * _HOUR, _DAY, 2 * _DAY, 3 * _DAY, 5 * _DAY, 7 * _DAY,
    10 * _DAY, 15 * _DAY, 20 * _DAY, 30 * _DAY, 45 * _DAY, 60 * _DAY, 90 * _DAY,
)  # fmt: skip

#: Document delivery time (sent -> received), seconds: electronic documents arrive in
#: minutes, paper ones in days; the undelivered threshold (1 day) is a bucket boundary.
DELIVERY_BUCKETS: Final = (
    60.0, 300.0, 900.0, 1800.0, _HOUR, 2 * _HOUR, 4 * _HOUR, 8 * _HOUR,
    _DAY, 2 * _DAY, 3 * _DAY, 7 * _DAY,
)  # fmt: skip


@dataclass(frozen=True)
class KpiConfig:
    """What the KPI core needs to know; times in seconds.

    ``retention`` is the dedup window for entities that are no longer open: a resolved or
    withdrawn dossier, a received document (or an entity seen without its opening event) is
    kept ``retention`` seconds of stream time after its last event, then released. It must be
    at least the allowed lateness: then any repeat of an event of a released entity is older
    than the lateness and is reported late, never applied twice (docs/kpis.md).
    """

    allowed_lateness: float = _HOUR
    due_soon_horizon: float = _DAY
    undelivered_after: float = _DAY
    retention: float = _HOUR
    timezone: str = "Asia/Ho_Chi_Minh"
    max_agencies: int = 500
    known_agencies: frozenset[tuple[str, str]] = frozenset()
    index_weights: tuple[tuple[str, float], ...] = (
        ("online_submission", 0.20),
        ("full_process", 0.10),
        ("on_time_resolution", 0.25),
        ("online_result", 0.10),
        ("satisfaction", 0.10),
        ("electronic_document", 0.15),
        ("digital_signature", 0.10),
    )
    processing_buckets: tuple[float, ...] = PROCESSING_BUCKETS
    delivery_buckets: tuple[float, ...] = DELIVERY_BUCKETS
    #: the service index's scoring table (None: no service index), from reference data
    scoring: ScoringTable | None = None
    #: ((province, agency), published share) of the agencies whose share is known
    published_shares: tuple[tuple[tuple[str, str], float], ...] = ()

    def __post_init__(self) -> None:
        if self.allowed_lateness < 0:
            raise ValueError(f"allowed_lateness must be >= 0, got {self.allowed_lateness}")
        if self.retention < self.allowed_lateness:
            raise ValueError(
                f"retention ({self.retention} s) must be >= allowed_lateness "
                f"({self.allowed_lateness} s), or repeats could be applied twice"
            )
        if self.due_soon_horizon <= 0 or self.undelivered_after <= 0:
            raise ValueError("due_soon_horizon and undelivered_after must be > 0")
        if self.max_agencies < 1:
            raise ValueError(f"max_agencies must be >= 1, got {self.max_agencies}")
        unknown = {k for k, _ in self.index_weights} - set(INDEX_KPIS)
        if unknown:
            raise ValueError(f"index weights name unknown KPIs {sorted(unknown)}")
        if any(w < 0 for _, w in self.index_weights) or not any(
            w > 0 for _, w in self.index_weights
        ):
            raise ValueError("index weights must be >= 0 and not all zero")
        if self.scoring is not None:
            unknown = {i.rate for i in self.scoring.indicators} - {*INDEX_KPIS, PUBLISHED}
            if unknown:
                raise ValueError(f"the service index names unknown rates {sorted(unknown)}")
        for name in ("processing_buckets", "delivery_buckets"):
            buckets = getattr(self, name)
            if list(buckets) != sorted(set(buckets)) or not buckets:
                raise ValueError(f"{name} must be strictly increasing and non-empty")

    @cached_property
    def published_share(self) -> dict[tuple[str, str], float]:
        return dict(self.published_shares)

    def province_published_share(self, province: str) -> float | None:
        """The mean published share of the province's agencies that have one (CONTRACT §8)."""
        return mean_share(s for (p, _), s in self.published_shares if p == province)

    @classmethod
    def from_reference(cls, reference: Reference, **overrides: object) -> KpiConfig:
        """Known agencies, timezone, index weights and the service index from reference data."""
        return cls.from_references((reference,), **overrides)

    @classmethod
    def from_references(cls, references: Sequence[Reference], **overrides: object) -> KpiConfig:
        """The same from several provinces' reference data: their agencies and published
        shares together; one timezone, index weights and scoring table for all of them (the
        provinces are ranked on one scale)."""
        first = references[0]
        for r in references[1:]:
            if (r.timezone, r.index_weights, r.scoring) != (
                first.timezone,
                first.index_weights,
                first.scoring,
            ):
                raise ValueError(
                    f"{r.province} and {first.province} differ in timezone, index weights or "
                    "service index table: provinces watched together share them"
                )
        values: dict[str, object] = {
            "timezone": first.timezone,
            "known_agencies": frozenset(
                (r.province, a.code) for r in references for a in r.agencies
            ),
            "index_weights": first.index_weights,
            "scoring": first.scoring,
            "published_shares": tuple(
                ((r.province, a.code), a.published_share)
                for r in references
                for a in r.agencies
                if a.published_share is not None
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
