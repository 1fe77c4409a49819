"""Reference data of a province: agencies, procedures, the simulator's profile
(``data/provinces/<code>.toml``), and the national index weights and service index scoring table
(``data/national.toml``, unless the province's file has its own)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from .dossier import ServiceLevel

__all__ = [
    "PUBLISHED",
    "SHIPPED",
    "Agency",
    "Indicator",
    "Procedure",
    "Reference",
    "ReferenceDataError",
    "ScoringTable",
    "load_reference",
    "load_references",
]

AgencyLevel = Literal["province", "district", "commune"]
_LEVELS: tuple[AgencyLevel, ...] = ("province", "district", "commune")
_SERVICE_LEVELS: tuple[ServiceLevel, ...] = ("full_process", "partial", "offline")
#: the service index's indicator read from reference data (an agency's ``published_share``)
PUBLISHED = "published"
#: the provinces whose reference data ships with citypulse (CONTRACT §7); the first is the
#: default of everything that watches one province
SHIPPED = ("TTH", "HYN", "QNH", "AGG")


class ReferenceDataError(ValueError):
    """The reference data file is inconsistent; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name: str
    level: AgencyLevel
    district: str
    #: share of its procedures published on time on the national database (None: not known)
    published_share: float | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator of the service index: ``rate`` is a KPI's name (``citypulse_kpi_ratio``)
    or :data:`PUBLISHED`."""

    group: str
    rate: str
    points: float
    full_marks_at: float


@dataclass(frozen=True, slots=True)
class ScoringTable:
    """The service index's groups (name, max points, in order) and indicators (CONTRACT §8)."""

    groups: tuple[tuple[str, float], ...]
    indicators: tuple[Indicator, ...]


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
    scoring: ScoringTable
    #: what the simulator draws this province from: Profile fields and their values
    profile: tuple[tuple[str, float], ...] = ()

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


def _parse(data: dict[str, object], national: dict[str, object], origin: str) -> Reference:
    def fail(msg: str) -> ReferenceDataError:
        return ReferenceDataError(f"{origin}: {msg}")

    try:
        province = data["province"]
        assert isinstance(province, dict)
        districts = tuple(str(d["code"]) for d in data["districts"])  # type: ignore[attr-defined]
        agencies = tuple(
            Agency(
                str(a["code"]),
                str(a["name"]),
                a["level"],
                str(a["district"]),
                None if a.get("published_share") is None else float(a["published_share"]),
            )
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
        profile = tuple(
            (str(k), float(v))
            for k, v in data.get("profile", {}).items()  # type: ignore[attr-defined]
        )
        weights = data.get("index", national["index"])["weights"]  # type: ignore[index]
        table = data.get("service_index", national["service_index"])
        assert isinstance(table, dict)
        scoring = ScoringTable(
            tuple((str(g), float(m)) for g, m in table["groups"].items()),
            tuple(
                Indicator(
                    str(i["group"]), str(i["rate"]), float(i["points"]), float(i["full_marks_at"])
                )
                for i in table["indicators"]
            ),
        )
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
        if a.published_share is not None and not 0 <= a.published_share <= 1:
            raise fail(f"agency {a.code}: published_share must be within [0, 1]")
    for p in procedures:
        if p.service_level not in _SERVICE_LEVELS:
            raise fail(f"procedure {p.code}: service_level must be one of {_SERVICE_LEVELS}")
        if p.handled_at == "province" and p.agency not in codes:
            raise fail(f"procedure {p.code}: handled_at=province needs a known agency")
        if p.processing_days < 1 or p.daily_volume <= 0:
            raise fail(f"procedure {p.code}: processing_days and daily_volume must be positive")
    groups = dict(scoring.groups)
    for i in scoring.indicators:
        if i.group not in groups:
            raise fail(f"service_index: indicator {i.rate} names an unknown group {i.group}")
        if i.points <= 0 or i.full_marks_at <= 0:
            raise fail(f"service_index: indicator {i.rate}: points and full_marks_at must be > 0")
    if any(m <= 0 for m in groups.values()):
        raise fail("service_index: every group's max must be > 0")
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
        scoring=scoring,
        profile=profile,
    )


def _packaged(name: str) -> dict[str, object]:
    source = resources.files("citypulse.schemas").joinpath(f"data/{name}")
    return tomllib.loads(source.read_text(encoding="utf-8"))


@cache
def load_reference(path: Path | None = None, province: str = SHIPPED[0]) -> Reference:
    """One province's reference data: from the file ``path``, or the packaged file of
    ``province`` (Thua Thien Hue by default); the index weights and the scoring table from
    the file if it has them, else the packaged national ones."""
    national = _packaged("national.toml")
    if path is None:
        if province not in SHIPPED:
            raise ReferenceDataError(
                f"no reference data ships for province {province!r}: {', '.join(SHIPPED)}"
            )
        return _parse(_packaged(f"provinces/{province}.toml"), national, f"{province}.toml")
    return _parse(tomllib.loads(path.read_text(encoding="utf-8")), national, str(path))


def load_references(provinces: Iterable[str] = SHIPPED) -> tuple[Reference, ...]:
    """The packaged reference data of several provinces (CONTRACT §7), in the order given."""
    return tuple(load_reference(province=p) for p in provinces)
