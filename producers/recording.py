"""Recording files: Kafka records kept exactly, in gzip-compressed JSON Lines.

A recording is what ``citypulse record`` captures from topics and ``citypulse simulate --to``
writes without a broker; ``citypulse replay`` sends it back and ``citypulse verify`` computes
its KPIs. One JSON object per line:

1. a **header**: ``{"citypulse_recording": 1, "created_at", "source", "topics", "start"}``;
2. one line per **record**: ``topic``, ``partition``, ``offset``, ``timestamp`` (broker
   timestamp, ms), ``key``, ``value``, ``headers`` (``[[name, value], ...]``). Keys, values
   and header values are strings when the bytes are UTF-8 (almost always: events are JSON),
   else ``{"b64": "..."}``, so every byte comes back exactly;
3. a **summary**, last: ``{"summary": {"records", "topics", "partitions", "event_time",
   "broker_time", "ended"}}``.

The writer flushes the compressed stream every ``sync_every`` records, so even a recorder
killed without warning leaves a file readable up to its last flush (``salvage=True``); a
stopped recorder (end reached, N records, Ctrl-C) always writes the summary and closes the
file properly. Reading checks every line and raises :class:`RecordingError` naming the line
and the record, so a replay can refuse a damaged file before sending anything.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "Recorded",
    "RecordingError",
    "RecordingInfo",
    "RecordingWriter",
    "event_time",
    "read_recording",
    "scan_recording",
    "write_messages",
]

FORMAT_VERSION = 1


class RecordingError(ValueError):
    """A recording that cannot be read: ``line`` (1-based) and ``records`` read before it."""

    def __init__(self, path: Path, line: int, records: int, reason: str) -> None:
        self.path, self.line, self.records, self.reason = path, line, records, reason
        where = f"line {line}" + (f" (after record {records})" if records else "")
        super().__init__(f"{path}: {where}: {reason}")


@dataclass(frozen=True)
class Recorded:
    """One Kafka record as it was in its topic."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None  # broker timestamp, ms since the epoch
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": _encode(self.key),
            "value": _encode(self.value),
            "headers": [[name, _encode(value)] for name, value in self.headers],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recorded:
        topic, partition, offset = data["topic"], data["partition"], data["offset"]
        timestamp = data.get("timestamp")
        if not isinstance(topic, str) or not topic:
            raise ValueError("topic must be a non-empty string")
        for name, number in (("partition", partition), ("offset", offset)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {number!r}")
        if timestamp is not None and not isinstance(timestamp, int):
            raise ValueError(f"timestamp must be an integer (ms) or null, got {timestamp!r}")
        headers = data.get("headers", [])
        if not isinstance(headers, list):
            raise ValueError("headers must be a list of [name, value]")
        return cls(
            topic,
            partition,
            offset,
            timestamp,
            _decode(data.get("key")),
            _decode(data.get("value")),
            tuple((str(name), _decode(value) or b"") for name, value in headers),
        )


def _encode(data: bytes | None) -> str | dict[str, str] | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def _decode(data: object) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, dict) and isinstance(data.get("b64"), str):
        return base64.b64decode(data["b64"], validate=True)
    raise ValueError(f"bytes must be a string, {{'b64': ...}} or null, got {data!r}")


_OCCURRED = b'"occurred_at":"'


def event_time(value: bytes | None) -> float | None:
    """``occurred_at`` of an event's JSON value, in unix seconds; None if it has none.

    Reads the field straight from compact JSON (what every producer here writes: three times
    faster than parsing it all), and parses the whole value only when that fails."""
    if not value:
        return None
    at = value.find(_OCCURRED)
    if at >= 0:
        start = at + len(_OCCURRED)
        end = value.find(b'"', start)
        try:
            return datetime.fromisoformat(value[start:end].decode()).timestamp()
        except ValueError:
            pass
    try:
        occurred = json.loads(value).get("occurred_at")
        return datetime.fromisoformat(occurred).timestamp() if isinstance(occurred, str) else None
    except (ValueError, AttributeError, TypeError):
        return None


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


