"""The worker's HTTP port and watchdog: ``/metrics``, ``/healthz``, ``/readyz``, and an exit
when the worker is stuck (liveness.py says when).

- ``/healthz`` (liveness probe, compose healthcheck): 200 unless the worker is stuck.
- ``/readyz`` (readiness probe): 200 only while the worker is running (assigned, recovered,
  keeping up); 503 with its state otherwise.
- ``citypulse_worker_state{state}`` (1 for the current state) and
  ``citypulse_worker_last_progress_timestamp_seconds``.
- The watchdog thread exits the process with :data:`EXIT_STUCK` once the worker is stuck.
  It runs outside the event loop, so a blocked loop is noticed too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from ..exits import EXIT_STUCK
from .liveness import Liveness, State

__all__ = ["LivenessCollector", "serve", "watchdog"]

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class LivenessCollector(Collector):
    def __init__(self, liveness: Liveness, clock: Clock = time.monotonic) -> None:
        self.liveness = liveness
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = GaugeMetricFamily(
            "citypulse_worker_state",
            "1 for the worker's current state (running: assigned, recovered, keeping up).",
            labels=["state"],
        )
        for s in State:
            state.add_metric([s.value], 1.0 if self.liveness.state == s else 0.0)
        yield state
        ago = self.clock() - self.liveness.last_progress
        yield GaugeMetricFamily(
            "citypulse_worker_last_progress_timestamp_seconds",
            "When the worker last processed input or had none waiting (unix seconds).",
            value=time.time() - ago,
        )


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _app(
    registry: CollectorRegistry, liveness: Liveness, clock: Clock
) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            reason = liveness.stuck(clock())
            ok, text = reason is None, reason or f"ok: {liveness.state}"
        elif path == "/readyz":
            ok, text = liveness.ready, str(liveness.state)
        elif path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        else:  # nothing else is served (prometheus-client's app would answer any path)
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: /metrics, /healthz and /readyz are served\n"]
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{text}\n".encode()]

    return app


def serve(
    port: int,
    registry: CollectorRegistry,
    liveness: Liveness,
    addr: str = "0.0.0.0",
    clock: Clock = time.monotonic,
) -> WSGIServer:
    """Serve the three paths on ``port`` from a daemon thread; the server (``server_port``)."""
    server = make_server(
        addr, port, _app(registry, liveness, clock), ThreadingWSGIServer, handler_class=_Quiet
    )
    threading.Thread(target=server.serve_forever, name="citypulse-http", daemon=True).start()
    return server


def watchdog(
    liveness: Liveness,
    interval: float = 1.0,
    clock: Clock = time.monotonic,
    exit: Callable[[int], Any] = os._exit,
) -> threading.Thread:
    """Exit with :data:`EXIT_STUCK` once ``liveness`` says the worker is stuck. A hard exit:
    what is not committed is redelivered to the next member, which is what a crash does."""

    def run() -> None:
        while True:
            time.sleep(interval)
            reason = liveness.stuck(clock())
            if reason is not None:
                log.critical("worker stuck (%s): exiting for a restart", reason)
                logging.shutdown()
                exit(EXIT_STUCK)
                return

    thread = threading.Thread(target=run, name="citypulse-watchdog", daemon=True)
    thread.start()
    return thread
