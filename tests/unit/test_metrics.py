"""The Prometheus exposition: exact contract names, values read from the KPI report."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from citypulse.streams.exposition.metrics import AgencyInfoCollector, KpiCollector, pipeline_metrics
from citypulse.streams.kpi import Intake, KpiConfig, KpiEngine
from tests.support.events import document, dossier

CONTRACT_METRICS = {
    # CONTRACT §6 (counters appear with _total, histograms with _bucket/_sum/_count)
    "citypulse_dossiers_received_total": {"province", "agency", "channel", "service_level"},
    "citypulse_dossiers_resolved_total": {"province", "agency", "outcome", "timeliness"},
    "citypulse_dossiers_open": {"province", "agency"},
    "citypulse_dossiers_overdue": {"province", "agency"},
    "citypulse_dossiers_due_soon": {"province", "agency"},
    "citypulse_dossier_processing_seconds_bucket": {"province", "agency", "le"},
    "citypulse_dossier_results_returned_total": {"province", "agency", "delivery"},
    "citypulse_dossier_ratings_total": {"province", "agency", "satisfied"},
    "citypulse_documents_sent_total": {"province", "agency", "format", "signed"},
    "citypulse_documents_undelivered": {"province", "agency"},
    "citypulse_document_delivery_seconds_bucket": {"province", "agency", "le"},
    "citypulse_kpi_ratio": {"province", "agency", "kpi"},
    "citypulse_events_total": {"topic", "event_type"},
    "citypulse_events_invalid_total": {"topic", "reason"},
    "citypulse_events_duplicate_total": {"topic"},
    "citypulse_events_late_total": {"topic"},
    "citypulse_stream_time_seconds": {"topic"},
    "citypulse_event_lag_seconds_bucket": {"topic", "le"},
}


def registry_for(engine: KpiEngine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(KpiCollector(engine.report))
    metrics = pipeline_metrics(registry)
    topic = "citypulse.dossier-events"
    metrics.events.labels(topic, "dossier.submitted").inc()
    metrics.invalid.labels(topic, "invalid_json").inc()
    metrics.duplicate.labels(topic).inc()
    metrics.late.labels(topic).inc()
    metrics.conflict.labels(topic).inc()
    metrics.stream_time.labels(topic).set(1.7e9)
    metrics.lag.labels(topic).observe(2.0)
    return registry


def samples(registry: CollectorRegistry) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for family in registry.collect():
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def test_every_contract_metric_is_exposed_with_its_labels() -> None:
    engine = KpiEngine()
    for e in [
        dossier("submitted", "D1", "2026-03-02 08:00"),
        dossier("accepted", "D1", "2026-03-02 08:05", due_at="2026-03-03 08:00"),
        dossier("resolved", "D1", "2026-03-02 09:00"),
        document("sent", "V1", "2026-03-02 08:00"),
        document("received", "V1", "2026-03-02 08:10"),
    ]:
        engine.apply(e)
    found = samples(registry_for(engine))
    for name, labels in CONTRACT_METRICS.items():
        assert name in found, name
        assert found[name] == labels, name


def test_values_are_those_of_the_report() -> None:
    engine = KpiEngine()
    for e in [
        dossier("submitted", "D1", "2026-03-02 08:00", channel="online"),
        dossier("submitted", "D2", "2026-03-02 08:01", channel="counter"),
        dossier("accepted", "D1", "2026-03-02 08:05", due_at="2026-03-02 09:00"),
        dossier("resolved", "D2", "2026-03-02 10:00"),
    ]:
        engine.apply(e)
    registry = registry_for(engine)
    stp = {"province": "TTH", "agency": "STP"}

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {**stp, **labels})

    assert (
        value("citypulse_dossiers_received_total", channel="online", service_level="full_process")
        == 1
    )
    assert (
        value("citypulse_dossiers_received_total", channel="postal", service_level="offline") == 0
    )
    assert value("citypulse_dossiers_open") == 1
    assert value("citypulse_dossiers_overdue") == 1  # due 09:00, stream time 10:00
    assert value("citypulse_dossiers_resolution_pending") == 1  # D2 never accepted (yet)
    assert value("citypulse_kpi_ratio", kpi="online_submission") == 0.5
    assert value("citypulse_kpi_ratio", kpi="satisfaction") is None  # undefined today: absent
    assert value("citypulse_dossier_processing_seconds_count") == 1
    assert value("citypulse_dossier_processing_seconds_bucket", le="+Inf") == 1
    assert value("citypulse_dossier_processing_seconds_sum") == 7140.0


@pytest.mark.integration
def test_promtool_finds_no_problem_in_the_exposition() -> None:
    import subprocess

    from tests.support.binaries import need_binary

    promtool = need_binary("promtool", "apt-get install prometheus")
    reference = load_reference()
    intake = Intake(KpiEngine(KpiConfig.from_reference(reference)))
    for m in Simulator(reference).take(5000):
        intake.feed(m.topic, m.value)
    text = generate_latest(registry_for(intake.engine))
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == ""
    assert result.stderr.decode().strip() == ""


def test_rejection_counters_start_at_zero_for_every_input_topic_and_reason() -> None:
    # so that rate() of a rejection that never happened is 0 on the wall, not "no data"
    registry = CollectorRegistry()
    pipeline_metrics(registry, ("a", "b"))
    zeros = {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value == 0
    }
    for topic in ("a", "b"):
        for reason in ("invalid_json", "invalid_schema", "unknown_event_type"):
            assert (
                "citypulse_events_invalid_total",
                (("reason", reason), ("topic", topic)),
            ) in zeros
        for kind in ("duplicate", "redelivered", "late", "conflict"):
            assert (f"citypulse_events_{kind}_total", (("topic", topic),)) in zeros


def test_every_agency_of_the_reference_is_named_by_citypulse_agency_info() -> None:
    reference = load_reference()
    registry = CollectorRegistry()
    registry.register(AgencyInfoCollector(reference))
    everything = [s for m in registry.collect() for s in m.samples]
    samples = [s for s in everything if s.name == "citypulse_agency_info"]
    assert len(samples) == len(reference.agencies)
    shares = {
        s.labels["agency"]: s.value
        for s in everything
        if s.name == "citypulse_agency_published_share"
    }
    assert shares == {a.code: a.published_share for a in reference.agencies if a.published_share}
    assert "CAT" not in shares  # not known: the police have no transparency group
    police = next(s for s in samples if s.labels["agency"] == "CAT")
    assert police.name == "citypulse_agency_info"
    assert police.value == 1
    assert police.labels == {
        "province": "TTH",
        "agency": "CAT",
        "agency_name": "Công an tỉnh",
        "province_name": "Thừa Thiên Huế",
        "level": "province",
        "district": "HUE",
    }
