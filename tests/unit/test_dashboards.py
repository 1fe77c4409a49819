"""Grafana dashboards as code: checked in, deterministic, laid out for the wall, documented,
coloured like the alerts, and every query names a metric the worker or the rules provide."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from citypulse.dashboards import agency, national, pipeline, render, wall
from citypulse.dashboards.alerts import THRESHOLDS, rule_groups
from citypulse.dashboards.panels import PROMETHEUS_UID, kpi_steps
from citypulse.dashboards.promql import RATE_INTERVAL, SMOOTHING_WINDOWS
from tests.support.binaries import need_binary

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "deploy/grafana/dashboards"
PICTURES = ROOT / "docs/dashboards"
PLAYLISTS = ROOT / "deploy/grafana/playlists"
#: Grafana's grid: 24 columns; a row is 30 px plus an 8 px margin
ROW_PX, MARGIN_PX = 30, 8

VALUES = {"province": "TTH", "agency": "SXD", "__rate_interval": "1m"}


def boards() -> dict[str, dict[str, Any]]:
    return {uid: render.to_json(build()) for uid, build in render.BUILDERS.items()}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return list(board["panels"])


def test_the_checked_in_dashboards_are_the_rendering_of_the_code() -> None:
    rendered = render.render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in CHECKED_IN.glob("*.json")}
    assert on_disk == rendered, "run `citypulse dashboards render`"


def test_rendering_twice_gives_identical_bytes() -> None:
    assert render.render() == render.render()
    assert render.pictures() == render.pictures()


def test_the_layout_pictures_in_docs_are_drawn_from_the_current_dashboards() -> None:
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in PICTURES.glob("*.svg")}
    assert on_disk == render.pictures(), "run `citypulse dashboards render`"
    for name, text in on_disk.items():
        root = ElementTree.fromstring(text)  # well-formed SVG
        board = boards()[name.removesuffix(".svg")]
        texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
        for panel in panels(board):  # every panel is drawn with its title (maybe shortened)
            assert any(panel["title"].startswith(t.removesuffix("…")) for t in texts if t)


def test_four_dashboards_with_stable_uids() -> None:
    assert set(boards()) == {wall.UID, agency.UID, pipeline.UID, national.UID}
    for uid, board in boards().items():
        assert board["uid"] == uid
        assert [p["id"] for p in panels(board)] == list(range(1, len(panels(board)) + 1))


def rate_windows(expr: str) -> list[str]:
    """the range of every rate() and irate() in ``expr``"""
    return re.findall(r"\b(?:rate|irate)\([^\[]*\[([^\]]+)\]", expr)


@pytest.mark.parametrize("uid", [wall.UID, agency.UID, pipeline.UID, national.UID])
def test_lint_every_panel_has_a_description_a_unit_the_datasource_variable_and_rate_intervals(
    uid: str,
) -> None:
    board = boards()[uid]
    variables = board["templating"]["list"]
    assert variables[0]["name"] == "datasource"
    assert variables[0]["type"] == "datasource"
    assert variables[0]["query"] == "prometheus"
    assert variables[0]["current"]["value"] == PROMETHEUS_UID  # what provisioning creates
    for var in variables[1:]:
        assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, var["name"]
    for panel in panels(board):
        title = panel["title"]
        assert len(panel.get("description", "")) > 40, title
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{title}: no unit"
        assert panel["targets"], title
        for target in panel["targets"]:
            for window in rate_windows(target["expr"]):
                assert window == RATE_INTERVAL or window in SMOOTHING_WINDOWS, (title, window)


def test_the_rate_lint_sees_a_fixed_window() -> None:
    assert rate_windows('sum(rate(x_total{a="b"}[5m])) / irate(y[$__rate_interval])') == [
        "5m",
        "$__rate_interval",
    ]


@pytest.mark.parametrize("uid", [wall.UID, agency.UID, pipeline.UID, national.UID])
def test_lint_panels_of_an_alerted_kpi_are_coloured_at_its_alert_thresholds(uid: str) -> None:
    for panel in panels(boards()[uid]):
        thresholds = panel["fieldConfig"]["defaults"].get("thresholds")
        for t in THRESHOLDS:
            if not any(f'kpi="{t.kpi}"' in target["expr"] for target in panel["targets"]):
                continue
            assert thresholds is not None, panel["title"]
            expected = json.loads(json.dumps(kpi_steps(t.kpi).build(), cls=JSONEncoder))
            assert thresholds == expected, panel["title"]


@pytest.mark.parametrize("uid", [wall.UID, agency.UID, pipeline.UID, national.UID])
def test_panels_stay_inside_the_grid_and_never_overlap(uid: str) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in panels(boards()[uid]):
        g = panel["gridPos"]
        assert 0 <= g["x"] < g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_the_national_view_ranks_provinces_against_the_national_figure_and_links_walls() -> None:
    board = boards()[national.UID]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(board))
    assert rows * ROW_PX + (rows - 1) * MARGIN_PX <= 1080
    exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
    assert any("province:citypulse_service_index_points:month" in e for e in exprs)
    assert any('kpi="digital_government_index"' in e for e in exprs)
    references = [p for p in panels(board) if any("0.865" in t["expr"] for t in p["targets"])]
    assert {p["title"].split(" · ")[0] for p in references} == {
        "Electronic documents today",
        "On-time resolution today",
    }
    for panel in panels(board):
        (link,) = panel["fieldConfig"]["defaults"]["links"]
        assert link["url"].startswith(f"/d/{wall.UID}?var-province=${{__field.labels.province}}")


def test_the_wall_fits_a_1080p_screen_in_kiosk_mode_without_scrolling() -> None:
    board = boards()[wall.UID]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(board))
    assert rows * ROW_PX + (rows - 1) * MARGIN_PX <= 1080
    titles = [p["title"] for p in panels(board)]
    for wanted in (
        "Dossiers received today",
        "Online submission",
        "Full-process online",
        "On-time resolution",
        "Overdue backlog",
        "Electronic documents",
        "Digital signatures",
        "Satisfaction",
    ):
        assert wanted in titles
    # today's tiles are one row across the top, readable from across the room; the month's
    # service index heads the ranking of agencies by it
    tiles = [p for p in panels(board) if p["type"] == "stat"]
    assert len(tiles) == 9
    today = [p for p in tiles if p["gridPos"]["y"] == 0]
    assert len(today) == 8
    assert all(p["options"]["text"]["valueSize"] >= 48 for p in tiles)
    (index,) = [p for p in tiles if p["gridPos"]["y"] > 0]
    assert index["title"] == "Service index this month"
    (ranking,) = [p for p in panels(board) if p["title"].endswith("service index this month")
                  and p["type"] == "bargauge"]  # fmt: skip
    assert ranking["gridPos"]["y"] == index["gridPos"]["y"] + index["gridPos"]["h"]
    assert ranking["gridPos"]["x"] == index["gridPos"]["x"]


def test_tile_colours_change_exactly_at_the_alert_thresholds() -> None:
    for uid in (wall.UID, agency.UID):
        for t in THRESHOLDS:
            [tile] = [
                p
                for p in panels(boards()[uid])
                if p["type"] == "stat" and f'kpi="{t.kpi}"' in p["targets"][0]["expr"]
            ]
            steps = tile["fieldConfig"]["defaults"]["thresholds"]["steps"]
            assert steps[-1] == {"color": "green", "value": t.warning}
            if t.critical is not None:
                assert {"color": "orange", "value": t.critical} in steps
                assert steps[0]["color"] == "red"


def test_the_agency_drill_down_has_province_and_agency_variables() -> None:
    variables = boards()[agency.UID]["templating"]["list"]
    assert [v["name"] for v in variables] == ["datasource", "province", "agency"]
    assert "$province" in variables[2]["query"]  # agencies of the chosen province


def metric_names() -> set[str]:
    """what the worker exposes (the inventory, from a rendering of the code) and records"""
    from prometheus_client import CollectorRegistry

    from citypulse.streams.exposition.metrics import pipeline_metrics

    registry = CollectorRegistry()
    pipeline_metrics(registry, ("t",))
    names = {s.name for family in registry.collect() for s in family.samples}
    source = (ROOT / "streams/exposition/metrics.py").read_text() + (
        ROOT / "streams/faust_adapter/lag.py"
    ).read_text()
    for base in re.findall(r'"(citypulse_[a-z_]+)"', source):
        names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    names |= {r["record"] for g in rule_groups()["groups"] for r in g["rules"] if "record" in r}
    return names | {"up"}


def test_every_query_names_a_metric_the_worker_exposes_or_a_rule_records() -> None:
    known = metric_names()
    for board in boards().values():
        for title, expr in render.expressions(board):
            for name in re.findall(r"\b((?:citypulse_|province:|topic:)[\w:]+|up)\s*[{\[)]", expr):
                assert name in known, f"{title}: unknown metric {name}"


def test_template_variables_are_substituted_like_grafana_and_unknown_ones_are_an_error() -> None:
    assert render.substitute('x{a="$province", b="${agency}"}', VALUES) == 'x{a="TTH", b="SXD"}'
    with pytest.raises(KeyError, match="interval"):
        render.substitute("rate(x[$interval])", VALUES)


@pytest.mark.integration
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    # promtool has no "check expression"; a recording rule per query makes it parse each one
    promtool = need_binary("promtool", "apt-get install prometheus")
    rules = [
        {"record": f"check:query_{i}", "expr": render.substitute(expr, VALUES)}
        for i, (_, expr) in enumerate(
            e
            for b in boards().values()
            for e in render.expressions(b)
            if "label_values" not in e[1]
        )
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{len(rules)} rules found" in check.stdout


def test_the_json_is_grafana_dashboard_json() -> None:
    for name, text in render.render().items():
        data = json.loads(text)
        assert data["schemaVersion"] >= 39
        assert data["title"].startswith("citypulse")
        assert name == f"{data['uid']}.json"


def test_the_wall_playlist_is_checked_in_and_rotates_existing_dashboards() -> None:
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in PLAYLISTS.glob("*.json")}
    assert on_disk == render.playlists(), "run `citypulse dashboards render`"
    [rotation] = render.PLAYLISTS
    body = rotation.to_json()
    assert body["items"][0] == {"type": "dashboard_by_uid", "value": wall.UID}  # the wall first
    assert {i["value"] for i in body["items"]} <= set(render.BUILDERS)
    assert re.fullmatch(r"\d+[smh]", body["interval"])
