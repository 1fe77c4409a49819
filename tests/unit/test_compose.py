"""The docker-compose stack and the Dockerfile, checked without Docker (none runs here):
the compose file is valid against the Compose specification's JSON schema, every image is
pinned, servers have health checks and named volumes, and the files it mounts fit together."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from citypulse.dashboards.panels import PROMETHEUS_UID

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests/data/compose-spec.json"
COMPOSE = ROOT / "docker-compose.yml"
SERVERS = ("kafka", "worker", "prometheus", "alertmanager", "grafana")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def services() -> dict[str, Any]:
    return dict(compose()["services"])


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_would_catch_a_mistake() -> None:
    broken = compose()
    broken["services"]["worker"]["helthcheck"] = {"test": ["CMD", "true"]}  # a typo
    broken["services"]["grafana"]["volumes"] = "not a list"
    assert len(list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))) >= 2


def test_the_stack_has_kafka_workers_simulator_prometheus_alertmanager_and_grafana() -> None:
    assert set(services()) == {*SERVERS, "simulator", "grafana-setup"}
    kafka = services()["kafka"]["environment"]
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert services()["worker"]["command"] == ["worker"]
    assert services()["simulator"]["command"][0] == "simulate"
    # Grafana provisions no playlists from files: a one-shot push once it is healthy
    setup = services()["grafana-setup"]
    assert setup["command"] == ["dashboards", "push"]
    assert setup["depends_on"]["grafana"]["condition"] == "service_healthy"
    assert setup["environment"]["CITYPULSE_GRAFANA_URL"] == "http://grafana:3000"


@pytest.mark.parametrize("name", [*SERVERS, "simulator", "grafana-setup"])
def test_every_image_is_pinned_to_a_version(name: str) -> None:
    image = services()[name]["image"]
    if "build" in services()[name]:
        assert image == "citypulse:local"  # built from the Dockerfile, whose base is pinned
        return
    repository, _, tag = image.partition(":")
    assert repository
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{image}: pin an exact version"


def test_the_dockerfile_base_image_is_pinned_and_it_copies_every_package_folder_and_no_tests() -> (
    None
):
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^FROM (\S+)", dockerfile, flags=re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    pyproject = (ROOT / "pyproject.toml").read_text()
    folders = set(re.findall(r'"citypulse[.\w]*" = "(\w+)"', pyproject))
    assert folders == {"citypulse", "schemas", "producers", "streams", "dashboards"}
    for folder in folders:
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "COPY tests" not in dockerfile  # the image ships no tests


@pytest.mark.parametrize("name", SERVERS)
def test_every_server_has_a_health_check(name: str) -> None:
    check = services()[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert check["retries"] >= 3


def test_state_lives_in_named_volumes() -> None:
    declared = set(compose()["volumes"])
    assert declared == {"kafka-data", "prometheus-data", "alertmanager-data", "grafana-data"}
    for name in ("kafka", "prometheus", "alertmanager", "grafana"):
        named = {v.split(":")[0] for v in services()[name]["volumes"] if not v.startswith(".")}
        assert named <= declared
        assert named, f"{name} keeps its state in the container"


def test_workers_can_be_scaled_no_fixed_host_port_and_prometheus_finds_every_replica() -> None:
    assert "ports" not in services()["worker"]  # a host port would clash at --scale worker=2
    assert "container_name" not in services()["worker"]
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [job] = [j for j in prometheus["scrape_configs"] if j["job_name"] == "citypulse"]
    [sd] = job["dns_sd_configs"]
    assert sd["names"] == ["worker"]
    assert sd["port"] == 9108


def test_mounted_files_exist_and_the_provisioning_matches_the_dashboards() -> None:
    mounts = {}
    for service in services().values():
        for volume in service.get("volumes", []):
            source, target, *_ = volume.split(":")
            if source.startswith("."):
                assert (ROOT / source).exists(), source
                mounts[target] = ROOT / source
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    for rules in prometheus["rule_files"]:
        assert (ROOT / "deploy/prometheus" / rules).exists()
    provisioning = mounts["/etc/grafana/provisioning"]
    [datasource] = yaml.safe_load((provisioning / "datasources/citypulse.yml").read_text())[
        "datasources"
    ]
    assert datasource["uid"] == PROMETHEUS_UID
    assert datasource["url"] == "http://prometheus:9090"
    [provider] = yaml.safe_load((provisioning / "dashboards/citypulse.yml").read_text())[
        "providers"
    ]
    path = provider["options"]["path"]
    assert list(mounts[path].glob("*.json")), f"no dashboards at {path}"
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (mounts[path] / Path(home).name).exists()


def test_the_sasl_ssl_overlay_is_valid_and_gives_every_service_what_it_mounts() -> None:
    overlay: dict[str, Any] = yaml.safe_load((ROOT / "deploy/compose/sasl-ssl.yml").read_text())
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = list(validator.iter_errors(overlay))
    assert not errors, [e.message for e in errors]
    declared = overlay["secrets"]
    assert all(s["file"].startswith("./deploy/secrets/") for s in declared.values())
    for name, service in overlay["services"].items():
        assert name in services(), name  # it overlays services of the stack
        assert set(service.get("secrets", ())) <= set(declared), name
        env = service.get("environment", {})
        for key, value in env.items():
            if key.endswith("_FILE") or key.endswith("_CAFILE"):
                assert value.removeprefix("/run/secrets/") in service["secrets"], (name, key)
    for name in ("worker", "simulator"):
        env = overlay["services"][name]["environment"]
        assert env["CITYPULSE_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert "CITYPULSE_SASL_PASSWORD" not in env  # from the secret's file only
