"""The pure KPI core: folds events into KPIs. Imports no faust, kafka or prometheus_client."""

from .agency import AgencyAggregate, AgencyBook
from .config import DELIVERY_BUCKETS, PROCESSING_BUCKETS, KpiConfig
from .document import DocumentState, apply_document_event
from .dossier import DossierState, apply_dossier_event
from .engine import KpiEngine
from .facts import AgencyKey, Emit, Fact, decode_fact, encode_fact
from .flows import DOCUMENTS, DOSSIERS, FLOWS, Flow, flow_of, flow_of_topic
from .intake import Intake, PipelineStats, Tally, read
from .labels import OTHER, LabelGuard
from .outcome import APPLIED, CONFLICT, DUPLICATE, LATE, Outcome
from .partitioned import PartitionedKpis
from .ratios import INDEX_KPIS, RATIOS, TODAY_ITEMS, Ratio
from .report import Histogram, KpiReport, KpiSnapshot, build_report

__all__ = [
    "APPLIED",
    "CONFLICT",
    "DELIVERY_BUCKETS",
    "DOCUMENTS",
    "DOSSIERS",
    "DUPLICATE",
    "FLOWS",
    "INDEX_KPIS",
    "LATE",
    "OTHER",
    "PROCESSING_BUCKETS",
    "RATIOS",
    "TODAY_ITEMS",
    "AgencyAggregate",
    "AgencyBook",
    "AgencyKey",
    "DocumentState",
    "DossierState",
    "Emit",
    "Fact",
    "Flow",
    "Histogram",
    "Intake",
    "KpiConfig",
    "KpiEngine",
    "KpiReport",
    "KpiSnapshot",
    "LabelGuard",
    "Outcome",
    "PartitionedKpis",
    "PipelineStats",
    "Ratio",
    "Tally",
    "apply_document_event",
    "apply_dossier_event",
    "build_report",
    "decode_fact",
    "encode_fact",
    "flow_of",
    "flow_of_topic",
    "read",
]
