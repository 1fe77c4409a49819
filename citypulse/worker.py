"""``citypulse worker``: the Faust worker with /metrics, from settings."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from . import bootstrap
from .settings import Settings

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> None:
    """Run until stopped (SIGINT/SIGTERM); /metrics on ``settings.http_port``."""
    import faust

    from citypulse.streams.app import WorkerConfig, create_worker

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bootstrap.create_topics(settings)
    config = WorkerConfig(
        brokers=[f"kafka://{server}" for server in settings.bootstrap_servers],
        dossier_topic=settings.dossier_topic,
        document_topic=settings.document_topic,
        dead_letter_topic=settings.dead_letter_topic,
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
        app_id=settings.app_id,
        facts_topic=f"{settings.app_id}.agency-facts",
        commit_interval=settings.commit_interval.total_seconds(),
        credentials=bootstrap.faust_credentials(settings),
        data_dir=settings.data_dir,
    )
    worker = create_worker(config, bootstrap.kpi_config(settings))
    start_http_server(settings.http_port, registry=worker.registry)
    log.info("citypulse worker: /metrics on http://0.0.0.0:%d/metrics", settings.http_port)
    faust.Worker(
        worker.app, loglevel=settings.log_level, quiet=True, override_logging=False
    ).execute_from_commandline()
