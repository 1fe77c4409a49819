"""citypulse against a Kafka that only speaks mutual TLS (the embedded broker behind stunnel,
tests/support/tls.py): every command that talks to Kafka works through it, and a client set
up wrongly stops at once with one line that names the setting to fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from citypulse.broker import free_port
from citypulse.commands.replay import ReplayOptions
from citypulse.commands.verify import as_prometheus, verify
from citypulse.producers.recording import read_recording
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.settings import Settings
from tests.support.binaries import need_binary
from tests.support.samples import kpi_samples
from tests.support.tls import TlsBroker, make_pki
from tests.support.worker import WorkerProcess, eventually_equal

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "citypulse")


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    stunnel = need_binary("stunnel4", "apt install stunnel4")
    need_binary("openssl", "apt install openssl")
    directory = tmp_path_factory.mktemp("tls")
    with TlsBroker(stunnel, make_pki(directory / "pki"), directory) as broker:
        yield broker


def cli(*argv: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *argv],
        env={**os.environ, "CITYPULSE_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def own_topics(prefix: str) -> dict[str, str]:
    """Settings that give a test topics (and a consumer group) of its own."""
    return {
        "CITYPULSE_DOSSIER_TOPIC": f"{prefix}{DOSSIER_TOPIC}",
        "CITYPULSE_DOCUMENT_TOPIC": f"{prefix}{DOCUMENT_TOPIC}",
        "CITYPULSE_DEAD_LETTER_TOPIC": f"{prefix}dead-letter",
        "CITYPULSE_APP_ID": f"{prefix}app",
    }


def test_every_command_works_through_mutual_tls_and_no_secret_ever_shows(
    tls_broker: TlsBroker, topic_prefix: str, tmp_path: Path
) -> None:
    secrets = {"sasl": "sasl-Pa55-7f3a", "grafana": "grafana-Pa55-91c2", "token": "glsa_tok_5e1d"}
    (tmp_path / "sasl").write_text(secrets["sasl"] + "\n")
    (tmp_path / "token").write_text(secrets["token"])
    env = {
        **tls_broker.client_env(),
        **own_topics(topic_prefix),
        "CITYPULSE_SASL_PASSWORD_FILE": str(tmp_path / "sasl"),  # loaded, unused over SSL
        "CITYPULSE_GRAFANA_PASSWORD": secrets["grafana"],
        "CITYPULSE_GRAFANA_TOKEN_FILE": str(tmp_path / "token"),
    }
    seen: dict[str, str] = {}  # what an operator or another process could read

    done = cli("topics", "create", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{topic_prefix}{DOSSIER_TOPIC}" in done.stdout

    recording = tmp_path / "sim.jsonl.gz"
    faults = ["--duplicate", "0.02", "--disorder", "0.05", "--late", "0.01", "--malformed",
              "0.02", "--pii", "0.02"]  # fmt: skip
    done = cli("simulate", "--to", str(recording), "--events", "6000", "--seed", "5", *faults,
               env={})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    done = cli("replay", str(recording), "--topic-prefix", topic_prefix, env=env)
    assert done.returncode == 0, done.stdout + done.stderr

    expected = kpi_samples(as_prometheus(verify(Settings(), ReplayOptions(recording)).report))
    debug = {**env, "CITYPULSE_LOG_LEVEL": "DEBUG"}  # the most talkative level
    with WorkerProcess(debug, tmp_path / "worker.log") as worker:  # stages, tables, DLQ
        eventually_equal([worker], expected, timeout=180)
        seen["/metrics"] = worker.metrics() or ""
        assert worker.process is not None
        seen["process"] = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(worker.process.pid)],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
    seen["worker log"] = (tmp_path / "worker.log").read_text(errors="replace")
    assert "DEBUG" in seen["worker log"]

    again = tmp_path / "again.jsonl.gz"
    done = cli("record", "--out", str(again), "--idle-timeout", "3", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sent = sorted((r.partition, r.key, r.value) for r in read_recording(recording))
    read = sorted((r.partition, r.key, r.value) for r in read_recording(again))
    assert read == sent
    dead = tmp_path / "dead.jsonl.gz"
    done = cli("record", "--out", str(dead), "--topic", f"{topic_prefix}dead-letter",
               "--idle-timeout", "3", env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    letters = list(read_recording(dead))
    assert letters, "the malformed events reached the dead-letter topic"
    seen["dead letters"] = "".join(repr((r.key, r.value, r.headers)) for r in letters)

    live = {**env, "CITYPULSE_DOSSIER_TOPIC": f"{topic_prefix}live.dossiers",
            "CITYPULSE_DOCUMENT_TOPIC": f"{topic_prefix}live.documents"}  # fmt: skip
    done = cli("simulate", "--events", "300", "--seed", "6", env=live)
    assert done.returncode == 0, done.stdout + done.stderr

    for argv in (["--help"], ["worker", "--help"], ["dashboards", "push", "--help"]):
        done = cli(*argv, env=env)
        seen[" ".join(argv)] = done.stdout + done.stderr
    # a command that fails (Grafana not there), and one that is refused (a wrong CA)
    done = cli("dashboards", "push", "--grafana-url", "http://127.0.0.1:1", env=env)
    seen["failed push"] = done.stdout + done.stderr
    done = cli(
        "topics", "create", env={**env, "CITYPULSE_SSL_CAFILE": str(tls_broker.pki.other_ca)}
    )
    seen["refused"] = done.stdout + done.stderr
    for where, text in seen.items():
        for name, secret in secrets.items():
            assert secret not in text, f"the {name} secret shows in {where}"


@pytest.mark.parametrize(
    ("wrong", "setting"),
    [
        ("a CA that did not sign the broker's certificate", "CITYPULSE_SSL_CAFILE"),
        ("no client certificate", "CITYPULSE_SSL_CERTFILE"),
        ("plaintext on the TLS port", "CITYPULSE_SECURITY_PROTOCOL"),
        ("TLS on a plaintext port", "CITYPULSE_SECURITY_PROTOCOL"),
    ],
)
def test_a_misconfigured_client_stops_within_15_s_with_one_line_naming_the_setting(
    tls_broker: TlsBroker, wrong: str, setting: str
) -> None:
    env = tls_broker.client_env()
    if wrong.startswith("a CA"):
        env["CITYPULSE_SSL_CAFILE"] = str(tls_broker.pki.other_ca)
    elif wrong == "no client certificate":
        env["CITYPULSE_SSL_CERTFILE"] = env["CITYPULSE_SSL_KEYFILE"] = ""
    elif wrong == "plaintext on the TLS port":
        env["CITYPULSE_SECURITY_PROTOCOL"] = "PLAINTEXT"
    else:
        env["CITYPULSE_BROKER"] = tls_broker.broker.url
    commands = [["topics", "create"]]
    if wrong.startswith("a CA"):  # every command checks the same way: three of them once
        commands += [["worker"], ["record", "--out", os.devnull]]
    for command in commands:
        began = time.monotonic()
        done = cli(*command, env=env, timeout=30)
        took = time.monotonic() - began
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert took < 15, (command, took)
        assert len(lines) == 1, (command, done.stdout)
        assert setting in lines[0], (command, done.stdout)
        assert "Traceback" not in done.stderr, (command, done.stderr)


def test_the_demo_runs_against_an_existing_tls_kafka(
    tls_broker: TlsBroker, topic_prefix: str
) -> None:
    env = {
        **tls_broker.client_env(),
        **own_topics(topic_prefix),
        "CITYPULSE_HTTP_PORT": str(free_port()),
    }
    done = cli("demo", "--hours", "6", "--speed", "0", env=env, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "embedded broker" not in done.stdout  # it used the one it was given
    rows = [line for line in done.stdout.splitlines() if line.startswith("│ ")]
    assert rows, done.stdout[-3000:]  # the KPI table has agencies: the worker read through TLS