@dataclass
class _Tally:
    records: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    partitions: dict[str, list[int]] = field(default_factory=dict)  # "t:p" -> [first, last]
    event_min: float | None = None
    event_max: float | None = None
    broker_min: int | None = None
    broker_max: int | None = None

    def add(self, r: Recorded) -> None:
        self.records += 1
        self.topics[r.topic] += 1
        span = self.partitions.setdefault(f"{r.topic}:{r.partition}", [r.offset, r.offset])
        span[1] = r.offset
        t = event_time(r.value)
        if t is not None:
            self.event_min = t if self.event_min is None else min(self.event_min, t)
            self.event_max = t if self.event_max is None else max(self.event_max, t)
        if r.timestamp is not None:
            self.broker_min = min(self.broker_min or r.timestamp, r.timestamp)
            self.broker_max = max(self.broker_max or r.timestamp, r.timestamp)

    def summary(self, ended: str) -> dict[str, Any]:
        return {
            "records": self.records,
            "topics": dict(sorted(self.topics.items())),
            "partitions": dict(sorted(self.partitions.items())),
            "event_time": [_iso(self.event_min), _iso(self.event_max)],
            "broker_time": [
                _iso(None if self.broker_min is None else self.broker_min / 1000),
                _iso(None if self.broker_max is None else self.broker_max / 1000),
            ],
            "ended": ended,
        }


class RecordingWriter:
    """Writes a recording; use as a context manager, or call :meth:`close` with the reason."""

    def __init__(
        self,
        path: Path,
        *,
        source: Mapping[str, Any],
        topics: list[str],
        start: Mapping[str, Any],
        created_at: datetime | None = None,
        sync_every: int = 1000,
    ) -> None:
        self.path = path
        self.sync_every = sync_every
        self.tally = _Tally()
        self.closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = path.open("wb")
        # mtime=0: the same records give the same bytes (checked-in scenarios regenerate exactly)
        self._gzip = gzip.GzipFile(filename="", fileobj=self._raw, mode="wb", mtime=0)
        created = (created_at or datetime.now(UTC)).isoformat()
        self._line(
            {
                "citypulse_recording": FORMAT_VERSION,
                "created_at": created,
                "source": dict(source),
                "topics": topics,
                "start": dict(start),
            }
        )

    def _line(self, data: Mapping[str, Any]) -> None:
        self._gzip.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
        self._gzip.write(b"\n")

    def write(self, record: Recorded) -> None:
        self._line(record.to_json())
        self.tally.add(record)
        if self.tally.records % self.sync_every == 0:
            self.sync()

    def sync(self) -> None:
        """Make everything written so far readable even if the process dies next."""
        self._gzip.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()

    @property
    def bytes_written(self) -> int:
        return self._raw.tell()

    def close(self, ended: str) -> dict[str, Any]:
        """Write the summary (``ended`` says why the recording stopped) and close the file."""
        summary = self.tally.summary(ended)
        if not self.closed:
            self._line({"summary": summary})
            self._gzip.close()
            self._raw.close()
            self.closed = True
        return summary

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close("interrupted" if isinstance(e, KeyboardInterrupt) else "error" if e else "end")


@dataclass
class RecordingInfo:
    header: dict[str, Any]
    summary: dict[str, Any] | None  # None: the file ends before its summary (salvaged)
    records: int
    event_min: float | None
    event_max: float | None


def _lines(stream: gzip.GzipFile) -> Iterator[tuple[int, bytes]]:
    number = 0
    while True:
        try:
            line = stream.readline()
        except gzip.BadGzipFile:
            raise
        except (EOFError, OSError, zlib.error) as exc:
            raise _Truncated(number + 1, str(exc) or type(exc).__name__) from exc
        if not line:
            return
        number += 1
        yield number, line


class _Truncated(Exception):
    def __init__(self, line: int, detail: str) -> None:
        self.line, self.detail = line, detail


