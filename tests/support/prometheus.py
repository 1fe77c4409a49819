"""A real Prometheus (Debian's ``prometheus`` binary) on loopback, with the project's scrape
configuration and rules, pointed at test workers."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .server import LoopbackServer

__all__ = ["AlertTiming", "PrometheusProcess", "project_config"]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"


@dataclass(frozen=True)
class AlertTiming:
    """Every alert's ``for:`` and (where it has one) ``keep_firing_for:`` replaced, so that a
    test sees in seconds what production sees in minutes. Expressions stay untouched."""

    for_: str = "1s"
    keep_firing_for: str = "20s"

    def apply(self, rule: dict[str, Any]) -> None:
        if "alert" in rule:
            rule["for"] = self.for_
            if "keep_firing_for" in rule:
                rule["keep_firing_for"] = self.keep_firing_for


def project_config(
    directory: Path,
    workers: list[str],
    port: int,
    interval: str = "1s",
    alertmanager: str | None = None,
    timing: AlertTiming | None = None,
) -> Path:
    """The project's prometheus.yml and rules, copied into ``directory`` with the citypulse
    job scraping ``workers`` (host:port) instead of compose's DNS, every ``interval``, rule
    groups evaluated every ``interval``, alerts sent to ``alertmanager`` (host:port; none if
    None), and the alerts' timing replaced if ``timing`` is given. Expressions are untouched."""
    config = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    if alertmanager is None:
        config.pop("alerting", None)
    else:
        config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    for job in config["scrape_configs"]:
        if job["job_name"] == "citypulse":
            job.pop("dns_sd_configs")
            job["static_configs"] = [{"targets": workers}]
        elif job["job_name"] == "prometheus":
            job["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
    for relative in config["rule_files"]:
        rules = yaml.safe_load((CONFIG.parent / relative).read_text())
        for group in rules["groups"]:
            group["interval"] = interval
            for rule in group["rules"]:
                if timing is not None:
                    timing.apply(rule)
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(yaml.safe_dump(rules, sort_keys=False))
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class PrometheusProcess(LoopbackServer):
    name = "Prometheus"

    def __init__(
        self,
        binary: str,
        directory: Path,
        workers: list[str],
        alertmanager: str | None = None,
        timing: AlertTiming | None = None,
    ) -> None:
        super().__init__(binary, directory)
        self.config = project_config(
            directory, workers, self.port, alertmanager=alertmanager, timing=timing
        )

    def arguments(self) -> list[str]:
        return [
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address={self.address}",
        ]

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the ``data`` of a success, AssertionError with the error else."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        assert body["status"] == "success", f"{path} {params}: {body.get('error')}"
        return body["data"]

    def instant(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def range(self, expr: str, seconds: float, step: str = "1s") -> list[dict[str, Any]]:
        now = time.time()
        data = self.api(
            "query_range", query=expr, start=str(now - seconds), end=str(now), step=step
        )
        return list(data["result"])
