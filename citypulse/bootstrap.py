"""The composition root: builds the parts of citypulse from settings."""

from __future__ import annotations

from citypulse.schemas import Reference, load_reference
from citypulse.schemas.reference import load_references
from citypulse.streams.kpi import KpiConfig, KpiEngine

from .settings import Settings
from .topic_admin import TopicReport, ensure_topics

__all__ = [
    "create_topics",
    "faust_credentials",
    "kpi_config",
    "make_engine",
    "reference",
    "references",
]


def references(settings: Settings) -> tuple[Reference, ...]:
    """The reference data of every province watched (the first is the one a single-province
    view shows)."""
    if settings.reference_file is not None:
        return (load_reference(settings.reference_file),)
    return load_references(settings.province_codes)


def reference(settings: Settings) -> Reference:
    """The first province watched: what the simulator draws from unless told otherwise."""
    return references(settings)[0]


def kpi_config(settings: Settings) -> KpiConfig:
    lateness = settings.allowed_lateness.total_seconds()
    retention = settings.dedup_retention
    return KpiConfig.from_references(
        references(settings),
        allowed_lateness=lateness,
        retention=lateness if retention is None else retention.total_seconds(),
        due_soon_horizon=settings.due_soon_horizon.total_seconds(),
        undelivered_after=settings.undelivered_after.total_seconds(),
        max_agencies=settings.max_agencies,
    )


def create_topics(settings: Settings) -> TopicReport:
    """The input and dead-letter topics, created if missing (idempotent)."""
    return ensure_topics(
        settings.bootstrap_servers,
        [*settings.input_topics, settings.dead_letter_topic],
        settings.partitions,
        settings.replication_factor,
        settings.kafka_client_options(),
    )


def make_engine(settings: Settings) -> KpiEngine:
    return KpiEngine(kpi_config(settings))


def faust_credentials(settings: Settings) -> object | None:
    """SASL / TLS credentials for Faust (aiokafka) from settings; None for PLAINTEXT."""
    import faust

    from citypulse.connection_check import tls_context

    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = tls_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return faust.SASLCredentials(
        username=settings.sasl_username,
        password=password,
        mechanism=settings.sasl_mechanism or "PLAIN",
        ssl_context=context,
    )
