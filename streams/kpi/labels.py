"""Bounded label values for (province, agency) (CONTRACT §3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .facts import AgencyKey

__all__ = ["OTHER", "LabelGuard"]

OTHER: Final = "_other"


class LabelGuard:
    """Maps an event's (province, agency) codes to the label pair it is counted under.

    Codes in the reference data are always themselves. Unknown codes are accepted and
    counted under their own name until ``max_agencies`` distinct pairs (known ones included)
    have been admitted; further unknown pairs are counted under ``agency="_other"`` (and
    ``province="_other"`` when the province itself was never admitted).

    One guard serves every engine of a worker, and what it admitted is kept with the
    worker's checkpoints (:meth:`unknown`, :meth:`restore`), so that a restart neither
    forgets a pair (and admits another in its place) nor multiplies the bound by the
    number of partitions.
    """

    def __init__(self, known: frozenset[AgencyKey], max_agencies: int) -> None:
        self.max_agencies = max_agencies
        self.known = known
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

    def unknown(self) -> list[AgencyKey]:
        """The pairs admitted that the reference data does not know, sorted."""
        return sorted(k for k in self.admitted if k not in self.known)

    def restore(self, pairs: Iterable[AgencyKey]) -> None:
        """Admit ``pairs`` again (admitted before a restart), even past the bound: they are
        exported already. ``_other`` is what the bound maps to, not a pair to admit."""
        for province, agency in pairs:
            if agency != OTHER:
                self.admitted[(province, agency)] = (province, agency)
                self.provinces.add(province)
