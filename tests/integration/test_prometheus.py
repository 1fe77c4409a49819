"""The control-centre view against a real Prometheus: it scrapes a real worker fed by the
simulator on the embedded broker, with the project's scrape configuration and rules; then
every query of every dashboard panel and every rule runs through the Prometheus HTTP API,
and a degraded agency makes its alert go pending (or firing) while a healthy one stays quiet.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from citypulse.broker import EmbeddedBroker
from citypulse.dashboards import render
from citypulse.dashboards.service_index_rules import INDEX_THRESHOLDS
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from tests.support.binaries import need_binary
from tests.support.prometheus import PrometheusProcess
from tests.support.samples import expected_samples
from tests.support.topics_under_test import expectation, new_setup, publish
from tests.support.worker import WorkerProcess, eventually_equal

pytestmark = pytest.mark.integration

REF = load_reference()
DEGRADED, HEALTHY = "CAT", "SKHDT"  # both busy on the last day
SIMULATION = SimulationConfig(
    seed=9,
    agency_late_share={DEGRADED: 0.7, HEALTHY: 0.0},  # an agency falling behind, one that is not
    faults=Faults(duplicate=0.01, disorder=0.02, late=0.005, malformed=0.005),
)
ALERT = "CitypulseOnTimeResolutionLow"


def finite(result: list[dict[str, Any]]) -> bool:
    """some series has a number that is not NaN (instant "value" or range "values")"""
    points = [s["value"] for s in result if "value" in s]
    points += [p for s in result for p in s.get("values", [])]
    return any(not math.isnan(float(v)) for _, v in points)


def wait_for(prometheus: PrometheusProcess, expr: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not prometheus.instant(expr):
        assert time.monotonic() < deadline, f"{expr}: nothing after {timeout} s"
        time.sleep(0.5)


def test_every_panel_and_rule_returns_data_and_a_degraded_agency_alerts(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    binary = need_binary("prometheus", "apt-get install prometheus")
    setup = new_setup(broker, topic_prefix, tmp_path)
    (tmp_path / "prometheus").mkdir()
    with WorkerProcess(setup.env, tmp_path / "worker.log") as worker:
        target = f"127.0.0.1:{worker.port}"
        with PrometheusProcess(binary, tmp_path / "prometheus", [target]) as prometheus:
            # in two halves, with a scrape in between: the rate panels need counters that grow
            # between two scrapes, and the worker handles 10,000 events within one interval
            messages = Simulator(REF, SIMULATION).take(20_000)
            publish(broker, setup, messages[:10_000])
            wait_for(prometheus, "sum(citypulse_dossiers_received_total) > 0")
            publish(broker, setup, messages[10_000:])
            expected = expectation(setup.records).report
            today = expected["agencies"][f"TTH/{DEGRADED}"]["today"]
            # the scenario is what it claims: the degraded agency is below the critical
            # threshold with enough volume; the healthy one resolved everything on time
            assert today["resolved"] >= 10
            assert today["resolved_on_time"] / today["resolved"] < 0.90
            healthy = expected["agencies"][f"TTH/{HEALTHY}"]["today"]
            assert healthy["resolved"] >= 10
            assert healthy["resolved_on_time"] == healthy["resolved"]

            eventually_equal([worker], expected_samples(expected), timeout=240)
            on_time = today["resolved_on_time"] / today["resolved"]
            wait_for(
                prometheus,
                f'citypulse_kpi_ratio{{kpi="on_time_resolution", agency="{DEGRADED}"}}'
                f" == {on_time!r}",
            )
            wait_for(prometheus, f'ALERTS{{alertname="{ALERT}", agency="{DEGRADED}"}}')
            time.sleep(3)  # a few more scrapes and evaluations of the final state

            check_dashboards(prometheus)
            check_rules(prometheus)
            check_province_index(prometheus, expected["provinces"])
            check_alerts(prometheus)
            check_service_index_alert(prometheus, expected["agencies"])
            check_report(prometheus, tmp_path / "report", on_time)


def check_dashboards(prometheus: PrometheusProcess) -> None:
    values = {"province": "TTH", "agency": DEGRADED}
    for label, wanted in values.items():
        known = prometheus.api(f"label/{label}/values", **{"match[]": "citypulse_kpi_ratio"})
        assert wanted in known, f"variable ${label}: {wanted} not in {known}"
    # Grafana's $__rate_interval: four scrape intervals at least (1 s here)
    values["__rate_interval"] = "15s"
    empty = []
    checked = 0
    for uid, build in render.BUILDERS.items():
        board = render.to_json(build())
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = render.substitute(target["expr"], values)
                if target.get("instant"):
                    result = prometheus.instant(expr)
                else:
                    result = prometheus.range(expr, seconds=60)
                checked += 1
                if not finite(result):
                    empty.append(f"{uid} / {panel['title']}: {expr}")
    assert checked >= 60
    assert not empty, "panels without data:\n" + "\n".join(empty)


def check_rules(prometheus: PrometheusProcess) -> None:
    groups = prometheus.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 20
    for rule in rules:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
        if rule["type"] == "recording":
            assert finite(prometheus.instant(rule["name"])), f"recording rule {rule['name']}"
        else:  # an alert's expression must at least evaluate
            prometheus.instant(rule["query"])


def check_province_index(prometheus: PrometheusProcess, provinces: dict[str, Any]) -> None:
    """The province service index the recording rules compute from the summed counts is the
    oracle's, for every group and both periods (CONTRACT §8); so is the province's
    digital-government index (the national dashboard ranks provinces by both)."""
    for province, snapshot in provinces.items():
        for period in ("today", "month"):
            got = {
                s["metric"]["group"]: float(s["value"][1])
                for s in prometheus.instant(
                    f'province:citypulse_service_index_points:{period}{{province="{province}"}}'
                )
            }
            wanted = snapshot["service_index"][period]
            assert len(wanted) > 2, (province, period, wanted)  # groups and a total to compare
            assert got == pytest.approx(wanted, rel=1e-9), (province, period)
        (dgi,) = prometheus.instant(
            f'province:citypulse_kpi_ratio:today{{province="{province}", '
            'kpi="digital_government_index"}'
        )
        assert float(dgi["value"][1]) == pytest.approx(snapshot["index"], rel=1e-9)


def check_alerts(prometheus: PrometheusProcess) -> None:
    active = prometheus.api("alerts")["alerts"]
    on_time = {
        (a["labels"]["agency"], a["labels"]["severity"]): a["state"]
        for a in active
        if a["labels"]["alertname"] == ALERT
    }
    # for: 15m, so after seconds the alert is pending; both severities, this agency only
    assert on_time.get((DEGRADED, "critical")) in ("pending", "firing"), on_time
    assert on_time.get((DEGRADED, "warning")) in ("pending", "firing"), on_time
    assert not any(agency == HEALTHY for agency, _ in on_time), on_time
    summaries = [
        a["annotations"]["summary"]
        for a in active
        if a["labels"]["alertname"] == ALERT and a["labels"]["agency"] == DEGRADED
    ]
    assert any(DEGRADED in s and "%" in s for s in summaries), summaries
    inconsistent = [a for a in active if a["labels"]["alertname"] == "CitypulseFactsInconsistent"]
    assert not inconsistent, inconsistent


def check_service_index_alert(prometheus: PrometheusProcess, agencies: dict[str, Any]) -> None:
    """The month's service index alert is pending for every agency the oracle puts below the
    threshold with enough dossiers, and for none above it (with its recovery margin)."""
    t = next(t for t in INDEX_THRESHOLDS if t.scope == "agency")
    month = {
        name.split("/")[1]: (a["service_index"]["month"]["total"], a["month"]["received"])
        for name, a in agencies.items()
        if "total" in a["service_index"].get("month", {})
    }
    degraded = {a for a, (points, n) in month.items() if points < t.warning and n >= t.min_received}
    healthy = {a for a, (points, _) in month.items() if points >= t.warning + t.margin}
    assert degraded, "the stream has no agency below the service index threshold"
    assert healthy
    active = {
        a["labels"]["agency"]: a["state"]
        for a in prometheus.api("alerts")["alerts"]
        if a["labels"]["alertname"] == t.alert
    }
    for agency in degraded:
        assert active.get(agency) in ("pending", "firing"), (agency, active)
    assert not healthy & set(active), active


def check_report(prometheus: PrometheusProcess, out: Path, on_time: float) -> None:
    """`citypulse report` from this Prometheus: the degraded agency's rate as the wall has it,
    every agency the worker exports ranked, the charts written."""
    from tests.e2e.test_report import report

    rows = report(out, "--prometheus", prometheus.url, "--period", "day")
    header = ["#", "Agency", "Index", "On time", "Overdue"]
    ranking = rows.rows[rows.rows.index(header) + 1 :]
    by_code = {r[1].rsplit("[", 1)[1].rstrip("]"): r for r in ranking if len(r) == 5}
    exported = prometheus.instant(
        'count by (agency) (citypulse_kpi_ratio{kpi="digital_government_index"})'
    )
    assert set(by_code) >= {s["metric"]["agency"] for s in exported}
    assert by_code[DEGRADED][3] == f"{on_time:.1%}"
    assert by_code[HEALTHY][3] == "100.0%"
    assert (out / "trends.png").stat().st_size > 10_000
