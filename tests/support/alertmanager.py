"""A real Alertmanager (Debian's ``prometheus-alertmanager``) on loopback with the project's
routing and inhibition, and a webhook receiver that records what it is sent."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

from .server import LoopbackHttp, LoopbackServer

__all__ = ["AlertmanagerProcess", "Notification", "WebhookReceiver", "project_config"]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/alertmanager/alertmanager.yml"


@dataclass(frozen=True)
class Notification:
    """One webhook call: the receiver it was routed to and Alertmanager's payload."""

    receiver: str
    payload: dict[str, Any]
    at: float  # time.monotonic() on arrival

    @property
    def status(self) -> str:
        return str(self.payload["status"])

    @property
    def group(self) -> dict[str, str]:
        return dict(self.payload["groupLabels"])

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.payload["alerts"])


class WebhookReceiver(LoopbackHttp):
    """Records every POST to ``/<receiver>``; a test waits for the notification it needs."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                n = Notification(self.path.strip("/"), json.loads(body), time.monotonic())
                with received._lock:
                    received.notifications.append(n)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.serve(Handler)

    def seen(self) -> list[Notification]:
        with self._lock:
            return list(self.notifications)

    def wait(
        self, what: str, match: Callable[[Notification], bool], timeout: float = 90.0
    ) -> Notification:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.seen():
                if match(n):
                    return n
            time.sleep(0.3)
        summary = [(n.receiver, n.status, n.group) for n in self.seen()]
        raise AssertionError(f"no notification {what} after {timeout} s; seen: {summary}")


def project_config(
    directory: Path, webhook: str, group_wait: str = "1s", group_interval: str = "2s"
) -> Path:
    """The project's alertmanager.yml with its routes and inhibitions untouched, every
    receiver replaced by a webhook to ``<webhook>/<receiver name>``, and the grouping
    delays shortened."""
    config = yaml.safe_load(CONFIG.read_text())
    config["route"].update(group_wait=group_wait, group_interval=group_interval)
    config["receivers"] = [
        {
            "name": r["name"],
            "webhook_configs": [{"url": f"{webhook}/{r['name']}", "send_resolved": True}],
        }
        for r in config["receivers"]
    ]
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class AlertmanagerProcess(LoopbackServer):
    name = "Alertmanager"

    def __init__(self, binary: str, directory: Path, webhook: str) -> None:
        super().__init__(binary, directory)
        self.config = project_config(directory, webhook)

    def arguments(self) -> list[str]:
        return [
            f"--config.file={self.config}",
            f"--storage.path={self.directory / 'data'}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert it holds, with ``status.state`` (active, suppressed) and
        ``status.inhibitedBy``."""
        with urllib.request.urlopen(f"http://{self.address}/api/v2/alerts", timeout=10) as r:
            return list(json.load(r))
