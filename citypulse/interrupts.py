"""Ctrl-C and SIGTERM as a flag, for loops that must stop between two records, never inside
one (a KeyboardInterrupt raised mid-write would leave a recording whose summary disagrees
with its records, or a torn compressed stream)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupts", "deferred_interrupts"]


class Interrupts:
    def __init__(self) -> None:
        self.received: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)


@contextmanager
def deferred_interrupts() -> Iterator[Interrupts]:
    """Within the block, SIGINT and SIGTERM only set the flag it yields (main thread only;
    elsewhere signals cannot be handled and the flag stays false)."""
    flag = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {s: signal.signal(s, flag._handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
