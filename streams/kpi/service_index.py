"""The service index (CONTRACT §8, after Decision 766/QĐ-TTg): points out of 100 in groups.

An indicator scores ``points × min(1, rate ÷ full_marks_at)``; one whose rate is undefined in
the period (nothing to divide by) is left out of its group. A group scores ``max × Σ scores ÷
Σ points of its defined indicators``; a group with no defined indicator is left out, and
``total = 100 × Σ group scores ÷ Σ max of the defined groups``. So an agency is not penalised
for what it had no dossiers for, and a perfect agency scores 100.

The scoring table is reference data (``[service_index]`` of ``national.toml``); the rates are
those of :mod:`.ratios` over a period, and the transparency indicator reads the agency's
``published_share``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from citypulse.schemas.reference import PUBLISHED, ScoringTable

__all__ = ["PERIODS", "TOTAL", "mean_share", "service_index"]

#: the periods the index is computed for (event time, local calendar)
PERIODS: Final = ("today", "month")
#: the ``group`` label value of the total
TOTAL: Final = "total"


def service_index(
    rates: Mapping[str, float | None], published_share: float | None, table: ScoringTable
) -> dict[str, float]:
    """Points of each group with a defined indicator, and the :data:`TOTAL` (no entry at all
    when nothing is defined)."""
    points: dict[str, float] = {}
    for group, most in table.groups:
        scored = possible = 0.0
        for indicator in table.indicators:
            if indicator.group != group:
                continue
            rate = published_share if indicator.rate == PUBLISHED else rates.get(indicator.rate)
            if rate is None:
                continue
            scored += indicator.points * min(1.0, rate / indicator.full_marks_at)
            possible += indicator.points
        if possible > 0:
            points[group] = most * scored / possible
    if points:
        defined = sum(most for group, most in table.groups if group in points)
        points[TOTAL] = 100 * sum(points.values()) / defined
    return points


def mean_share(shares: Iterable[float | None]) -> float | None:
    """The mean of the shares that are known (a province's published share, CONTRACT §8)."""
    known = [s for s in shares if s is not None]
    return sum(known) / len(known) if known else None
