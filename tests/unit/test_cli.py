"""The citypulse command line (no broker needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from citypulse.schemas import INPUT_TOPICS
from rich.console import Console

from citypulse.cli import main


def run(*argv: str) -> str:
    console = Console(record=True, width=200, force_terminal=False)
    assert main(list(argv), console=console) == 0
    return console.export_text()


def test_schemas_export_writes_one_json_schema_per_topic(tmp_path: Path) -> None:
    out = run("schemas", "export", str(tmp_path / "schemas"))
    for topic in INPUT_TOPICS:
        path = tmp_path / "schemas" / f"{topic}.schema.json"
        assert str(path) in out
        assert json.loads(path.read_text())["title"] == f"{topic} event"


def test_the_offline_demo_shows_the_province_and_its_pipeline_health() -> None:
    out = run("demo", "--offline", "--hours", "12", "--speed", "0")
    assert "TTH total" in out
    assert "events/s" in out
    assert "dead-letter" in out


def test_settings_come_from_citypulse_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from citypulse import bootstrap
    from citypulse.settings import Settings

    monkeypatch.setenv("CITYPULSE_ALLOWED_LATENESS", "PT2H")
    monkeypatch.setenv("CITYPULSE_DUE_SOON_HORIZON", "7200")
    config = bootstrap.kpi_config(Settings())
    assert config.allowed_lateness == 7200
    assert config.retention == 7200
    assert config.due_soon_horizon == 7200


def test_a_retention_below_the_lateness_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from citypulse import bootstrap
    from citypulse.settings import Settings

    monkeypatch.setenv("CITYPULSE_DEDUP_RETENTION", "60")
    with pytest.raises(ValueError, match="retention"):
        bootstrap.kpi_config(Settings())


def test_the_console_script_is_installed_and_documents_its_settings() -> None:
    script = shutil.which("citypulse", path=str(Path(sys.executable).parent))
    assert script, "the citypulse console script is not installed next to this Python"
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "CITYPULSE_ALLOWED_LATENESS" in result.stdout
    assert "demo" in result.stdout
