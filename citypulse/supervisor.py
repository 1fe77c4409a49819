"""``citypulse worker --processes N``: N worker processes of one consumer group from one
command, so that a host with N cores uses them without N commands to keep.

Each child is a ``citypulse worker`` of its own with the same settings but its HTTP port (the
given port + its index, so Prometheus scrapes N targets) and its scratch directory (a
subdirectory per index); the group shares the partitions among them as among workers started
apart. The parent passes SIGINT and SIGTERM on to every child and waits for them. It restarts a
child that stops on its own: one that exits with a status that asks for a restart
(streams/exits.py), is killed by a signal, or is stopped (status 0) by anything but the parent,
as compose or Kubernetes restart a lone worker; a child that exits otherwise (a configuration
error, which a restart does not mend) stops the others, and its status becomes the parent's.

Imports nothing from Faust or Kafka: the parent only starts and watches processes.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence

from citypulse.streams.exits import RESTART_STATUSES

__all__ = ["supervise"]

log = logging.getLogger(__name__)

#: a child is started again at most this often (a child that cannot start is not spun)
RESTART_DELAY = 2.0


def supervise(
    argv: Sequence[str],
    env_for: Callable[[int], dict[str, str]],
    processes: int,
    stop: threading.Event,
    poll: float = 0.2,
    restart_delay: float = RESTART_DELAY,
) -> int:
    """Run ``processes`` children ``argv`` with ``env_for(index)`` until ``stop`` is set
    (then each is sent SIGTERM and waited for) or one exits with a status a restart does not
    mend. The exit status: 0 after a stop, else that child's."""
    children = [_start(argv, env_for(i)) for i in range(processes)]
    status = 0
    stopping = False
    while True:
        if stop.is_set() and not stopping:
            stopping = True
            _signal(children, signal.SIGTERM)
        if stopping and all(child.poll() is not None for child in children):
            return status
        for index, child in enumerate(children):
            code = child.poll()
            if code is None or stopping:
                continue
            if code <= 0 or code in RESTART_STATUSES:  # negative: killed by that signal
                log.warning("worker process %d exited with %d: starting it again", index, code)
                stop.wait(restart_delay)
                if not stop.is_set():
                    children[index] = _start(argv, env_for(index))
            else:
                log.error(
                    "worker process %d exited with %d, which a restart does not mend: "
                    "stopping the others",
                    index,
                    code,
                )
                status = code
                stop.set()
        stop.wait(poll)


def _start(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(argv), env=env)


def _signal(children: Sequence[subprocess.Popen[bytes]], signum: int) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)
