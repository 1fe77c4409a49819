"""The checked-in scenarios are current and show what scenarios/README.md says they show."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from citypulse.commands.replay import ReplayOptions
from citypulse.commands.verify import verify
from citypulse.dashboards.service_index_rules import INDEX_THRESHOLDS
from citypulse.producers.recording import read_recording
from citypulse.schemas import load_reference
from citypulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scenarios_generate", SCENARIOS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name", ["agency-behind", "documents-stall", "malformed-burst", "digitisation-lags"]
)
def test_the_checked_in_scenario_is_what_the_generator_writes(name: str, tmp_path: Path) -> None:
    g = generator()
    written = g.write(name, g.SCENARIOS[name](), tmp_path)
    assert written.read_bytes() == (SCENARIOS / f"{name}.jsonl.gz").read_bytes(), (
        "run `python scenarios/generate.py`"
    )


def verified(name: str):  # type: ignore[no-untyped-def]
    return verify(Settings(), ReplayOptions(SCENARIOS / f"{name}.jsonl.gz"))


def test_agency_behind_puts_cat_below_the_critical_on_time_threshold() -> None:
    report = verified("agency-behind").report
    cat = report.agencies[("TTH", "CAT")]
    assert cat.today["resolved"] >= 10  # the alert's minimum volume
    assert cat.today["resolved_on_time"] / cat.today["resolved"] < 0.90

    def on_time(counts: dict[str, int]) -> float:
        return sum(n for label, n in counts.items() if label.endswith("/on_time")) / sum(
            counts.values()
        )

    # over the whole recording, CAT is the lowest of the agencies with some volume
    busy = {k[1]: on_time(s.resolved) for k, s in report.agencies.items()
            if sum(s.resolved.values()) >= 20}  # fmt: skip
    assert min(busy, key=lambda agency: busy[agency]) == "CAT"


def test_documents_stall_leaves_every_document_of_the_afternoon_undelivered() -> None:
    g = generator()
    start, end = (t.timestamp() for t in g.STALL)
    sent, received = set(), set()
    for r in read_recording(SCENARIOS / "documents-stall.jsonl.gz"):
        event = json.loads(r.value or b"{}")
        if event.get("event_type") == "document.sent":
            if start <= datetime.fromisoformat(event["occurred_at"]).timestamp() < end:
                sent.add(event["document_id"])
        elif event.get("event_type") == "document.received":
            received.add(event["document_id"])
    assert len(sent) > 300
    assert not sent & received
    report = verified("documents-stall").report
    assert sum(s.undelivered for s in report.agencies.values()) >= len(sent)


def test_malformed_burst_dead_letters_400_and_leaves_the_kpis_alone() -> None:
    burst, base = verified("malformed-burst"), verify(Settings(), ReplayOptions(
        SCENARIOS / "malformed-burst.jsonl.gz"))  # fmt: skip
    assert dict(burst.stats.invalid) == {("citypulse.dossier-events", "invalid_schema"): 400}
    assert base.report.to_dict() == burst.report.to_dict()
    g = generator()
    clean = g.simulated(g.BASE, 20_000)
    assert sum(burst.stats.events.values()) == len(clean)


def test_digitisation_lags_puts_hung_yen_below_the_province_service_index_threshold() -> None:
    """Two provinces; Hung Yen digitises and issues electronic results far less than Thua
    Thien Hue, loses its points in the digitization group, and its month index falls below
    the province alert's threshold while Thua Thien Hue's stays above."""
    report = verified("digitisation-lags").report
    table = load_reference().scoring
    threshold = next(t for t in INDEX_THRESHOLDS if t.scope == "province").warning
    hyn, tth = (report.provinces[p] for p in ("HYN", "TTH"))
    assert hyn.month_rates["digitization"] < 0.5 < tth.month_rates["digitization"]
    hyn_index, tth_index = (s.service_index(table)["month"] for s in (hyn, tth))
    assert hyn_index["digitization"] < tth_index["digitization"]
    assert hyn_index["total"] < threshold < tth_index["total"]
