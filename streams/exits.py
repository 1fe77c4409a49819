"""The worker's exit statuses, in one place: each says why a worker stopped, and all of these
ask its supervisor to restart it (a restarted worker recovers its state from the changelogs).
A clean stop exits 0; a configuration error (no broker, a TLS misconfiguration) exits 1 or 2,
which a restart does not mend."""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_INCOMPLETE",
    "EXIT_STAGE_FAILED",
    "EXIT_STUCK",
    "EXIT_UNDELIVERED",
    "RESTART_STATUSES",
]

#: stayed unassigned, recovering, disconnected or stalled too long (exposition/liveness.py)
EXIT_STUCK: Final = 3
#: its output could not be delivered (retries exhausted): its state is ahead of what is durable
EXIT_UNDELIVERED: Final = 4
#: could not read the whole of a changelog it recovers
EXIT_INCOMPLETE: Final = 5
#: a stage failed otherwise (a defect: the stages do not raise on bad input)
EXIT_STAGE_FAILED: Final = 6

RESTART_STATUSES: Final = frozenset(
    {EXIT_STUCK, EXIT_UNDELIVERED, EXIT_INCOMPLETE, EXIT_STAGE_FAILED}
)
