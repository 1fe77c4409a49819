"""Tables whose recovery keeps, per key, the row with the greatest version.

Every changelog record the stages write carries a version header (codec.py): the input
offset (entity tables) or facts offset (agency table) the row is the state after. A changelog is
written by one owner at a time, except when an owner was frozen past its session timeout
and wakes up as a zombie: until it learns that it lost its partitions, it may still send a
batch's rows, and they land *after* the rows of the partition's new owner. Kafka fences
such writes only with transactions, which the embedded broker lacks (BROKER-NOTES #3).
Last-writer-wins recovery would then adopt the zombie's older rows; here an older version
never replaces a newer one, tombstones included (a deleted key remembers its version, so a
late stale row does not bring it back), and the owner's own writes register their versions
(codec.write_record), so that its rows read back from the changelog later (Faust keeps
reading changelog partitions outside recovery at times) cannot revert them. Rows are a
function of their input prefix, so two owners' rows of the same version are the same row.

The store also notes which changelog offsets it applied, per partition (offset_coverage.py):
Faust's recovery can skip records after a rebalance interrupts it, and the worker reads what
it skipped before adopting a partition (changelog_repair.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import faust
from faust.stores import memory

from ..stages.codec import recover_record, version_of
from ..stages.offset_coverage import OffsetCoverage

__all__ = ["VersionedStore", "VersionedTable"]


class VersionedStore(memory.Store):  # type: ignore[type-arg]
    """Faust's memory store; changelog records are applied only if not older (see above)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.versions: dict[Any, int] = {}
        #: changelog records read so far: how a long recovery shows it is progressing
        self.changelog_read = 0
        #: per changelog partition, the offsets applied (or known to hold no record)
        self.coverage: dict[int, OffsetCoverage] = {}

    def apply_changelog_batch(
        self,
        batch: Iterable[Any],
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        changelog = self.table.changelog_topic.get_topic_name()

        def records() -> Iterable[tuple[int, int, Any, Any, Any]]:
            for event in batch:
                message = event.message
                if message.topic != changelog:
                    # Faust 0.15 hands a record of a changelog partition that is neither
                    # active nor standby to the table of the record before it ("recovery
                    # unknown topic")
                    continue
                value = None if message.value is None else to_value(event.value)
                yield message.partition, message.offset, to_key(event.key), value, message.headers

        self.apply(records())

    def apply(self, records: Iterable[tuple[int, int, Any, Any, Any]]) -> None:
        """Apply changelog records (partition, offset, key, value or None, headers), each
        unless it is older than the row the store holds."""
        data, versions, partitions = self.data, self.versions, self._key_partition
        coverage = self.coverage
        for partition, offset, key, value, headers in records:
            self.changelog_read += 1
            covered = coverage.get(partition)
            if covered is None:
                covered = coverage[partition] = OffsetCoverage()
            covered.add(offset)
            if recover_record(data, versions, key, value, version_of(headers)):
                partitions[key] = partition

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        """Faust's: the rows of partitions not assigned any more are dropped; so is what
        this store knew it had read of them."""
        await super().on_recovery_completed(active_tps, standby_tps)
        kept = {tp.partition for tp in active_tps}
        for partition in [p for p in self.coverage if p not in kept]:
            del self.coverage[partition]


class VersionedTable(faust.Table):  # type: ignore[type-arg]
    """A table on a :class:`VersionedStore` (as ``Table._new_store_by_url`` builds one)."""

    @property
    def store(self) -> VersionedStore:
        return cast(VersionedStore, self.data)

    @property
    def changelog_read(self) -> int:
        """Changelog records its recovery has read so far."""
        return self.store.changelog_read

    def _new_store(self) -> VersionedStore:
        return VersionedStore(
            "memory://",
            self.app,
            self,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    @classmethod
    def create(cls, app: faust.App, name: str, partitions: int) -> VersionedTable:
        """A table of bytes keys and values (Faust's changelog codec is then "raw")."""
        table = cls(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=partitions,
            key_type=bytes,
            value_type=bytes,
        )
        app.tables.add(table)
        return table
