"""A batch's protocol, written once: the agents (app.py) and the crash tests
(tests/support/durability.py) both run a stage's batch through :func:`run_batch`.

1. Run the stage's next phase (it queues its output: rows, facts, dead letters, ...).
2. Deliver that output: wait until the broker has acknowledged all of it.
3. Repeat with the next phase; after the last one the batch may be acknowledged (its input
   offsets become committable).

Why each phase waits for the previous one's delivery is the stage's business (entity
stage: rows and facts, then tombstones, then the checkpoint; agency stage: rows, then
watermarks); that no phase starts before the previous one is durable is this module's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

__all__ = ["Phase", "Phases", "run_batch"]

Phase = Callable[[], None]
Phases = Sequence[Phase]


async def run_batch(phases: Phases, deliver: Callable[[], Awaitable[None]]) -> None:
    """Run ``phases`` in order, delivering each one's output before the next."""
    for phase in phases:
        phase()
        await deliver()
