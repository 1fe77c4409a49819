"""What folding one event did."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["APPLIED", "CONFLICT", "DUPLICATE", "LATE", "Outcome"]

#: applied: the event changed state. duplicate: its event_id was already applied (counted
#: once). late: older than stream time - allowed lateness (not applied, dead-lettered).
#: conflict: a second, different event for a lifecycle step that happens once per entity
#: (a second submission, resolution, ...): not applied, dead-lettered.
Outcome = Literal["applied", "duplicate", "late", "conflict"]

APPLIED: Final = "applied"
DUPLICATE: Final = "duplicate"
LATE: Final = "late"
CONFLICT: Final = "conflict"
