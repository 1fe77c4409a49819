"""The alert chain, for real: a KPI going bad reaches the operator as a page.

A worker on the embedded broker is fed a degraded recording by ``citypulse replay``; the real
Prometheus with the project's rules scrapes it and sends to the real Alertmanager with the
project's routing and inhibitions, whose receivers are replaced by a webhook the test runs.
Only the alerts' ``for:``/``keep_firing_for:`` and the grouping delays are shortened: the
expressions, routes, grouping keys and inhibitions are the shipped ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from citypulse.broker import EmbeddedBroker
from citypulse.producers.faults import Message
from citypulse.producers.publisher import Publisher
from citypulse.producers.recording import event_time, read_recording
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, load_reference
from citypulse.topic_admin import ensure_topics
from tests.support.alertmanager import AlertmanagerProcess, Notification, WebhookReceiver
from tests.support.binaries import need_binary
from tests.support.compare import expected_for_partitions
from tests.support.events import dossier
from tests.support.prometheus import AlertTiming, PrometheusProcess
from tests.support.topics_under_test import CONFIG, PARTITIONS
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios/agency-behind.jsonl.gz"  # CAT resolves many dossiers late
DEGRADED = "CAT"
ON_TIME = "CitypulseOnTimeResolutionLow"
REF = load_reference()


def last_day(path: Path) -> tuple[dict[str, Any], float]:
    """The oracle's agencies of today at the end of the recording, and its last event time."""
    records = list(read_recording(path))
    report = expected_for_partitions(
        ((r.topic, r.partition, r.offset, r.value or b"") for r in records), CONFIG
    ).report
    last = max(t for r in records if (t := event_time(r.value)) is not None)
    return {key: a["today"] for key, a in report["agencies"].items()}, last


def percentage(ratio: float) -> str:
    """Prometheus' ``humanizePercentage``: four significant digits."""
    return f"{ratio * 100:.4g}%"


def on_time_alerts(n: Notification, agency: str) -> list[dict[str, Any]]:
    return [
        a
        for a in n.alerts
        if a["labels"]["alertname"] == ON_TIME and a["labels"]["agency"] == agency
    ]


def on_time_dossiers(agency: str, before: float, count: int) -> Iterator[Message]:
    """``count`` dossiers of ``agency`` submitted, accepted and resolved on time, a minute
    before ``before`` (the recording's stream time: same day, not late)."""
    when = datetime.fromtimestamp(before, UTC) - timedelta(minutes=1)
    for n in range(count):
        dossier_id = f"{agency}-RECOVERY-{n:04d}"
        events = (
            dossier("submitted", dossier_id, when, agency=agency),
            dossier("accepted", dossier_id, when, agency=agency, due_at=when + timedelta(days=5)),
            dossier("resolved", dossier_id, when, agency=agency),
        )
        for e in events:
            value = e.model_dump_json().encode()
            yield Message(DOSSIER_TOPIC, dossier_id.encode(), value, before)


