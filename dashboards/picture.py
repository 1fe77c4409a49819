"""A picture of a dashboard's layout, drawn from its JSON (no Grafana needed): an SVG of the
panel grid at 1920 px wide, each panel with its title, its kind and, for tiles and bars,
its colour thresholds. The README shows the wall this way, since no screenshot can be
taken without a running Grafana."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["svg"]

WIDTH = 1920
COLUMN = WIDTH / 24
ROW, MARGIN = 30, 8  # Grafana's grid: a row is 30 px, panels 8 px apart
COLOURS = {"green": "#73bf69", "orange": "#ff9830", "red": "#f2495c", "blue": "#5794f2"}
KIND = {
    "stat": "tile",
    "timeseries": "time series",
    "bargauge": "ranking",
    "piechart": "donut",
}


def _box(panel: Mapping[str, Any]) -> tuple[float, float, float, float]:
    g = panel["gridPos"]
    x, y = g["x"] * COLUMN, g["y"] * (ROW + MARGIN)
    return (
        x + MARGIN / 2,
        y + MARGIN / 2,
        g["w"] * COLUMN - MARGIN,
        g["h"] * (ROW + MARGIN) - MARGIN,
    )


def _fit(text: str, width: float, size: float) -> str:
    room = max(4, int(width / (size * 0.55)))
    return text if len(text) <= room else text[: room - 1] + "…"


def _thresholds(panel: Mapping[str, Any], x: float, y: float, w: float) -> list[str]:
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps")
    if not steps or panel["type"] not in ("stat", "bargauge"):
        return []
    parts, band = [], w / len(steps)
    for i, step in enumerate(steps):
        colour = COLOURS.get(step["color"], step["color"])
        label = "" if step["value"] is None else f"≥ {step['value']:g}"
        parts.append(
            f'<rect x="{x + i * band:.0f}" y="{y:.0f}" width="{band:.0f}" height="18" '
            f'fill="{colour}"/>'
        )
        if label:
            parts.append(
                f'<text x="{x + i * band + 4:.0f}" y="{y + 13:.0f}" font-size="11" '
                f'fill="#111217">{escape(label)}</text>'
            )
    return parts


def svg(board: Mapping[str, Any]) -> str:
    panels = board["panels"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * (ROW + MARGIN)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height + 40}" '
        f'viewBox="0 0 {WIDTH} {height + 40}" font-family="Inter, Helvetica, Arial, sans-serif">',
        f'<rect width="{WIDTH}" height="{height + 40}" fill="#111217"/>',
        f'<text x="8" y="26" font-size="20" fill="#ccccdc">{escape(board["title"])} '
        f'<tspan fill="#8e8e8e" font-size="14">(layout drawn from {escape(board["uid"])}.json, '
        f"{WIDTH}×{height} px)</tspan></text>",
        '<g transform="translate(0,40)">',
    ]
    for panel in panels:
        x, y, w, h = _box(panel)
        kind = KIND.get(panel["type"], panel["type"])
        if panel["type"] in ("timeseries", "piechart"):
            legends = [t.get("legendFormat", "") for t in panel.get("targets", [])]
            kind += ": " + ", ".join(s.replace("{{", "").replace("}}", "") for s in legends)
        elif panel["type"] == "stat":
            unit = panel["fieldConfig"]["defaults"].get("unit")
            kind += " · " + {"percentunit": "%", "s": "seconds"}.get(unit or "", "count")
        out += [
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="3" '
            f'fill="#181b1f" stroke="#2c3235"/>',
            f'<text x="{x + 10:.0f}" y="{y + 22:.0f}" font-size="15" fill="#ccccdc">'
            f"{escape(_fit(panel['title'], w - 20, 15))}</text>",
            f'<text x="{x + 10:.0f}" y="{y + 42:.0f}" font-size="12" fill="#8e8e8e">'
            f"{escape(_fit(kind, w - 20, 12))}</text>",
            *_thresholds(panel, x + 10, y + h - 28, w - 20),
        ]
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"
