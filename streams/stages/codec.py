"""Wire formats of the worker's own rows and messages (JSON), in one place.

- entity row (changelog of ``entities-<flow>``): ``{"p": source partition, "r": record,
  "f": {event_id: [source offset, facts]}}``: the facts each applied event emitted, so that
  a redelivered event can send them again;
- agency row (``agencies``): ``{"p": facts partition, "agg": aggregate, "m": {source: offset}}``
  with ``m`` the last source offset applied to this agency, per source partition;
- watermark row (``agencies``, key ``~wm/<p>``): ``{"p": facts partition, "wm": {source:
  stream time}, "o": last facts offset handled}``;
- checkpoint row (``entities-<flow>``, key ``~cp/<p>``): ``{"p": input partition, "cp":
  [last input offset fully handled, stream time after it], "a": [[province, agency], ...]}``
  with ``a`` the unknown agency pairs the worker's label bound had admitted;
- facts message (``citypulse.agency-facts``, keyed by ``province/agency``):
  ``{"items": [[source, offset, [fact, ...]], ...]}``; watermark message: ``{"wm": {...}}``.
  A fact is written and read by the pure core's fact codec (``kpi/facts.py``).

A *source* is ``<input topic>:<partition>``: one stream, with its own stream time.

Every changelog record carries a **version** header ``v``: the offset of the input (entity
tables) or facts (agency table) partition the row is the state after. Table recovery keeps
the greatest version of each key (:func:`recover_record`), so that the late writes of a
zombie owner never replace its successor's rows (streams/faust_adapter/versioned_store.py).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pydantic_core

from citypulse.streams.kpi import AgencyAggregate, AgencyKey, DocumentState, DossierState

__all__ = [
    "CHECKPOINT_PREFIX",
    "VERSION_HEADER",
    "WATERMARK_PREFIX",
    "AgencyRow",
    "Checkpoint",
    "EntityRow",
    "dumps",
    "facts_message",
    "loads",
    "recover_record",
    "source_name",
    "version_header",
    "version_of",
    "write_record",
]

WATERMARK_PREFIX = b"~wm/"
CHECKPOINT_PREFIX = b"~cp/"
VERSION_HEADER = "v"


def version_header(version: int) -> tuple[str, bytes]:
    return VERSION_HEADER, str(version).encode()


def version_of(headers: Any) -> int:
    """A changelog record's version; -1 without one (then the later record wins)."""
    if not headers:
        return -1
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        if name == VERSION_HEADER:
            return int(value)
    return -1


def write_record(data: MutableMapping[Any, Any], key: Any, value: Any, version: int) -> None:
    """The owner's own write of a row (``value`` None deletes): always applied, and its version
    remembered where ``data`` keeps versions (a VersionedStore), so that a late copy of an older
    row read back from the changelog cannot replace it."""
    versions = getattr(data, "versions", None)
    if versions is not None:
        versions[key] = version
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value


def recover_record(
    data: MutableMapping[Any, Any],
    versions: dict[Any, int],
    key: Any,
    value: Any,
    version: int,
) -> bool:
    """Apply one changelog record in table recovery unless it is older than what ``data``
    holds for ``key`` (a deleted key keeps its version, so a stale row stays deleted);
    ``value`` None deletes. Whether it was applied."""
    known = versions.get(key)
    if known is not None and version < known:
        return False
    versions[key] = version
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    return True


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (pydantic-core's encoder: 5x ``json.dumps`` on an entity row)."""
    return pydantic_core.to_json(value)


def loads(raw: bytes) -> Any:
    return pydantic_core.from_json(raw)


def _fields(value: Any) -> dict[str, Any]:
    """A record's or an aggregate's fields (slotted dataclasses of plain data)."""
    return {name: getattr(value, name) for name in value.__slots__}


def source_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass(slots=True)
class EntityRow:
    partition: int
    record: DossierState | DocumentState
    #: event_id -> [source offset, its facts as encoded (kpi/facts.py)]
    facts: dict[str, list[Any]] = field(default_factory=dict)

    def encode(self) -> bytes:
        return dumps({"p": self.partition, "r": _fields(self.record), "f": self.facts})

    @classmethod
    def decode(cls, raw: bytes, record: type[DossierState | DocumentState]) -> EntityRow:
        data = loads(raw)
        fields = data["r"]
        return cls(data["p"], record(**{**fields, "key": tuple(fields["key"])}), data["f"])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    partition: int
    offset: int  # the last input offset fully handled
    stream_time: float | None  # after it
    unknown: list[AgencyKey]  # the unknown agency pairs admitted

    def encode(self) -> bytes:
        cp = [self.offset, self.stream_time]
        return dumps({"p": self.partition, "cp": cp, "a": self.unknown})

    @classmethod
    def decode(cls, raw: bytes | None, partition: int) -> Checkpoint:
        if raw is None:
            return cls(partition, -1, None, [])
        data = loads(raw)
        offset, stream_time = data["cp"]
        return cls(data["p"], offset, stream_time, [(p, a) for p, a in data.get("a", [])])


@dataclass(slots=True)
class AgencyRow:
    partition: int
    aggregate: AgencyAggregate
    marks: dict[str, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        return dumps({"p": self.partition, "agg": _fields(self.aggregate), "m": self.marks})

    @classmethod
    def decode(cls, raw: bytes) -> AgencyRow:
        data = loads(raw)
        aggregate = AgencyAggregate(**data["agg"])
        aggregate.pending = {k: tuple(v) for k, v in aggregate.pending.items()}  # type: ignore[misc]
        return cls(data["p"], aggregate, data["m"])


def facts_message(items: list[tuple[str, int, list[Any]]]) -> bytes:
    """``items``: (source, source offset, encoded facts)."""
    return dumps({"items": items})
