"""The pure KPI core: folds events into KPIs. Imports no faust, kafka or prometheus_client."""

from .agency import AgencyAggregate, AgencyBook
from .config import DELIVERY_BUCKETS, INDEX_KPIS, PROCESSING_BUCKETS, KpiConfig
from .document import DocumentRecord, apply_document_event
from .dossier import DossierRecord, apply_dossier_event
from .engine import KpiEngine
from .labels import OTHER, LabelGuard
from .outcome import APPLIED, CONFLICT, DUPLICATE, LATE, Outcome
from .partitioned import PartitionedKpis
from .pipeline import Pipeline, PipelineStats
from .recorder import Fact, FactRecorder
from .report import Histogram, KpiReport, KpiSnapshot, build_report
from .sink import AgencyKey, AgencySink

__all__ = [
    "APPLIED",
    "CONFLICT",
    "DELIVERY_BUCKETS",
    "DUPLICATE",
    "INDEX_KPIS",
    "LATE",
    "OTHER",
    "PROCESSING_BUCKETS",
    "AgencyAggregate",
    "AgencyBook",
    "AgencyKey",
    "AgencySink",
    "DocumentRecord",
    "DossierRecord",
    "Fact",
    "FactRecorder",
    "Histogram",
    "KpiConfig",
    "KpiEngine",
    "KpiReport",
    "KpiSnapshot",
    "LabelGuard",
    "Outcome",
    "PartitionedKpis",
    "Pipeline",
    "PipelineStats",
    "apply_document_event",
    "apply_dossier_event",
    "build_report",
]
