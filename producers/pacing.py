"""Pacing a stream of messages in real time: simulated time at xN, or a fixed rate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["paced"]

T = TypeVar("T")


def paced(
    messages: Iterable[T],
    *,
    speed: float | None = None,
    rate: float | None = None,
    at: Callable[[T], float] = lambda m: m.at,  # type: ignore[attr-defined]
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[T]:
    """Yield ``messages`` no sooner than their due time.

    ``speed``: simulated seconds per real second (``speed=60`` plays an hour in a minute),
    by ``at(message)`` (a :class:`Message`'s stream time by default); ``rate``: messages per
    real second. Neither: as fast as possible.
    """
    if speed is not None and rate is not None:
        raise ValueError("give speed or rate, not both")
    if (speed is not None and speed <= 0) or (rate is not None and rate <= 0):
        raise ValueError("speed and rate must be > 0")
    if speed is None and rate is None:
        yield from messages
        return
    started = clock()
    first_at: float | None = None
    for n, message in enumerate(messages):
        if speed is not None:
            if first_at is None:
                first_at = at(message)
            due = started + (at(message) - first_at) / speed
        else:
            assert rate is not None
            due = started + n / rate
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        yield message
