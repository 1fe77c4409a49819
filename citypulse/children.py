"""Child processes (the embedded broker, the demo's worker) that the parent stops, in order.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group. Children left in that
group all stop at once, in no order: the broker died before the worker, which then waited for
it until it was killed (``citypulse demo`` took 32 s to stop). Here each child gets a session
of its own, so only the parent sees the Ctrl-C and stops them in order; and each child is sent
SIGTERM by the kernel if its parent dies, even by SIGKILL, so none outlives it (Linux).
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Any

__all__ = ["CHILD_OPTIONS"]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


#: keyword arguments for ``subprocess.Popen``
CHILD_OPTIONS: dict[str, Any] = (
    {"start_new_session": True, "preexec_fn": _die_with_parent} if os.name == "posix" else {}
)
