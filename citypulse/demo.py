"""The offline demo: the simulator folded by the KPI engine in this process, shown live.

(The broker-backed demo - Kafka, Faust worker, /metrics - builds on this in the streaming
service; this one needs nothing but Python.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from rich.console import Console
from rich.live import Live

from citypulse.producers.pacing import paced
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.streams.kpi import Pipeline

from . import bootstrap
from .console import kpi_view
from .settings import Settings

__all__ = ["DemoOptions", "run_offline_demo"]

#: The fault mix of ``--faults``: what a real upstream does on a bad day.
DEMO_FAULTS = Faults(duplicate=0.01, disorder=0.03, late=0.003, malformed=0.003, pii=0.01)


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 42
    hours: float = 72.0
    speed: float | None = 4 * 3600.0  # simulated seconds per real second; None: flat out
    faults: bool = True
    refresh: float = 0.5


def run_offline_demo(settings: Settings, options: DemoOptions, console: Console) -> Pipeline:
    reference = bootstrap.reference(settings)
    pipeline = Pipeline(bootstrap.make_engine(settings))
    config = SimulationConfig(
        seed=options.seed,
        faults=DEMO_FAULTS if options.faults else Faults(),
        allowed_lateness=settings.allowed_lateness.total_seconds(),
    )
    simulator = Simulator(reference, config)
    messages = paced(
        simulator.messages(until=config.start + timedelta(hours=options.hours)), speed=options.speed
    )
    started = last_draw = time.monotonic()
    n = 0

    def view() -> object:
        rate = n / max(1e-9, time.monotonic() - started)
        return kpi_view(pipeline.engine.report(), reference, pipeline.stats, rate)

    with Live(console=console, auto_refresh=False, transient=False) as live:
        try:
            for message in messages:
                pipeline.feed(message.topic, message.value)
                n += 1
                if console.is_terminal and time.monotonic() - last_draw >= options.refresh:
                    live.update(view(), refresh=True)  # type: ignore[arg-type]
                    last_draw = time.monotonic()
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: KPIs so far[/yellow]")
        live.update(view(), refresh=True)  # type: ignore[arg-type]
    console.line()
    return pipeline
