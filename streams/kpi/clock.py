"""Event time helpers: unix seconds and the province's local day."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["LocalDays"]

_QUARTER = 900  # offsets and their changes fall on 15-minute boundaries in every tz


class LocalDays:
    """Maps unix seconds to the local calendar day (ISO date) of a timezone.

    Cached per quarter hour, so the per-event cost is a dict lookup, not a tz conversion.
    """

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self._day_of_quarter = lru_cache(maxsize=8192)(self._compute)

    def _compute(self, quarter: int) -> str:
        return datetime.fromtimestamp(quarter * _QUARTER, self.zone).date().isoformat()

    def day(self, t: float) -> str:
        return self._day_of_quarter(int(t // _QUARTER))
