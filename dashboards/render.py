"""Render the dashboards to Grafana JSON, deterministically, and read their PromQL back.

``render()`` is what ``citypulse dashboards render`` writes to ``deploy/grafana/dashboards``
(provisioned by docker-compose, pushed by ``citypulse dashboards push``): sorted keys, a
fixed indent, stable uids and panel ids, so rendering twice gives the same bytes and a test
can tell when the checked-in files are stale.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import agency, national, pipeline, wall
from .picture import svg
from .playlist import WALL_ROTATION, Playlist

__all__ = [
    "BUILDERS",
    "DASHBOARD_DIR",
    "PICTURE_DIR",
    "PLAYLISTS",
    "PLAYLIST_DIR",
    "expressions",
    "pictures",
    "playlists",
    "render",
    "substitute",
    "to_json",
    "write",
]

DASHBOARD_DIR = Path("deploy/grafana/dashboards")
PLAYLIST_DIR = Path("deploy/grafana/playlists")  # what `dashboards push` creates in Grafana
PICTURE_DIR = Path("docs/dashboards")  # the layout pictures the README shows

#: the playlists rendered and pushed with the dashboards
PLAYLISTS: tuple[Playlist, ...] = (WALL_ROTATION,)

#: file name (the uid) → builder
BUILDERS: Mapping[str, Callable[[], Dashboard]] = {
    wall.UID: wall.build,
    agency.UID: agency.build,
    pipeline.UID: pipeline.build,
    national.UID: national.build,
}


def to_json(board: Dashboard) -> dict[str, Any]:
    """The dashboard model as plain JSON data, panels numbered in layout order."""
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    for number, panel in enumerate(data.get("panels", []), start=1):
        panel["id"] = number
    return data


def render() -> dict[str, str]:
    """file name → JSON text, one per dashboard"""
    return {
        f"{uid}.json": json.dumps(to_json(build()), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
        for uid, build in BUILDERS.items()
    }


def playlists() -> dict[str, str]:
    """file name → JSON text, one per playlist (the body ``dashboards push`` sends)"""
    return {
        f"{p.uid}.json": json.dumps(p.to_json(), indent=2, ensure_ascii=False) + "\n"
        for p in PLAYLISTS
    }


def pictures() -> dict[str, str]:
    """file name → SVG of the layout, one per dashboard"""
    return {f"{uid}.svg": svg(to_json(build())) for uid, build in BUILDERS.items()}


def write(
    directory: Path = DASHBOARD_DIR,
    picture_directory: Path = PICTURE_DIR,
    playlist_directory: Path = PLAYLIST_DIR,
) -> list[Path]:
    written = []
    outputs = (
        (directory, render()),
        (picture_directory, pictures()),
        (playlist_directory, playlists()),
    )
    for folder, files in outputs:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def expressions(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel, and of every query variable"""
    for panel in data.get("panels", []):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for var in data.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            yield f"variable {var['name']}", var["query"]


_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace template variables the way Grafana does for single values."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for template variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(one, expr)
