"""Alert and recording rules: generated from one threshold table, checked in, valid, tested."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from citypulse.dashboards.alerts import (
    BURN_RATES,
    KPI_KEEP_FIRING,
    NAMES,
    OBJECTIVES,
    THRESHOLDS,
    render,
    rule_groups,
)
from citypulse.dashboards.service_index_rules import PROVINCE_NAME
from tests.support.binaries import need_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules/citypulse.rules.yml"
RULE_TESTS = ROOT / "deploy/prometheus/rules/citypulse.rules.test.yml"
ALERTMANAGER = ROOT / "deploy/alertmanager/alertmanager.yml"
RUNBOOKS = ROOT / "docs/runbooks.md"


def alerts() -> list[dict[str, object]]:
    return [r for g in rule_groups()["groups"] for r in g["rules"] if "alert" in r]


def test_the_checked_in_rule_file_is_the_rendering_of_the_threshold_table() -> None:
    assert RULES.read_text() == render(rule_groups()), "run `citypulse alerts render`"


def test_rendering_twice_gives_identical_bytes() -> None:
    assert render(rule_groups()) == render(rule_groups())


def test_every_alert_has_for_severity_summary_and_a_runbook_section_that_exists() -> None:
    sections = set(re.findall(r"^## (\w+)$", RUNBOOKS.read_text(), flags=re.M))
    for alert in alerts():
        assert alert["for"], alert["alert"]
        labels = alert["labels"]
        annotations = alert["annotations"]
        assert isinstance(labels, dict)
        assert isinstance(annotations, dict)
        assert labels["severity"] in ("warning", "critical")
        assert "{{" in annotations["summary"]  # says the value or the agency
        assert "{{" in annotations["summary_vi"]  # and in Vietnamese
        anchor = annotations["runbook_url"].rsplit("#", 1)[1]
        assert anchor in {s.lower() for s in sections}, anchor


def test_kpi_alerts_follow_the_threshold_table_with_a_recovery_margin() -> None:
    by_name = {(a["alert"], a["labels"]["severity"]): a for a in alerts()}  # type: ignore[index]
    for t in THRESHOLDS:
        warning = by_name[(t.alert, "warning")]
        assert f"< {t.warning:g}" in str(warning["expr"])
        assert f"< {t.warning + t.margin:g} and" in str(warning["expr"])  # hysteresis
        assert warning["for"] == t.for_


def test_kpi_alerts_name_the_agency_and_outlive_a_dead_worker() -> None:
    """Texts start with the reference data's names (codes when no worker exports them); a KPI
    alert whose series vanish keeps firing long enough for CitypulseWorkerDown to fire and
    mute it, instead of being sent as resolved."""
    worker_down = next(a for a in alerts() if a["alert"] == "CitypulseWorkerDown")
    for alert in alerts():
        labels, annotations = alert["labels"], alert["annotations"]
        assert isinstance(labels, dict)
        assert isinstance(annotations, dict)
        if labels["component"] == "kpi":
            # an agency's alert names it; a province's (its service index) names the province
            names = PROVINCE_NAME if "Province" in str(alert["alert"]) else NAMES
            assert annotations["summary"].startswith(names)
            assert annotations["summary_vi"].startswith(names)
            assert alert["keep_firing_for"] == KPI_KEEP_FIRING
            assert _seconds(KPI_KEEP_FIRING) > 2 * _seconds(str(worker_down["for"]))
        else:
            assert "keep_firing_for" not in alert


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def test_burn_rate_alerts_take_their_objective_from_the_threshold_table() -> None:
    thresholds = {t.kpi: t for t in THRESHOLDS}
    for o in OBJECTIVES:
        assert o.objective == thresholds[o.kpi].warning
        for severity in ("critical", "warning"):
            (alert,) = [
                a
                for a in alerts()
                if a["alert"] == o.alert and a["labels"]["severity"] == severity  # type: ignore[index]
            ]
            expr = str(alert["expr"])
            for s, factor, long, short in BURN_RATES:
                threshold = f"> {factor * o.budget:.4g}"
                present = (
                    f"{o.ratio(long)} {threshold}" in expr
                    and f"{o.ratio(short)} {threshold}" in expr
                )
                assert present == (s == severity), (severity, factor)


@pytest.mark.integration
def test_promtool_checks_the_rules_and_their_unit_tests_pass() -> None:
    promtool = need_binary("promtool", "apt-get install prometheus")
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.integration
def test_amtool_accepts_the_alertmanager_configuration() -> None:
    amtool = need_binary("amtool", "apt-get install prometheus-alertmanager")
    check = subprocess.run(
        [amtool, "check-config", str(ALERTMANAGER)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