def test_a_degraded_agency_pages_is_muted_while_the_pipeline_is_down_and_resolves(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    prometheus_bin = need_binary("prometheus", "apt-get install prometheus")
    alertmanager_bin = need_binary(
        "prometheus-alertmanager", "apt-get install prometheus-alertmanager"
    )
    today, stream_time = last_day(SCENARIO)
    degraded = today[f"TTH/{DEGRADED}"]
    ratio = degraded["resolved_on_time"] / degraded["resolved"]
    assert degraded["resolved"] >= 10  # the scenario is what it says
    assert ratio < 0.90
    # healthy: enough volume today and above the warning threshold with its margin
    healthy = [
        key.split("/")[1]
        for key, t in today.items()
        if t.get("resolved", 0) >= 10 and t["resolved_on_time"] / t["resolved"] >= 0.96
    ]
    assert healthy, "the scenario has no healthy agency to compare with"

    topics = {t: f"{topic_prefix}{t}" for t in (DOSSIER_TOPIC, DOCUMENT_TOPIC)}
    ensure_topics([broker.bootstrap], topics.values(), PARTITIONS)
    env = {
        "CITYPULSE_BROKER": broker.url,
        "CITYPULSE_DOSSIER_TOPIC": topics[DOSSIER_TOPIC],
        "CITYPULSE_DOCUMENT_TOPIC": topics[DOCUMENT_TOPIC],
        "CITYPULSE_DEAD_LETTER_TOPIC": f"{topic_prefix}dead-letter",
        "CITYPULSE_APP_ID": f"{topic_prefix}app",
        "CITYPULSE_PARTITIONS": str(PARTITIONS),
        "CITYPULSE_LOG_LEVEL": "WARNING",
    }
    for d in ("prometheus", "alertmanager"):
        (tmp_path / d).mkdir()
    timing = AlertTiming(for_="1s", keep_firing_for="20s")
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    with (
        WebhookReceiver() as receiver,
        AlertmanagerProcess(alertmanager_bin, tmp_path / "alertmanager", receiver.url) as am,
        PrometheusProcess(
            prometheus_bin,
            tmp_path / "prometheus",
            [f"127.0.0.1:{worker.port}"],
            alertmanager=am.address,
            timing=timing,
        ),
    ):
        try:
            command = ["replay", str(SCENARIO), "--topic-prefix", topic_prefix]
            replay = subprocess.run(
                [sys.executable, "-m", "citypulse", *command],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert replay.returncode == 0, replay.stdout + replay.stderr

            # 1. the page: critical, for the degraded agency, with its names, value, runbook
            page = receiver.wait(
                f"paging {ON_TIME} for {DEGRADED}",
                lambda n: (
                    n.receiver == "on-call-pager"
                    and n.status == "firing"
                    and any(
                        a["labels"]["severity"] == "critical" for a in on_time_alerts(n, DEGRADED)
                    )
                ),
                timeout=180,
            )
            (alert,) = [
                a for a in on_time_alerts(page, DEGRADED) if a["labels"]["severity"] == "critical"
            ]
            text = alert["annotations"]
            agency_name = REF.agency(DEGRADED).name
            who = f"{agency_name} [{DEGRADED}] ({REF.province_name})"
            assert text["summary"] == (
                f"{who}: on-time resolution today is {percentage(ratio)}, below 90%"
            ), text
            assert text["summary_vi"] == (
                f"{who}: tỷ lệ hồ sơ giải quyết đúng hạn hôm nay là {percentage(ratio)}, "
                "dưới ngưỡng 90%"
            ), text
            assert text["runbook_url"].endswith("docs/runbooks.md#citypulseontimeresolutionlow")

            time.sleep(5)  # what else the same evaluations send
            # 2. grouped by agency: one agency per notification of a KPI alert
            for n in receiver.seen():
                agencies = {a["labels"].get("agency") for a in n.alerts}
                if "agency" in n.group:
                    assert agencies == {n.group["agency"]}, n.payload
            # 3. no page, and no on-time alert at all, for the healthy agencies
            for n in receiver.seen():
                for agency in healthy:
                    assert not on_time_alerts(n, agency), (agency, n.payload)
                    if n.receiver == "on-call-pager":
                        assert all(a["labels"].get("agency") != agency for a in n.alerts)

            # 4. the worker stops: the pipeline page comes, the KPI pages are muted (not
            # resolved) while it is down
            stopped = time.monotonic()
            worker.stop()
            for receiver_name in ("on-call-pager", "platform-engineer"):
                receiver.wait(
                    f"CitypulseWorkerDown to {receiver_name}",
                    lambda n, r=receiver_name: (
                        n.receiver == r  # type: ignore[misc]
                        and n.status == "firing"
                        and any(a["labels"]["alertname"] == "CitypulseWorkerDown" for a in n.alerts)
                    ),
                    timeout=60,
                )
            held = [
                a
                for a in am.alerts()
                if a["labels"]["alertname"] == ON_TIME and a["labels"]["agency"] == DEGRADED
            ]
            assert held, "the KPI alert vanished with the worker"
            for a in held:
                assert a["status"]["state"] == "suppressed", a["status"]
                assert a["status"]["inhibitedBy"], a["status"]
            worker.start()
            for n in receiver.seen():
                if n.at > stopped:
                    assert not (n.status == "resolved" and on_time_alerts(n, DEGRADED)), n.payload

            # 5. the agency catches up: enough on-time resolutions today to clear both
            # thresholds and their margin, and the page resolves
            publisher = Publisher([broker.bootstrap])
            for m in on_time_dossiers(DEGRADED, stream_time, 150):
                publisher.send(m, topic=topics[m.topic])
            assert publisher.close(timeout=60).ok
            caught_up = time.monotonic()
            resolved = receiver.wait(
                f"{ON_TIME} for {DEGRADED} resolved",
                lambda n: (
                    n.receiver == "on-call-pager"
                    and n.at > caught_up
                    and n.status == "resolved"
                    and bool(on_time_alerts(n, DEGRADED))
                ),
                timeout=120,
            )
            assert all(a["status"] == "resolved" for a in on_time_alerts(resolved, DEGRADED))
        except AssertionError:
            log = (tmp_path / "worker.log").read_text(errors="replace")[-2000:]
            print(json.dumps([n.payload for n in receiver.seen()], indent=1)[-6000:])
            print(log)
            raise
        finally:
            worker.kill()
