"""The offline demo: the simulator folded by the KPI engine in this process, shown live.

(The broker-backed demo - Kafka, Faust worker, /metrics - builds on this in the streaming
service; this one needs nothing but Python.)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from rich.console import Console
from rich.live import Live

from citypulse import bootstrap
from citypulse.children import CHILD_OPTIONS
from citypulse.console import kpi_view
from citypulse.interrupts import deferred_interrupts
from citypulse.producers.pacing import paced
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.settings import Settings
from citypulse.streams.kpi import Intake

from .arguments import Subcommands, add_command, require_broker

__all__ = ["DemoOptions", "LiveDemoOptions", "add_parser", "run", "run_demo", "run_offline_demo"]

#: how long the simulator and the worker may take to stop (each takes about a second)
WORKER_STOP_TIMEOUT = 10.0
#: how long the demo waits, once the simulator is done, for the worker to read what it sent
CATCH_UP_BOUND = 120.0

#: The fault mix of ``--faults``: what a real upstream does on a bad day.
DEMO_FAULTS = Faults(duplicate=0.01, disorder=0.03, late=0.003, malformed=0.003, pii=0.01)


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 42
    hours: float = 72.0
    speed: float | None = 4 * 3600.0  # simulated seconds per real second; None: flat out
    faults: bool = True
    refresh: float = 0.5


def run_offline_demo(settings: Settings, options: DemoOptions, console: Console) -> Intake:
    references = bootstrap.references(settings)
    intake = Intake(bootstrap.make_engine(settings))
    config = SimulationConfig(
        seed=options.seed,
        faults=DEMO_FAULTS if options.faults else Faults(),
        allowed_lateness=settings.allowed_lateness.total_seconds(),
    )
    simulator = Simulator(references, config)
    messages = paced(
        simulator.messages(until=config.start + timedelta(hours=options.hours)), speed=options.speed
    )
    started = last_draw = time.monotonic()
    n = 0

    def view() -> object:
        rate = n / max(1e-9, time.monotonic() - started)
        return kpi_view(intake.engine.report(), references, intake.stats, rate)

    with Live(console=console, auto_refresh=False, transient=False) as live:
        try:
            for message in messages:
                intake.feed(message.topic, message.value)
                n += 1
                if console.is_terminal and time.monotonic() - last_draw >= options.refresh:
                    live.update(view(), refresh=True)  # type: ignore[arg-type]
                    last_draw = time.monotonic()
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: KPIs so far[/yellow]")
        live.update(view(), refresh=True)  # type: ignore[arg-type]
    console.line()
    return intake


@dataclass(frozen=True)
class LiveDemoOptions:
    seed: int = 42
    hours: float | None = None  # None: until Ctrl-C
    speed: float | None = 1800.0  # simulated seconds per real second; None: flat out
    faults: bool = True
    refresh: float = 1.0


def run_demo(settings: Settings, options: LiveDemoOptions, console: Console) -> int:
    """Broker (embedded unless configured) + worker + simulator; the live table from /metrics."""
    import os
    import subprocess
    import sys
    import tempfile
    import threading
    from pathlib import Path

    from citypulse.broker import EmbeddedBroker
    from citypulse.producers.publisher import Publisher

    logs = Path(tempfile.mkdtemp(prefix="citypulse-demo-"))
    broker: EmbeddedBroker | None = None
    worker: subprocess.Popen[bytes] | None = None
    producer: threading.Thread | None = None
    stop = threading.Event()
    try:
        if settings.broker is None:
            broker = EmbeddedBroker(log_dir=logs).start()
            settings = settings.model_copy(update={"broker": broker.url})
            console.print(f"embedded broker at {broker.url} (memory storage)")
        else:
            require_broker(settings)  # one line naming the setting if it cannot be used
        bootstrap.create_topics(settings)
        env = {
            **os.environ,
            "CITYPULSE_BROKER": settings.broker or "",
            "CITYPULSE_HTTP_PORT": str(settings.http_port),
            "CITYPULSE_LOG_LEVEL": "WARNING",
        }
        with (logs / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "citypulse", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                **CHILD_OPTIONS,
            )
        url = f"http://127.0.0.1:{settings.http_port}/metrics"
        console.print(f"worker /metrics: {url}   (logs in {logs}; Ctrl-C stops everything)")
        console.file.flush()

        config = SimulationConfig(
            seed=options.seed,
            faults=DEMO_FAULTS if options.faults else Faults(),
            allowed_lateness=settings.allowed_lateness.total_seconds(),
        )
        until = None if options.hours is None else config.start + timedelta(hours=options.hours)
        messages = Simulator(bootstrap.references(settings), config).messages(until=until)
        publisher = Publisher(settings.bootstrap_servers, settings.kafka_client_options())
        topics = {
            "citypulse.dossier-events": settings.dossier_topic,
            "citypulse.document-events": settings.document_topic,
        }

        def produce() -> None:
            try:
                for message in paced(messages, speed=options.speed):
                    if stop.is_set():
                        break
                    publisher.send(message, topic=topics[message.topic])
            finally:
                # closed, not only flushed: the embedded broker takes seconds to stop while
                # a client is connected
                publisher.close()

        producer = threading.Thread(target=produce, name="citypulse-demo-simulator", daemon=True)
        producer.start()
        # Ctrl-C as a flag the table loop reads, not a KeyboardInterrupt raised wherever the
        # main thread is: raised inside the console's lock it left that lock held, the
        # "stopping" message then waited for it forever, and the children were never stopped
        with deferred_interrupts() as interrupted:
            _show(
                url,
                settings,
                console,
                options.refresh,
                lambda: not producer.is_alive() or worker.poll() is not None,
                lambda: bool(interrupted),
            )
        if interrupted:
            console.print("[yellow]stopping: simulator, worker, broker[/yellow]")
            return 0
        if worker.poll() is not None:
            console.print(
                f"[red]the worker exited ({worker.returncode}); see {logs / 'worker.log'}[/red]"
            )
            return 1
        return 0
    except KeyboardInterrupt:
        console.print("[yellow]stopping: simulator, worker, broker[/yellow]")
        return 0
    finally:
        # in order: the simulator, then the worker while the broker still answers (it leaves
        # its group and stops at once; without a broker it waits for one), then the broker
        stop.set()
        if producer is not None:
            producer.join(WORKER_STOP_TIMEOUT)
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(WORKER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if broker is not None:
            broker.stop()


def _show(
    url: str,
    settings: Settings,
    console: Console,
    refresh: float,
    done: Callable[[], bool],
    interrupted: Callable[[], bool],
) -> None:
    """Redraw the table from /metrics until ``done()``, then until the worker has caught up
    (its event count stopped growing; at most CATCH_UP_BOUND seconds); stop at once when
    ``interrupted()``."""
    from citypulse.console import kpi_table, rows_from_samples
    from citypulse.scrape import parse, scrape

    references = bootstrap.references(settings)
    weights = bootstrap.kpi_config(settings).index_weights
    previous: tuple[float, float] | None = None
    finished_at: float | None = None
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while not interrupted():
            if finished_at is None and done():
                finished_at = time.monotonic()
            time.sleep(refresh if finished_at is None else 3 * refresh)
            if interrupted():
                break
            try:
                rows, health, stream_time = rows_from_samples(parse(scrape(url, timeout=2)))
            except OSError:
                continue  # the worker is starting
            now = time.monotonic()
            rate = (
                0.0
                if previous is None
                else (health.events - previous[1]) / max(1e-9, now - previous[0])
            )
            caught_up = previous is not None and health.events == previous[1] > 0
            previous = (now, health.events)
            health = replace(health, events_per_second=rate)
            live.update(kpi_table(references, stream_time, rows, weights, health), refresh=True)
            # once the simulator is done, until the worker has read everything it sent
            if finished_at is not None and (caught_up or now - finished_at > CATCH_UP_BOUND):
                break
    console.line()


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "demo")
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    parser.add_argument(
        "--hours", type=float, help="simulated hours to run (default: until Ctrl-C; offline: 72)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per real second (default 1800; offline 14400); 0: flat out",
    )
    parser.add_argument(
        "--offline", action="store_true", help="no Kafka: fold the simulator in this process"
    )
    parser.add_argument("--no-faults", action="store_true", help="do not inject upstream faults")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.offline:
        offline = DemoOptions(
            seed=args.seed,
            hours=72.0 if args.hours is None else args.hours,
            speed=(4 * 3600.0 if args.speed is None else args.speed) or None,
            faults=not args.no_faults,
        )
        run_offline_demo(settings, offline, console)
        return 0
    live = LiveDemoOptions(
        seed=args.seed,
        hours=args.hours,
        speed=(1800.0 if args.speed is None else args.speed) or None,
        faults=not args.no_faults,
    )
    return run_demo(settings, live, console)
