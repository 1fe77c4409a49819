"""A server binary (Prometheus, Alertmanager) run on loopback for a test: started with its
arguments, ready once ``/-/ready`` answers 200, its log kept, stopped (and its data removed)
on exit."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from citypulse.broker import free_port

__all__ = ["LoopbackServer"]


class LoopbackServer:
    name = "server"

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.log_path = directory / f"{self.name.lower()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def arguments(self) -> list[str]:
        """The binary's command line, after its path."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> Self:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, *self.arguments()], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_tail()
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory / "data", ignore_errors=True)
