"""End to end: `citypulse demo` brings up broker, worker and simulator, serves non-zero KPIs on
/metrics, and shuts everything down cleanly, in seconds, on a terminal's Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citypulse.broker import free_port
from citypulse.scrape import parse, scrape
from tests.support.binaries import in_ci

pytestmark = pytest.mark.integration

STOP_BOUND = 10.0


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_serves_kpis_and_exits_cleanly_on_sigint(tmp_path: Path) -> None:
    try:
        from citypulse.broker import tansu_binary

        tansu_binary()
    except Exception as exc:
        if in_ci():
            raise
        pytest.skip(f"no embedded broker: {exc}")
    port = free_port()
    env = {**os.environ, "CITYPULSE_HTTP_PORT": str(port), "CITYPULSE_BROKER": ""}
    output = tmp_path / "demo.out"
    script = Path(sys.executable).parent / "citypulse"
    with output.open("wb") as out:
        demo = subprocess.Popen(
            [str(script), "demo", "--speed", "3600"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as a terminal's job
        )
    try:
        deadline = time.monotonic() + 90
        received = ratios = 0.0
        while time.monotonic() < deadline:
            time.sleep(1)
            assert demo.poll() is None, output.read_text()
            try:
                samples = parse(scrape(f"http://127.0.0.1:{port}/metrics", timeout=2))
            except OSError:
                continue
            received = sum(
                v for (n, _), v in samples.items() if n == "citypulse_dossiers_received_total"
            )
            ratios = sum(1 for (n, _), _v in samples.items() if n == "citypulse_kpi_ratio")
            if received > 0 and ratios > 0:
                break
        assert received > 0, output.read_text()
        assert ratios > 0
    finally:
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group
        stopping = time.monotonic()
        os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(60)
        took = time.monotonic() - stopping
    text = output.read_text()
    assert code == 0, text
    # about 2 s here; the bound leaves room for a loaded CI machine (it took 32 s when the
    # broker got the Ctrl-C too and died before the worker)
    assert took < STOP_BOUND, f"the demo took {took:.1f} s to stop"
    assert f"http://127.0.0.1:{port}/metrics" in text
    broker = re.search(r"embedded broker at kafka://127\.0\.0\.1:(\d+)", text)
    assert broker, text
    assert not port_open(port), "the worker still serves /metrics after the demo exited"
    assert not port_open(int(broker.group(1))), "the embedded broker outlived the demo"
