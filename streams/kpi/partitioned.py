"""What the worker computes, in pure code: one engine per input partition, facts to one book.

The worker's entity stage runs one engine per input partition (stream time, lateness and
dedup are per partition) that records *facts*; the agency stage applies every partition's
facts to one book per agency and reports at the newest stream time. Fed the records of the
input partitions in offset order, :class:`PartitionedKpis` gives the same KPIs as the
worker's ``/metrics``: this is what ``citypulse verify`` uses to say what a replay must show.
"""

from __future__ import annotations

from citypulse.schemas import DecodeError

from .agency import AgencyBook
from .config import KpiConfig
from .engine import KpiEngine
from .facts import Fact
from .intake import Intake, PipelineStats
from .labels import LabelGuard
from .outcome import Outcome
from .report import KpiReport, build_report

__all__ = ["PartitionedKpis"]


class PartitionedKpis:
    def __init__(self, config: KpiConfig) -> None:
        self.config = config
        self.intakes: dict[str, Intake] = {}
        self.labels = LabelGuard(config.known_agencies, config.max_agencies)  # one per worker
        self.book = AgencyBook(config, KpiEngine(config).days)

    def feed(self, topic: str, partition: int, raw: bytes) -> Outcome | DecodeError:
        """Fold one message of input ``partition`` of contract ``topic``."""
        stream = f"{topic}:{partition}"
        intake = self.intakes.get(stream)
        if intake is None:

            def emit(fact: Fact) -> None:
                self.book.apply(fact, stream)

            engine = KpiEngine(self.config, emit=emit, labels=self.labels)
            intake = self.intakes[stream] = Intake(engine)
        return intake.feed(topic, raw)

    def stats(self) -> PipelineStats:
        """The pipeline-health counts summed over the partitions."""
        total = PipelineStats()
        for p in self.intakes.values():
            for name in ("events", "invalid", "duplicate", "late", "conflict"):
                getattr(total, name).update(getattr(p.stats, name))
        return total

    def report(self) -> KpiReport:
        stream_times = {
            s: p.engine.stream_time
            for s, p in self.intakes.items()
            if p.engine.stream_time is not None
        }
        if not stream_times:
            return KpiReport(None, "", {}, {}, self.config.index_weights, self.config.scoring)
        self.book.settle(stream_times)
        return build_report(self.book, max(stream_times.values()))
