"""Bounded label values for (province, agency) (CONTRACT §3)."""

from __future__ import annotations

from typing import Any, Final

from .sink import AgencyKey

__all__ = ["OTHER", "LabelGuard"]

OTHER: Final = "_other"


class LabelGuard:
    """Maps an event's (province, agency) codes to the label pair it is counted under.

    Codes in the reference data are always themselves. Unknown codes are accepted and
    counted under their own name until ``max_agencies`` distinct pairs (known ones included)
    have been seen; further unknown pairs are counted under ``agency="_other"`` (and
    ``province="_other"`` when the province itself was never admitted).
    """

    def __init__(self, known: frozenset[AgencyKey], max_agencies: int) -> None:
        self.max_agencies = max_agencies
        self.admitted: dict[AgencyKey, AgencyKey] = {k: k for k in known}
        self.provinces = {p for p, _ in known}

    def key(self, province: str, agency: str) -> AgencyKey:
        pair = (province, agency)
        admitted = self.admitted.get(pair)
        if admitted is not None:
            return admitted
        if len(self.admitted) < self.max_agencies:
            self.admitted[pair] = pair
            self.provinces.add(province)
            return pair
        return (province if province in self.provinces else OTHER, OTHER)

    def to_dict(self) -> dict[str, Any]:
        return {"admitted": sorted(self.admitted)}

    def restore(self, data: dict[str, Any]) -> None:
        for province, agency in data["admitted"]:
            self.admitted[(province, agency)] = (province, agency)
            self.provinces.add(province)
