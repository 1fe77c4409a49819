"""After a rebalance, each adopted partition is read again from where its state ends.

The worker seeks every adopted partition there (``transport._Consumer.perform_seek``). Faust
can still hand over events of the new generation that were fetched before that seek, from
further on: chaos runs saw a back-pressured partition read during table recovery, and a
worker frozen past its session timeout get, right after its seek, a whole fetch from beyond
it. Processed, such events leave a hole, and the events the seek then brings fall into it as
"already handled": lost. So the first event of an adopted partition must be the one the
seek asked for, or an earlier one (redelivered, skipped by the stage); events from further
on are withheld, never committed, and the partition is sought back again.

A gap that is really in the log (offsets a consumer never gets: transaction markers,
compacted records) comes back at the same first offset after the seek, and is then accepted.

Pure: the worker feeds it partitions and offsets, and does the withholding and seeking.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

__all__ = ["ResumeGuard"]

P = TypeVar("P", bound=Hashable)


class ResumeGuard(Generic[P]):
    def __init__(self) -> None:
        #: adopted partitions whose first event is still awaited: (where the state resumes,
        #: the first offset delivered after the last seek there, if one was refused)
        self._awaited: dict[P, tuple[int, int | None]] = {}

    def adopt(self, resume: Mapping[P, int]) -> None:
        """The partitions adopted by a rebalance and where each resumes (the worker seeks
        there); what was awaited from an earlier rebalance is forgotten."""
        self._awaited = {partition: (offset, None) for partition, offset in resume.items()}

    def revoke(self) -> None:
        self._awaited.clear()

    def awaited(self) -> dict[P, int]:
        return {partition: offset for partition, (offset, _) in self._awaited.items()}

    def admit(self, events: Iterable[tuple[P, int]]) -> tuple[list[bool], dict[P, int]]:
        """For events in delivery order, (partition, offset): whether each may be processed,
        and where to seek back the partitions whose events were refused."""
        verdicts: list[bool] = []
        refused: dict[P, int] = {}  # partition -> first refused offset
        for partition, offset in events:
            awaited = self._awaited.get(partition)
            if partition in refused:
                verdicts.append(False)
            elif awaited is None:
                verdicts.append(True)
            elif offset <= awaited[0] or offset == awaited[1]:
                del self._awaited[partition]  # in sequence from here on
                verdicts.append(True)
            else:
                refused[partition] = offset
                verdicts.append(False)
        for partition, offset in refused.items():
            self._awaited[partition] = (self._awaited[partition][0], offset)
        return verdicts, {partition: self._awaited[partition][0] for partition in refused}
