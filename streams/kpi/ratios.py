"""Every ratio KPI, defined once (CONTRACT §5, §6).

A ratio is a :class:`Count` over a :class:`Count` of the same label-keyed counter family of
an agency (``received["online/full_process"]``). The one table :data:`RATIOS` drives:

* the ratios over all time (:func:`ratios`, from the counters);
* today's counters (:data:`TODAY_ITEMS`, exported as ``citypulse_today_items``) and today's
  ratios (:func:`today_ratios`, exported as ``citypulse_kpi_ratio``);
* the ``kpi`` label values and the index weights' names (:data:`INDEX_KPIS`);
* the province recording rules and the dashboards' list of KPIs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "INDEX_KPIS",
    "RATIOS",
    "TODAY_ITEMS",
    "Count",
    "Ratio",
    "index",
    "ratios",
    "today_ratios",
]


@dataclass(frozen=True, slots=True)
class Count:
    """The events of counter ``family`` whose label (values joined by ``/``) ``matches``;
    ``item`` names its today counter."""

    item: str
    family: str
    matches: Callable[[str], bool]

    def of(self, families: Mapping[str, Mapping[str, int]]) -> int:
        return sum(n for label, n in families[self.family].items() if self.matches(label))


@dataclass(frozen=True, slots=True)
class Ratio:
    kpi: str  # the ``kpi`` label value
    numerator: Count
    denominator: Count
    title: str
    title_vi: str


def _every(label: str) -> bool:
    return True


RECEIVED: Final = Count("received", "received", _every)
RESOLVED: Final = Count("resolved", "resolved", _every)
RESULTS: Final = Count("results_returned", "results_returned", _every)
ACCEPTED: Final = Count("accepted", "accepted", _every)
PAYMENTS: Final = Count("payments", "payments", _every)
RATINGS: Final = Count("ratings", "ratings", _every)
SENT: Final = Count("documents_sent", "documents_sent", _every)
ELECTRONIC: Final = Count(
    "documents_electronic", "documents_sent", lambda label: label.startswith("electronic/")
)

#: The rates, in the order of the wall's tiles.
RATIOS: Final = (
    Ratio(
        "online_submission",
        Count("received_online", "received", lambda label: label.startswith("online/")),
        RECEIVED,
        "Online submission",
        "Nộp trực tuyến",
    ),
    Ratio(
        "full_process",
        Count("received_full_process", "received", lambda label: label.endswith("/full_process")),
        RECEIVED,
        "Full-process online",
        "Trực tuyến toàn trình",
    ),
    Ratio(
        "on_time_resolution",
        Count("resolved_on_time", "resolved", lambda label: label.endswith("/on_time")),
        RESOLVED,
        "On-time resolution",
        "Giải quyết đúng hạn",
    ),
    Ratio(
        "online_result",
        Count("results_online", "results_returned", lambda label: label != "counter"),
        RESULTS,
        "Results returned online",
        "Trả kết quả trực tuyến",
    ),
    Ratio(
        "digitization",
        Count("accepted_digitized", "accepted", lambda label: label == "true"),
        ACCEPTED,
        "Digitised dossiers",
        "Số hóa hồ sơ",
    ),
    Ratio(
        "online_payment",
        Count("payments_online", "payments", lambda label: label == "online"),
        PAYMENTS,
        "Online payment",
        "Thanh toán trực tuyến",
    ),
    Ratio(
        "electronic_result",
        Count("results_electronic", "results_electronic", _every),
        RESULTS,
        "Electronic results",
        "Kết quả điện tử",
    ),
    Ratio(
        "electronic_document",
        ELECTRONIC,
        SENT,
        "Electronic documents",
        "Văn bản điện tử",
    ),
    Ratio(
        "digital_signature",
        Count("documents_signed", "documents_sent", lambda label: label == "electronic/true"),
        ELECTRONIC,
        "Digital signatures",
        "Ký số",
    ),
    Ratio(
        "satisfaction",
        Count("ratings_satisfied", "ratings", lambda label: label == "true"),
        RATINGS,
        "Satisfaction",
        "Hài lòng",
    ),
)

#: The KPIs a digital-government index may weigh (the ``kpi`` label values of CONTRACT §6).
INDEX_KPIS: Final = tuple(r.kpi for r in RATIOS)

#: Today's counters behind today's ratios, each once (``citypulse_today_items``).
TODAY_ITEMS: Final = tuple(
    {c.item: c for r in RATIOS for c in (r.numerator, r.denominator)}.values()
)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def ratios(families: Mapping[str, Mapping[str, int]]) -> dict[str, float | None]:
    """Every rate from label-keyed counters (None where there is nothing to divide by)."""
    return {r.kpi: _ratio(r.numerator.of(families), r.denominator.of(families)) for r in RATIOS}


def today_ratios(today: Mapping[str, int]) -> dict[str, float | None]:
    """Today's rates from today's counters (:data:`TODAY_ITEMS`)."""
    return {
        r.kpi: _ratio(today.get(r.numerator.item, 0), today.get(r.denominator.item, 0))
        for r in RATIOS
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
