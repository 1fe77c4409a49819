"""The wall as a wall: a Grafana playlist that rotates the citypulse dashboards on a screen.

grafana-foundation-sdk (11.6) has no playlist kind, so the playlist is plain data in the shape
of Grafana's playlist API (``POST /api/playlists``): its items name dashboards by uid, taken
from the dashboard modules, so a renamed dashboard cannot silently drop out of the rotation.
Grafana cannot provision playlists from files; ``citypulse dashboards push`` creates or
updates it (compose runs that once at start-up).

A playlist item is a whole dashboard (by uid or by tag), with the variables it was saved
with: it cannot say "the agency drill-down *for the worst agency*". The drill-down is in the
rotation with its default agency; the wall's agency rankings show which agency is worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import agency, pipeline, wall

__all__ = ["WALL_ROTATION", "Playlist"]


@dataclass(frozen=True)
class Playlist:
    uid: str
    name: str
    interval: str  # how long each dashboard stays on screen (Grafana duration)
    dashboards: tuple[str, ...]  # uids, in the order shown

    def to_json(self) -> dict[str, Any]:
        """The body of Grafana's create and update playlist calls."""
        return {
            "uid": self.uid,
            "name": self.name,
            "interval": self.interval,
            "items": [{"type": "dashboard_by_uid", "value": uid} for uid in self.dashboards],
        }


#: the control centre's wall screen: province KPIs, one agency in detail, the pipeline's health
WALL_ROTATION = Playlist(
    uid="citypulse-wall-rotation",
    name="citypulse · wall rotation",
    interval="1m",
    dashboards=(wall.UID, agency.UID, pipeline.UID),
)
