"""``citypulse worker --processes N``: the parent restarts what a restart mends, and only that."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from citypulse.streams.exits import EXIT_STUCK
from citypulse.supervisor import supervise

#: a stand-in worker: logs its start, then does what its index's file says: exit with a
#: status once (the first time), or run until signalled
CHILD = """
import os, sys, time
from pathlib import Path
here = Path(os.environ["HERE"]); index = os.environ["INDEX"]
starts = here / f"starts-{index}"
with starts.open("a") as f:
    f.write(f"{os.getpid()}\\n")
plan = here / f"exit-once-{index}"
if plan.exists():
    status = int(plan.read_text()); plan.unlink(); sys.exit(status)
while True:
    time.sleep(0.05)
"""


def _run(tmp: Path, processes: int, until: object, timeout: float = 20) -> tuple[int, float]:
    stop = threading.Event()

    def env_for(index: int) -> dict[str, str]:
        return {**os.environ, "HERE": str(tmp), "INDEX": str(index)}

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            if until():  # type: ignore[operator]
                stop.set()
            time.sleep(0.05)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    began = time.monotonic()
    status = supervise(
        [sys.executable, "-c", CHILD], env_for, processes, stop, poll=0.05, restart_delay=0.1
    )
    return status, time.monotonic() - began


def _starts(tmp: Path, index: int) -> list[int]:
    path = tmp / f"starts-{index}"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_worker_that_exits_to_be_restarted_or_is_killed_is_started_again(tmp_path: Path) -> None:
    (tmp_path / "exit-once-0").write_text(str(EXIT_STUCK))
    (tmp_path / "exit-once-2").write_text("0")  # stopped by someone else than the parent
    killed: list[int] = []

    def done() -> bool:
        ones = _starts(tmp_path, 1)
        if len(ones) == 1 and not killed:
            os.kill(ones[0], signal.SIGKILL)  # as the OOM killer would
            killed.append(ones[0])
        return [len(_starts(tmp_path, i)) for i in range(3)] == [2, 2, 2]

    status, took = _run(tmp_path, 3, done)
    assert status == 0
    assert [len(_starts(tmp_path, i)) for i in range(3)] == [2, 2, 2]
    assert took < 15


def test_a_configuration_error_stops_every_worker_with_its_status(tmp_path: Path) -> None:
    (tmp_path / "exit-once-1").write_text("2")
    status, took = _run(tmp_path, 3, lambda: False)
    assert status == 2  # the parent says what went wrong, as a lone worker would
    assert took < 15  # it stopped the two others at once, without waiting for the timeout
    # none started again (the others may be stopped before they got to write their start)
    assert [len(_starts(tmp_path, i)) for i in range(3)] in (
        [1, 1, 1],
        [0, 1, 1],
        [1, 1, 0],
        [0, 1, 0],
    )
