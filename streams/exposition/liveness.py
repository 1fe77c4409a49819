"""Is this worker doing its job? The rules, without a clock or a framework.

A worker is *running* when it has partitions, is not rebalancing or recovering, and either
has nothing to read or read something since the last look. It is *stuck* when one of these
has lasted longer than ``bound`` seconds (CITYPULSE_STALL_TIMEOUT):

* no assignment (a group that never settles: BROKER-NOTES #7; or more workers than
  partitions);
* disconnected: the broker has not answered a fetch for a session timeout (down, frozen,
  unreachable);
* rebalancing, or recovering without reading anything (a recovery that never ends; one that
  reads a long history is slow, not stuck);
* stalled: input waiting (lag > 0) and nothing processed;
* not observed at all (the event loop is blocked), judged by :meth:`Liveness.stuck` from
  another thread.

A stuck worker says so (``/readyz``, ``/healthz``, ``citypulse_worker_state``) and exits
non-zero, so that its supervisor (compose's restart policy, Kubernetes) starts a fresh
member: a new member rejoins the group and recovers its partitions from the changelogs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Liveness", "State"]


class State(StrEnum):
    STARTING = "starting"
    UNASSIGNED = "unassigned"
    DISCONNECTED = "disconnected"
    RECOVERING = "recovering"
    RUNNING = "running"
    STALLED = "stalled"


@dataclass
class Liveness:
    bound: float  # seconds a not-running state may last
    now: float  # monotonic time of creation
    state: State = State.STARTING
    since: float = field(init=False)  # when ``state`` began (STALLED: when progress stopped)
    observed: float = field(init=False)  # monotonic time of the last observation
    last_progress: float = field(init=False)  # monotonic time input was last processed
    processed: int = 0
    recovered: int = 0  # changelog records read by table recovery, so far
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.since = self.observed = self.last_progress = self.now

    def observe(
        self,
        now: float,
        *,
        assigned: bool,
        recovering: bool,
        lag: int,
        processed: int,
        connected: bool = True,
        recovered: int = 0,
    ) -> State:
        """Record what the worker looks like at ``now``; its state. ``recovered``: changelog
        records read by table recovery so far (a recovery that reads is not stuck)."""
        with self._lock:
            recovery_read = recovered != self.recovered
            self.recovered = recovered
            progressed = processed != self.processed or lag == 0
            self.processed = processed
            if progressed and assigned and connected and not recovering:
                self.last_progress = now
            if recovering:
                state = State.RECOVERING
            elif not assigned:
                state = State.UNASSIGNED
            elif not connected:
                state = State.DISCONNECTED
            elif now - self.last_progress > min(self.bound, 10.0):
                state = State.STALLED  # reported early; fatal only after ``bound``
            else:
                state = State.RUNNING
            if state != self.state:
                self.state = state
                self.since = self.last_progress if state == State.STALLED else now
            elif state == State.RECOVERING and recovery_read:
                self.since = now
            self.observed = now
            return state

    @property
    def ready(self) -> bool:
        return self.state == State.RUNNING

    def stuck(self, now: float) -> str | None:
        """Why the worker should give up at ``now``, or None."""
        with self._lock:
            if now - self.observed > self.bound:
                return f"not observed for {now - self.observed:.0f} s (event loop blocked)"
            if self.state != State.RUNNING and now - self.since > self.bound:
                return f"{self.state} for {now - self.since:.0f} s"
            return None
