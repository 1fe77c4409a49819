"""Complete a table recovery that skipped changelog records, before a stage adopts the state.

Faust's recovery can skip records of a changelog partition after a rebalance interrupted it
(offset_coverage.py). The stages would then adopt rows that miss what those records wrote,
with a checkpoint that says it was handled: the events are never applied again, and a later
event of the same entity is applied to a row that does not know the earlier ones (a chaos run
lost document deliveries that way: docs/chaos.md, finding 17). So once recovery says it is
complete, every changelog partition assigned to the worker is checked against what its table
applied, from the partition's first offset to the end recovery read to (an end verified by
reading, transport.py), and what is missing is read and applied, with the same versioned
rules, before the stages adopt anything.

On a healthy recovery nothing is missing and this costs nothing; on a compacted Kafka
changelog the holes compaction left are read once each (a fetch that returns the records past
them), and known from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from faust.types import TP

from ..stages.offset_coverage import OffsetCoverage
from .versioned_store import VersionedTable

__all__ = ["Tables", "missing_records", "read_missing"]

log = logging.getLogger(__name__)

Ranges = dict[TP, list[tuple[int, int]]]
#: the worker's tables by the name of their changelog topic
Tables = Mapping[str, VersionedTable]


def missing_records(
    tables: Tables, firsts: Mapping[TP, int | None], ends: Mapping[TP, int]
) -> Ranges:
    """Per changelog partition of ``ends`` (the end recovery read to), the offset ranges from
    its first offset that its table did not apply."""
    missing: Ranges = {}
    for tp, end in ends.items():
        table = tables.get(tp.topic)
        if table is None:
            continue
        coverage = table.store.coverage.get(tp.partition) or OffsetCoverage()
        gaps = coverage.missing(firsts.get(tp) or 0, end)
        if gaps:
            missing[tp] = gaps
    return missing


async def read_missing(
    tables: Tables,
    missing: Ranges,
    read: Callable[[Ranges], Any],
    counted: Callable[[str, int], None],
) -> Ranges:
    """Read the ``missing`` ranges (``read``: transport.read_ranges with the worker's reader)
    and apply them to their tables; ``counted(table name, records applied)``. What is still
    missing afterwards (ranges that could not be read: the state is incomplete)."""
    if not missing:
        return {}
    log.warning(
        "table recovery skipped changelog records: reading them again: %s",
        {str(tp): [f"{a}..{b - 1}" for a, b in spans] for tp, spans in missing.items()},
    )
    records, whole = await read(missing)
    for tp, found in records.items():
        table = tables[tp.topic]
        store = table.store
        store.apply((r.partition, r.offset, r.key, r.value, r.headers) for r in found)
        coverage = store.coverage.setdefault(tp.partition, OffsetCoverage())
        for start, stop in whole.get(tp, ()):
            coverage.cover(start, stop)
        counted(table.name, len(found))
    left = {tp: [s for s in spans if s not in whole.get(tp, ())] for tp, spans in missing.items()}
    return {tp: spans for tp, spans in left.items() if spans}
