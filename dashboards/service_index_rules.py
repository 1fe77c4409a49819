"""Recording rules of the province service index (CONTRACT §8), from the scoring table, and
the alerts on the month's index of an agency and of a province.

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

from dataclasses import dataclass
from typing import Any, Literal

from citypulse.schemas.reference import PUBLISHED, Indicator, ScoringTable
from citypulse.streams.kpi.ratios import RATIOS
from citypulse.streams.kpi.service_index import PERIODS, TOTAL

__all__ = [
    "INDEX_THRESHOLDS",
    "ITEMS",
    "PROVINCE_NAME",
    "IndexThreshold",
    "service_index_alert",
    "service_index_rules",
]

#: the counters of each period
ITEMS = {"today": "citypulse_today_items", "month": "citypulse_month_items"}
_BY_KPI = {r.kpi: r for r in RATIOS}
#: the mean published share of a province's agencies that have one (every worker exports
#: the reference data of every province watched: one value per agency first), for the
#: provinces with counts (as the engine, which scores the provinces it has seen events of)
_PUBLISHED = (
    "avg by (province) (max by (province, agency) (citypulse_agency_published_share))\n"
    "and on(province) group by (province) ({items})"
)


def _rate(indicator: Indicator, period: str) -> str:
    items = ITEMS[period]
    if indicator.rate == PUBLISHED:
        return _PUBLISHED.format(items=items)
    ratio = _BY_KPI[indicator.rate]
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


@dataclass(frozen=True)
class IndexThreshold:
    """The month's service index (points out of 100) of an agency or a province must stay at or
    above ``warning``; judged for an agency once it received ``min_received`` dossiers this
    month (a commune's few dossiers swing its index), cleared at ``warning + margin``."""

    scope: Literal["agency", "province"]
    warning: float
    margin: float
    min_received: int
    for_: str

    @property
    def alert(self) -> str:
        return (
            "CitypulseServiceIndexLow"
            if self.scope == "agency"
            else ("CitypulseProvinceServiceIndexLow")
        )


#: the service index's rows of the threshold table
INDEX_THRESHOLDS = (
    IndexThreshold("agency", 75.0, 2.0, 30, "1h"),
    IndexThreshold("province", 80.0, 2.0, 0, "1h"),
)

#: the start of a province alert's texts: ``$province`` becomes the province's name from the
#: reference data (``citypulse_agency_info``), or stays its code
PROVINCE_NAME = (
    "{{ $province := $labels.province }}"
    '{{ with printf "citypulse_agency_info{province=%q}" $labels.province | query }}'
    '{{ $province = . | first | label "province_name" }}{{ end }}'
)


def service_index_alert(
    t: IndexThreshold, who: str, runbooks: str, keep_firing_for: str
) -> dict[str, Any]:
    """``who``: the Go template naming an agency and its province; ``keep_firing_for``: as
    every KPI alert's (alerts.py)."""
    if t.scope == "agency":
        index = 'citypulse_service_index_points{period="month", group="total"}'
        key = "province, agency"
        volume = f'\nand on({key}) citypulse_month_items{{item="received"}} >= {t.min_received}'
        name, whose = who, "its"
    else:
        index = f'province:citypulse_service_index_points:month{{group="{TOTAL}"}}'
        key, volume, name, whose = (
            "province",
            "",
            PROVINCE_NAME + "{{ $province }}",
            "the province's",
        )
    firing = f'ALERTS{{alertname="{t.alert}", alertstate="firing"}}'
    expr = (
        f"(\n  {index} < {t.warning:g}\n"
        f"  or\n  ({index} < {t.warning + t.margin:g} and on({key}) {firing})\n){volume}"
    )
    return {
        "alert": t.alert,
        "expr": expr,
        "for": t.for_,
        "keep_firing_for": keep_firing_for,
        "labels": {"severity": "warning", "component": "kpi"},
        "annotations": {
            "summary": (
                f'{name}: service index this month is {{{{ $value | printf "%.1f" }}}} '
                f"points, below {t.warning:g}"
            ),
            "summary_vi": (
                f'{name}: chỉ số phục vụ tháng này là {{{{ $value | printf "%.1f" }}}} '
                f"điểm, dưới ngưỡng {t.warning:g}"
            ),
            "description": (
                f"The service index (Decision 766/QĐ-TTg, CONTRACT §8) of {whose} dossiers "
                f"this month has been below {t.warning:g} of 100 for {t.for_}"
                + (
                    f" (with at least {t.min_received} dossiers received this month)"
                    if volume
                    else ""
                )
                + f". It clears at {t.warning + t.margin:g}."
            ),
            "runbook_url": f"{runbooks}#{t.alert.lower()}",
        },
    }
