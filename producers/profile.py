"""Proportions and fault rates of a simulated province (what the simulator draws from)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

__all__ = ["Faults", "Profile", "SimulationConfig"]

_ICT = timezone(timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class Profile:
    """Shares are fractions in [0, 1]; defaults are plausible for a leading province."""

    online_share: float = 0.40  # of dossiers, from the online (portal) arrival process
    postal_share: float = 0.05  # of dossiers not submitted online
    withdrawn_share: float = 0.015
    supplement_share: float = 0.12  # dossiers asked for supplements at least once
    late_share: float = 0.08  # mean share of late resolutions (5-15 % across agencies)
    rejected_share: float = 0.06
    rating_share: float = 0.35
    #: v1.1, means across agencies: dossiers digitised at reception (of accepted ones)
    digitized_share: float = 0.75
    fee_share: float = 0.35  # dossiers with a fee to pay (paid once, after acceptance)
    online_payment_share: float = 0.45  # of fees, paid through the national platform
    electronic_result_share: float = 0.60  # results issued as signed electronic documents
    documents_per_dossier: float = 2.06  # ~700,000 documents / ~340,000 dossiers a year
    electronic_share: float = 0.95
    signed_share: float = 0.93  # of electronic documents
    urgent_share: float = 0.10
    slow_delivery_share: float = 0.03  # electronic documents stuck for 1-3 working days
    lost_document_share: float = 0.005  # never received within the simulation

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name != "documents_per_dossier" and not 0.0 <= value <= 1.0:
                raise ValueError(f"Profile.{name} must be within [0, 1], got {value}")


@dataclass(frozen=True)
class Faults:
    """Rates (per clean event) at which delivery faults are injected."""

    duplicate: float = 0.0  # the same message again, shortly after (within the lateness)
    disorder: float = 0.0  # delivered after later events, still within the lateness
    late: float = 0.0  # delivered after stream time passed occurred_at + lateness
    malformed: float = 0.0  # an extra message: invalid JSON, invalid schema or unknown type
    pii: float = 0.0  # personal-data fields added by the upstream system

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be within [0, 1], got {value}")
        if self.disorder + self.late > 1.0:
            raise ValueError("Faults.disorder + Faults.late must be <= 1")


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 42
    start: datetime = datetime(2026, 3, 2, tzinfo=_ICT)  # a Monday
    volume: float = 1.0  # multiplier on the reference data's daily volumes
    profile: Profile = Profile()
    faults: Faults = Faults()
    allowed_lateness: float = 3600.0  # what "within the lateness" means for faults
    #: Late-resolution share per agency code, overriding the drawn one (degraded scenarios).
    agency_late_share: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("SimulationConfig.start needs a timezone")
        if self.volume <= 0:
            raise ValueError(f"SimulationConfig.volume must be > 0, got {self.volume}")
