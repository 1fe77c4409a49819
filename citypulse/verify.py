"""``citypulse verify FILE``: the KPIs a recording must produce, computed offline.

The recording goes through the same selection and time shift as ``citypulse replay`` would
apply, then through :class:`~citypulse.streams.kpi.PartitionedKpis` (one engine per recorded
input partition, as the worker does), so the result is what a worker's ``/metrics`` must show
after replaying it. A topic is read as dossier (document) events if it is the configured
``CITYPULSE_DOSSIER_TOPIC`` (``_DOCUMENT_TOPIC``) or its name ends with the contract's topic
name (e.g. ``test.citypulse.dossier-events``); other topics are skipped and counted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest

from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.streams.kpi import KpiReport, PartitionedKpis, PipelineStats

from . import bootstrap
from .replay import ReplayOptions, ReplayPlan, plan_replay, replayed
from .settings import Settings

__all__ = ["Verified", "as_prometheus", "verify"]


@dataclass
class Verified:
    plan: ReplayPlan
    report: KpiReport
    stats: PipelineStats
    skipped: Counter[str]  # records of topics that are not input topics


def _contract(settings: Settings, topic: str) -> str | None:
    for configured, contract in (
        (settings.dossier_topic, DOSSIER_TOPIC),
        (settings.document_topic, DOCUMENT_TOPIC),
    ):
        if topic == configured or topic.endswith(contract):
            return contract
    return None


def verify(settings: Settings, options: ReplayOptions) -> Verified:
    plan = plan_replay(options)
    kpis = PartitionedKpis(bootstrap.kpi_config(settings))
    skipped: Counter[str] = Counter()
    for r in replayed(options, plan):
        contract = _contract(settings, r.topic)
        if contract is None:
            skipped[r.topic] += 1
            continue
        kpis.feed(contract, r.partition, r.value or b"")
    return Verified(plan, kpis.report(), kpis.stats(), skipped)


def as_prometheus(report: KpiReport) -> str:
    """The KPI series a worker's /metrics must serve for this report (exposition format)."""
    from citypulse.streams.metrics import KpiCollector

    registry = CollectorRegistry()
    registry.register(KpiCollector(lambda: report))
    return generate_latest(registry).decode()


def as_json(verified: Verified) -> str:
    return json.dumps(
        {
            "records": verified.plan.records,
            "shift_seconds": verified.plan.shift,
            "skipped": dict(verified.skipped),
            "kpis": verified.report.to_dict(),
        },
        indent=2,
        sort_keys=True,
        default=str,
    )
