"""Reference data of a province: agencies, procedures, index weights (``data/reference.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from .dossier import ServiceLevel

__all__ = ["Agency", "Procedure", "Reference", "ReferenceDataError", "load_reference"]

AgencyLevel = Literal["province", "district", "commune"]
_LEVELS: tuple[AgencyLevel, ...] = ("province", "district", "commune")
_SERVICE_LEVELS: tuple[ServiceLevel, ...] = ("full_process", "partial", "offline")


class ReferenceDataError(ValueError):
    """The reference data file is inconsistent; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name: str
    level: AgencyLevel
    district: str


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    name: str
    sector: str
    service_level: ServiceLevel
    processing_days: int
    handled_at: AgencyLevel
    agency: str | None
    daily_volume: float


@dataclass(frozen=True, slots=True)
class Reference:
    province: str
    province_name: str
    timezone: str
    districts: tuple[str, ...]
    agencies: tuple[Agency, ...]
    procedures: tuple[Procedure, ...]
    index_weights: tuple[tuple[str, float], ...]

    def agency(self, code: str) -> Agency:
        for agency in self.agencies:
            if agency.code == code:
                return agency
        raise KeyError(code)

    def handlers(self, procedure: Procedure) -> tuple[Agency, ...]:
        """The agencies that receive dossiers of ``procedure``."""
        if procedure.handled_at == "province":
            return (self.agency(procedure.agency or ""),)
        return tuple(a for a in self.agencies if a.level == procedure.handled_at)


def _parse(data: dict[str, object], origin: str) -> Reference:
    def fail(msg: str) -> ReferenceDataError:
        return ReferenceDataError(f"{origin}: {msg}")

    try:
        province = data["province"]
        assert isinstance(province, dict)
        districts = tuple(str(d["code"]) for d in data["districts"])  # type: ignore[attr-defined]
        agencies = tuple(
            Agency(str(a["code"]), str(a["name"]), a["level"], str(a["district"]))
            for a in data["agencies"]  # type: ignore[attr-defined]
        )
        procedures = tuple(
            Procedure(
                code=str(p["code"]),
                name=str(p["name"]),
                sector=str(p["sector"]),
                service_level=p["service_level"],
                processing_days=int(p["processing_days"]),
                handled_at=p["handled_at"],
                agency=p.get("agency"),
                daily_volume=float(p["daily_volume"]),
            )
            for p in data["procedures"]  # type: ignore[attr-defined]
        )
        weights = data["index"]["weights"]  # type: ignore[index]
    except (KeyError, TypeError, AssertionError) as exc:
        raise fail(f"missing or malformed entry ({exc!r})") from exc
    codes = {a.code for a in agencies}
    if len(codes) != len(agencies):
        raise fail("duplicate agency code")
    for a in agencies:
        if a.level not in _LEVELS:
            raise fail(f"agency {a.code}: level must be one of {_LEVELS}")
        if a.district not in districts:
            raise fail(f"agency {a.code}: unknown district {a.district}")
    for p in procedures:
        if p.service_level not in _SERVICE_LEVELS:
            raise fail(f"procedure {p.code}: service_level must be one of {_SERVICE_LEVELS}")
        if p.handled_at == "province" and p.agency not in codes:
            raise fail(f"procedure {p.code}: handled_at=province needs a known agency")
        if p.processing_days < 1 or p.daily_volume <= 0:
            raise fail(f"procedure {p.code}: processing_days and daily_volume must be positive")
    index_weights = tuple(sorted((str(k), float(v)) for k, v in weights.items()))
    if any(w < 0 for _, w in index_weights) or sum(w for _, w in index_weights) <= 0:
        raise fail("index weights must be non-negative and not all zero")
    return Reference(
        province=str(province["code"]),
        province_name=str(province["name"]),
        timezone=str(province["timezone"]),
        districts=districts,
        agencies=agencies,
        procedures=procedures,
        index_weights=index_weights,
    )


@cache
def load_reference(path: Path | None = None) -> Reference:
    """Load reference data from ``path``, or the packaged Thua Thien Hue file."""
    if path is None:
        source = resources.files("citypulse.schemas").joinpath("data/reference.toml")
        return _parse(tomllib.loads(source.read_text(encoding="utf-8")), "reference.toml")
    return _parse(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
