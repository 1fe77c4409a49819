"""Running ``citypulse worker`` as a real process for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from citypulse.broker import free_port
from citypulse.lifecycle import Running

from .samples import Samples, kpi_samples, parse, scrape

__all__ = ["WorkerProcess"]


class WorkerProcess(Running):
    def __init__(self, env: dict[str, str], log_path: Path, processes: int = 1) -> None:
        """``processes`` > 1: ``citypulse worker --processes N``, whose process i serves HTTP on
        ``port + i`` (:meth:`child`)."""
        self.port = _free_ports(processes)
        self.processes = processes
        self.log_path = log_path
        self.env = {**os.environ, **env, "CITYPULSE_HTTP_PORT": str(self.port)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        script = Path(sys.executable).parent / "citypulse"
        argv = [
            str(script),
            "worker",
            *(["--processes", str(self.processes)] * (self.processes > 1)),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def child(self, index: int) -> WorkerProcess:
        """The worker process ``index`` of a ``--processes`` command, seen through its port (the
        command's process stands for it: stopping one stops all)."""
        view = WorkerProcess.__new__(WorkerProcess)
        view.__dict__.update(self.__dict__, port=self.port + index, processes=1)
        return view

    def metrics(self) -> str | None:
        try:
            return scrape(self.port)
        except OSError:
            return None

    def probe(self, path: str) -> int | None:
        """The HTTP status of ``path`` (``/readyz``, ``/healthz``); None if nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return None

    def events_seen(self) -> float:
        text = self.metrics()
        if text is None:
            return 0.0
        return sum(
            v
            for (name, _), v in parse(text).items()
            if name
            in (
                "citypulse_events_total",
                "citypulse_events_invalid_total",
                "citypulse_events_redelivered_total",
            )
        )

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]


def _free_ports(n: int) -> int:
    """The first of ``n`` consecutive ports free now."""
    while True:
        first = free_port()
        if first + n - 1 > 65535:
            continue
        try:
            for port in range(first + 1, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first


def union_of(workers: list[WorkerProcess]) -> Samples | None:
    """The union of the workers' KPI series; each series must come from one worker only."""
    union: Samples = {}
    for w in workers:
        text = w.metrics()
        if text is None:
            return None
        for key, value in kpi_samples(text).items():
            assert key not in union, f"{key} exported by two workers"
            union[key] = value
    return union


def eventually_equal(workers: list[WorkerProcess], expected: Samples, timeout: float) -> None:
    """Wait until the union of the workers' KPI series equals ``expected``, then check that it
    stays equal for 2 more seconds; on timeout, fail with the differences and the logs."""
    from .samples import differences

    deadline = time.monotonic() + timeout
    union: Samples | None = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for w in workers:
            exited = w.process.poll() if w.process is not None else None
            assert exited is None, f"worker exited with {exited}:\n{w.log_tail()}"
        union = union_of(workers)
        if union != expected:
            continue
        for _ in range(4):
            time.sleep(0.5)
            union = union_of(workers)
            assert union == expected, "\n".join(differences(union or {}, expected))
        for w in workers:  # and no agency fact was skipped as inconsistent on the way
            text = w.metrics() or ""
            skipped = {
                k: v for k, v in parse(text).items() if k[0] == "citypulse_facts_inconsistent_total"
            }
            assert skipped, "citypulse_facts_inconsistent_total is not exported"
            assert not any(skipped.values()), f"{skipped}\n{w.log_tail()}"
        return
    diff = "\n".join(differences(union or {}, expected))
    logs = "\n---\n".join(w.log_tail() for w in workers)
    raise AssertionError(f"not equal to the oracle after {timeout:.0f} s:\n{diff}\nlogs:\n{logs}")
