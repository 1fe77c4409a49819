"""Choosing and rewriting recorded records for a replay (pure: bytes in, bytes out).

* :class:`Selection`: keep records by event time, event type and agency. Filters look inside
  the event's JSON; a record that is not an event (malformed bytes, a dead letter) has no
  type, agency or time, so any filter drops it, and only an unfiltered replay sends it.
* :func:`shift_event_times`: move ``occurred_at`` and ``due_at`` by the same amount, keeping
  each timestamp's UTC offset, so a recording looks live (``--rebase-time now``). Only those
  fields change; bytes that are not a JSON object are returned unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["TIME_FIELDS", "Selection", "rebase_shift", "shift_event_times"]

TIME_FIELDS = ("occurred_at", "due_at")


def _event(value: bytes | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _seconds(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Selection:
    since: float | None = None  # event time, unix seconds, inclusive
    until: float | None = None  # exclusive
    types: frozenset[str] | None = None
    agencies: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self == Selection()

    def keeps(self, value: bytes | None) -> bool:
        if self.everything:
            return True
        event = _event(value)
        if event is None:
            return False
        if self.types is not None and event.get("event_type") not in self.types:
            return False
        if self.agencies is not None and event.get("agency") not in self.agencies:
            return False
        if self.since is not None or self.until is not None:
            t = _seconds(event.get("occurred_at"))
            if t is None:
                return False
            if self.since is not None and t < self.since:
                return False
            if self.until is not None and t >= self.until:
                return False
        return True


def shift_event_times(value: bytes | None, seconds: float) -> bytes | None:
    if not seconds:
        return value
    event = _event(value)
    if event is None:
        return value
    delta = timedelta(seconds=seconds)
    changed = False
    for name in TIME_FIELDS:
        text = event.get(name)
        if isinstance(text, str):
            try:
                event[name] = (datetime.fromisoformat(text) + delta).isoformat()
                changed = True
            except ValueError:
                pass  # not a timestamp: the worker will dead-letter it as it is
    if not changed:
        return value
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def rebase_shift(target: str, first_event: float, now: Callable[[], datetime]) -> float:
    """Whole seconds to add so that the first event happens at ``target`` (``now`` or an ISO
    8601 time with an offset)."""
    when = now() if target == "now" else datetime.fromisoformat(target)
    if when.tzinfo is None:
        raise ValueError(f"--rebase-time needs a UTC offset (e.g. +07:00), got {target!r}")
    return float(round(when.timestamp() - first_event))
