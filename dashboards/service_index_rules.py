"""Recording rules of the province service index (CONTRACT §8), from the scoring table.

The agencies of one province may be owned by different workers, so a province's index is
computed where the sums exist: in Prometheus, from the summed numerators and denominators of
the period's counters (``citypulse_today_items``, ``citypulse_month_items``) and the mean
published share of the province's agencies, with the formulas of ``streams/kpi/
service_index.py``, never from agency indices:

1. each indicator with something to divide by: its score, and its points as what it could
   score (``province:citypulse_service_indicator_{score,possible}:<period>``);
2. each group with a defined indicator: ``max × Σ scores ÷ Σ possible``; an undefined
   indicator or group has no series, so the sums leave it out, as the contract wants;
3. the total: ``100 × Σ group points ÷ Σ max of the groups that have points``.

Rules of one group run in order at one evaluation, so each step reads the previous one's
results of the same evaluation.
"""

from __future__ import annotations

from typing import Any

from citypulse.schemas.reference import PUBLISHED, Indicator, ScoringTable
from citypulse.streams.kpi.ratios import RATIOS
from citypulse.streams.kpi.service_index import PERIODS, TOTAL

__all__ = ["ITEMS", "service_index_rules"]

#: the counters of each period
ITEMS = {"today": "citypulse_today_items", "month": "citypulse_month_items"}
_BY_KPI = {r.kpi: r for r in RATIOS}
#: the mean published share of a province's agencies that have one (every worker exports
#: the reference data: one value per agency first)
_PUBLISHED = "avg by (province) (max by (province, agency) (citypulse_agency_published_share))"


def _rate(indicator: Indicator, period: str) -> str:
    if indicator.rate == PUBLISHED:
        return _PUBLISHED
    ratio = _BY_KPI[indicator.rate]
    items = ITEMS[period]
    return (
        f'sum by (province) ({items}{{item="{ratio.numerator.item}"}})\n'
        f'/ (sum by (province) ({items}{{item="{ratio.denominator.item}"}}) > 0)'
    )


def service_index_rules(table: ScoringTable) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for period in PERIODS:
        score = f"province:citypulse_service_indicator_score:{period}"
        possible = f"province:citypulse_service_indicator_possible:{period}"
        points = f"province:citypulse_service_index_points:{period}"
        maximum = f"province:citypulse_service_group_max:{period}"
        for i in table.indicators:
            rate = _rate(i, period)
            labels = {"group": i.group, "indicator": i.rate}
            rules.append(
                {
                    "record": score,
                    "expr": f"{i.points:g} * clamp_max(({rate}) / {i.full_marks_at:g}, 1)",
                    "labels": labels,
                }
            )
            rules.append(
                {"record": possible, "expr": f"0 * ({rate}) + {i.points:g}", "labels": {**labels}}
            )
        for group, most in table.groups:
            rules.append(
                {
                    "record": points,
                    "expr": (
                        f'{most:g} * sum by (province) ({score}{{group="{group}"}})\n'
                        f'/ sum by (province) ({possible}{{group="{group}"}})'
                    ),
                    "labels": {"group": group},
                }
            )
            rules.append(
                {
                    "record": maximum,
                    "expr": f'0 * {points}{{group="{group}"}} + {most:g}',
                    "labels": {"group": group},
                }
            )
        rules.append(
            {
                "record": points,
                "expr": (
                    f'100 * sum by (province) ({points}{{group!="{TOTAL}"}})\n'
                    f"/ sum by (province) ({maximum})"
                ),
                "labels": {"group": TOTAL},
            }
        )
    return rules
