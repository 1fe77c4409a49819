"""The citypulse command line (no broker needed)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.console import Console

from citypulse.cli import main, parser
from citypulse.schemas import INPUT_TOPICS


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


def test_secrets_come_from_files_as_docker_and_kubernetes_mount_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pydantic import ValidationError

    from citypulse.settings import Settings

    (tmp_path / "password").write_text("from-the-file\n")
    monkeypatch.setenv("CITYPULSE_SASL_PASSWORD_FILE", str(tmp_path / "password"))
    secret = Settings().sasl_password
    assert secret is not None
    assert secret.get_secret_value() == "from-the-file"
    assert "from-the-file" not in repr(Settings())
    monkeypatch.setenv("CITYPULSE_SASL_PASSWORD", "from-the-variable")  # the variable wins
    secret = Settings().sasl_password
    assert secret is not None
    assert secret.get_secret_value() == "from-the-variable"
    # a file that cannot be read: the error names the file, never another setting's value
    monkeypatch.setenv("CITYPULSE_GRAFANA_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValidationError) as error:
        Settings()
    assert "missing" in str(error.value)
    assert "from-the-variable" not in str(error.value)


def test_an_empty_tls_file_setting_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    from citypulse.settings import Settings

    monkeypatch.setenv("CITYPULSE_SSL_CERTFILE", "")
    assert Settings().ssl_certfile is None


def test_the_console_script_is_installed_and_documents_its_settings() -> None:
    script = shutil.which("citypulse", path=str(Path(sys.executable).parent))
    assert script, "the citypulse console script is not installed next to this Python"
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "CITYPULSE_ALLOWED_LATENESS" in result.stdout
    assert "demo" in result.stdout


def _command_paths(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every command and sub-action the parser knows, e.g. ("dashboards", "push")."""
    paths = [path] if path else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += _command_paths(sub, (*path, name))
    return paths


COMMAND_PATHS = _command_paths(parser())


def _launchers() -> dict[str, list[str]]:
    script = shutil.which("citypulse", path=str(Path(sys.executable).parent))
    assert script, "the citypulse console script is not installed next to this Python"
    return {"console script": [script], "python -m citypulse": [sys.executable, "-m", "citypulse"]}


def test_every_command_is_listed() -> None:
    top = {path[0] for path in COMMAND_PATHS}
    assert top == {
        "broker",
        "topics",
        "worker",
        "simulate",
        "record",
        "replay",
        "verify",
        "report",
        "demo",
        "schemas",
        "alerts",
        "dashboards",
    }
    assert ("dashboards", "push") in COMMAND_PATHS


@pytest.mark.parametrize("launcher", ["console script", "python -m citypulse"])
def test_every_command_answers_help_however_it_is_launched(launcher: str) -> None:
    """Each --help in a process of its own, as a user types it (a handler defined after the
    ``__main__`` guard once made ``python -m citypulse.cli simulate --to`` die)."""
    argv = _launchers()[launcher]

    def helped(path: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*argv, *path, "--help"], capture_output=True, text=True, timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:  # each process mostly imports: in parallel
        results = dict(zip(COMMAND_PATHS, pool.map(helped, COMMAND_PATHS), strict=True))
    for path, result in results.items():
        assert result.returncode == 0, (path, result.stderr)
        assert f"usage: citypulse {' '.join(path)}" in result.stdout, path


@pytest.mark.parametrize("launcher", ["console script", "python -m citypulse"])
def test_a_recording_is_simulated_and_verified_however_it_is_launched(
    launcher: str, tmp_path: Path
) -> None:
    argv = _launchers()[launcher]
    recording = tmp_path / "sim.jsonl.gz"
    simulated = subprocess.run(
        [*argv, "simulate", "--to", str(recording), "--events", "300", "--seed", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert simulated.returncode == 0, simulated.stderr
    verified = subprocess.run(
        [*argv, "verify", str(recording), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr
    output = json.loads(verified.stdout)
    assert output["records"] == 300
    # the v1.1 KPIs and the service index are reported, the province's from summed counts
    province = output["kpis"]["provinces"]["TTH"]
    assert {"digitization", "online_payment", "electronic_result"} <= set(province["rates"])
    assert 0 < province["service_index"]["month"]["total"] <= 100


def test_a_command_that_needs_kafka_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CITYPULSE_BROKER", raising=False)
    console = Console(record=True, width=200, force_terminal=False)
    assert main(["topics", "create"], console=console) == 2
    assert "no broker" in console.export_text()
