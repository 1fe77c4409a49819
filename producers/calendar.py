"""Office hours of a Vietnamese state agency, in unix seconds.

Mornings 07:30-11:30 and afternoons 13:30-17:00, Monday to Friday (public holidays are
not modelled). The province's UTC offset is fixed (Asia/Ho_Chi_Minh has had no DST since 1975).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["WORK_PERIODS", "WorkCalendar"]

_DAY = 86400
#: (start, end) seconds after local midnight.
WORK_PERIODS = ((7 * 3600 + 1800, 11 * 3600 + 1800), (13 * 3600 + 1800, 17 * 3600))
_WORK_SECONDS_PER_DAY = sum(end - start for start, end in WORK_PERIODS)


class WorkCalendar:
    def __init__(self, timezone: str, at: datetime) -> None:
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
        assert offset is not None
        self.offset = int(offset.total_seconds())

    def local_day_start(self, t: float) -> int:
        """Unix seconds of local midnight of the day of ``t``."""
        return int((t + self.offset) // _DAY) * _DAY - self.offset

    def weekday(self, t: float) -> int:
        """0 = Monday (1970-01-01 was a Thursday)."""
        return (int((t + self.offset) // _DAY) + 3) % 7

    def seconds_of_day(self, t: float) -> int:
        return int((t + self.offset) % _DAY)

    def is_working_day(self, t: float) -> bool:
        return self.weekday(t) < 5

    def is_working(self, t: float) -> bool:
        if not self.is_working_day(t):
            return False
        s = self.seconds_of_day(t)
        return any(start <= s < end for start, end in WORK_PERIODS)

    def next_working(self, t: float) -> int:
        """The first instant at or after ``t`` within office hours."""
        t = int(t)
        while True:
            if self.is_working_day(t):
                s = self.seconds_of_day(t)
                for start, end in WORK_PERIODS:
                    if s < end:
                        return t + max(0, start - s)
            t = self.local_day_start(t) + _DAY

    def add_working_seconds(self, t: float, seconds: float) -> int:
        """``t`` advanced by ``seconds`` of office time."""
        t = self.next_working(t)
        left = int(seconds)
        while True:
            s = self.seconds_of_day(t)
            end = next(e for b, e in WORK_PERIODS if b <= s < e)
            room = end - s
            if left < room:
                return t + left
            left -= room
            t = self.next_working(t + room)

    def add_working_days(self, t: float, days: int) -> int:
        """``days`` working days after ``t`` (the statutory-deadline rule)."""
        return self.add_working_seconds(t, days * _WORK_SECONDS_PER_DAY)
