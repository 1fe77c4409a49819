"""A worker whose broker stops answering says so on /readyz, then exits for a restart."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from citypulse.broker import EmbeddedBroker
from citypulse.producers.profile import SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from citypulse.streams.exits import EXIT_STUCK
from tests.support.topics_under_test import new_setup, publish
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.integration

STALL_TIMEOUT = 15.0


def wait_for(what: str, check: object, timeout: float, worker: WorkerProcess) -> float:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} after {timeout:.0f} s:\n{worker.log_tail()}"
        time.sleep(0.2)
    return time.monotonic()


def test_a_worker_whose_broker_freezes_turns_unready_then_exits_to_be_restarted(
    tmp_path: Path,
) -> None:
    with EmbeddedBroker(log_dir=tmp_path) as broker:  # its own: this test freezes it
        setup = new_setup(broker, "wedge.", tmp_path)
        publish(broker, setup, Simulator(load_reference(), SimulationConfig(seed=5)).take(2000))
        env = {**setup.env, "CITYPULSE_STALL_TIMEOUT": str(STALL_TIMEOUT)}
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            wait_for("not ready", lambda: worker.probe("/readyz") == 200, 90, worker)
            assert worker.probe("/healthz") == 200
            broker.send_signal(signal.SIGSTOP)
            frozen = time.monotonic()
            unready = wait_for("still ready", lambda: worker.probe("/readyz") == 503, 60, worker)
            assert worker.process is not None
            exited = wait_for(
                "still running", lambda: worker.process.poll() is not None, 90, worker
            )
            assert worker.process.returncode == EXIT_STUCK, worker.log_tail()
            assert "worker stuck" in worker.log_tail()
            # unready once the session is lost; gone a stall timeout after that
            assert unready - frozen < 40
            assert STALL_TIMEOUT <= exited - unready < STALL_TIMEOUT + 30
        finally:
            broker.send_signal(signal.SIGCONT)
            if worker.process is not None and worker.process.poll() is None:
                worker.kill()


def test_a_restarted_worker_is_watched_while_it_rejoins_and_recovers(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    """A restart rejoins the group and reads the changelogs from their start: with a long
    history, minutes. The worker must be observed (and reported recovering) all along: Faust's
    own timers start only after the first recovery, and a watchdog fed by one took a worker
    reading a million events' history for a blocked event loop and killed it, again at every
    restart. (That it is not killed while its recovery keeps reading: tests/unit/test_liveness.py.)"""
    events = 5_000
    setup = new_setup(broker, topic_prefix, tmp_path)
    publish(broker, setup, Simulator(load_reference(), SimulationConfig(seed=3)).take(events))
    first = WorkerProcess(setup.env, tmp_path / "first.log").start()
    try:
        wait_for("not all handled", lambda: first.events_seen() >= events, 120, first)
        time.sleep(2)  # its last rows
    finally:
        first.kill()
    second = WorkerProcess(setup.env, tmp_path / "second.log").start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while second.probe("/readyz") != 200:
            assert time.monotonic() < deadline, f"not ready:\n{second.log_tail()}"
            text = second.metrics() or ""
            seen += re.findall(r'citypulse_worker_state\{state="(\w+)"\} 1\.0', text)
            time.sleep(0.2)
        assert "recovering" in seen, seen  # observed before its first recovery was over
        assert second.process is not None
        assert second.process.poll() is None, second.log_tail()
    finally:
        second.kill()
