"""``citypulse dashboards push`` through grafana-client, over HTTP to a Grafana API stand-in."""

from __future__ import annotations

import base64

import pytest
from rich.console import Console

from citypulse.cli import main
from citypulse.dashboards import render
from tests.support.grafana_api import GrafanaApiStandIn


def push(
    grafana: GrafanaApiStandIn, monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(f"CITYPULSE_{name.upper()}", value)
    console = Console(record=True, width=200)
    code = main(["dashboards", "push", "--grafana-url", grafana.url], console=console)
    return code, console.export_text()


def test_push_creates_folder_and_datasource_once_and_upserts_dashboards_by_uid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with GrafanaApiStandIn() as grafana:
        code, out = push(grafana, monkeypatch, grafana_token="s3cret")
        assert code == 0, out
        assert set(grafana.folders) == {"citypulse"}
        assert grafana.datasources["citypulse-prometheus"]["type"] == "prometheus"
        assert grafana.datasources["citypulse-prometheus"]["url"] == "http://prometheus:9090"
        assert set(grafana.dashboards) == set(render.BUILDERS)
        for uid, body in grafana.dashboards.items():
            assert body["folderUid"] == "citypulse"
            assert body["overwrite"] is True
            assert body["dashboard"]["panels"] == render.to_json(render.BUILDERS[uid]())["panels"]
        assert grafana.playlists == {p.uid: p.to_json() for p in render.PLAYLISTS}
        assert "upserted playlist citypulse-wall-rotation" in out
        assert {auth for _, _, auth in grafana.requests} == {"Bearer s3cret"}
        assert "s3cret" not in out

        grafana.requests.clear()
        code, out = push(grafana, monkeypatch, grafana_token="s3cret")
        assert code == 0, out
        created = [
            (m, p) for m, p, _ in grafana.requests if p in ("/api/folders", "/api/datasources")
        ]
        assert created == []  # the second push only upserts
        assert ("PUT", "/api/playlists/citypulse-wall-rotation") in [
            (m, p) for m, p, _ in grafana.requests
        ]
        assert "created" not in out


def test_basic_auth_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with GrafanaApiStandIn() as grafana:
        code, _ = push(grafana, monkeypatch, grafana_user="ops", grafana_password="pw")
        assert code == 0
        expected = "Basic " + base64.b64encode(b"ops:pw").decode()
        assert {auth for _, _, auth in grafana.requests} == {expected}


def test_an_http_error_fails_loudly_with_the_step_status_and_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with GrafanaApiStandIn() as grafana:
        grafana.fail[("POST", "/api/dashboards/db")] = (403, "Access denied to this dashboard")
        code, out = push(grafana, monkeypatch, grafana_token="t")
        assert code == 1
        assert "upsert dashboard citypulse-wall failed" in out
        assert "HTTP 403" in out
        assert "Access denied" in out


def test_an_unreachable_grafana_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    with GrafanaApiStandIn() as grafana:
        url = grafana.url
    console = Console(record=True, width=200)
    assert main(["dashboards", "push", "--grafana-url", url], console=console) == 1
    assert "look up folder citypulse failed: no HTTP response" in console.export_text()