def read_recording(
    path: Path, *, salvage: bool = False, info: RecordingInfo | None = None
) -> Iterator[Recorded]:
    """The records of a recording, in file order. Raises :class:`RecordingError` at the first
    damaged line; with ``salvage``, a file that merely ends early (a recorder killed without
    warning) yields its complete records and stops. ``info`` is filled in as it goes."""
    records = 0
    header: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    tally = _Tally()
    try:
        with gzip.open(path, "rb") as stream:
            for number, line in _lines(stream):
                if not line.endswith(b"\n"):
                    raise _Truncated(number, "the last line is incomplete")
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    raise RecordingError(path, number, records, f"not JSON: {exc}") from exc
                if not isinstance(data, dict):
                    raise RecordingError(path, number, records, "not a JSON object")
                if header is None:
                    if data.get("citypulse_recording") != FORMAT_VERSION:
                        raise RecordingError(
                            path, number, 0, "not a citypulse recording (no header)"
                        )
                    header = data
                    continue
                if summary is not None:
                    raise RecordingError(path, number, records, "data after the summary")
                if "summary" in data:
                    summary = data["summary"]
                    if summary.get("records") != records:
                        raise RecordingError(
                            path,
                            number,
                            records,
                            f"the summary counts {summary.get('records')} records, "
                            f"the file holds {records}",
                        )
                    continue
                try:
                    record = Recorded.from_json(data)
                except (KeyError, ValueError, TypeError) as exc:
                    raise RecordingError(path, number, records, f"bad record: {exc}") from exc
                records += 1
                if info is not None:  # the event-time range costs a parse per record
                    tally.add(record)
                yield record
    except _Truncated as cut:
        if not salvage:
            raise RecordingError(
                path,
                cut.line,
                records,
                f"the file is truncated ({cut.detail}); --salvage replays the {records} "
                "complete records",
            ) from None
    except (gzip.BadGzipFile, OSError) as exc:
        raise RecordingError(path, 1, records, f"not a gzip file: {exc}") from exc
    if header is None:
        raise RecordingError(path, 1, 0, "empty file: not a citypulse recording")
    if summary is None and not salvage:
        raise RecordingError(path, records + 2, records, "the file ends before its summary")
    if info is not None:
        info.header, info.summary, info.records = header, summary, records
        info.event_min, info.event_max = tally.event_min, tally.event_max


def scan_recording(path: Path, *, salvage: bool = False) -> RecordingInfo:
    """Read the whole file once: its header, summary, count and event-time range, or the
    :class:`RecordingError` of its first damaged line."""
    info = RecordingInfo({}, None, 0, None, None)
    for _ in read_recording(path, salvage=salvage, info=info):
        pass
    return info


def write_messages(
    path: Path,
    messages: Iterable[Any],
    *,
    topics: Mapping[str, str],
    partitions: int,
    source: Mapping[str, Any],
    created_at: datetime,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Write producer messages (``topic``, ``key``, ``value``, ``at``: e.g. the simulator's) as a
    recording, without a broker: each in the partition Kafka's default partitioner gives its
    key (murmur2), with consecutive offsets per partition and ``at`` as the timestamp.
    ``topics`` maps a message's topic to the recorded name; ``stop()`` true ends the file
    between two records (Ctrl-C). Returns the summary."""
    from kafka.partitioner.default import murmur2

    offsets: Counter[tuple[str, int]] = Counter()
    with RecordingWriter(
        path,
        source=source,
        topics=list(dict.fromkeys(topics.values())),
        start={"mode": "written"},
        created_at=created_at,
    ) as writer:
        for m in messages:
            if stop():
                return writer.close("interrupted")
            topic = topics[m.topic]
            partition = (murmur2(m.key) & 0x7FFFFFFF) % partitions
            offset = offsets[(topic, partition)]
            offsets[(topic, partition)] += 1
            writer.write(Recorded(topic, partition, offset, int(m.at * 1000), m.key, m.value))
        return writer.close("end")
