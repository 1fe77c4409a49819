"""Recording files, selection and time shifts: exact bytes back, damage named, nothing lost."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citypulse.producers.pacing import paced
from citypulse.producers.recording import (
    Recorded,
    RecordingError,
    RecordingWriter,
    event_time,
    read_recording,
    scan_recording,
)
from citypulse.producers.selection import Selection, rebase_shift, shift_event_times

EVENT = (
    b'{"event_id":"1e70dc85-8216-48da-917f-7d21578a05e0","event_type":"dossier.accepted",'
    b'"schema_version":1,"occurred_at":"2026-03-02T08:00:00+07:00","province":"TTH",'
    b'"agency":"CAT","dossier_id":"D1","due_at":"2026-03-05T17:00:00+07:00"}'
)

records = st.builds(
    Recorded,
    topic=st.sampled_from(["citypulse.dossier-events", "x"]),
    partition=st.integers(0, 7),
    offset=st.integers(0, 10**12),
    timestamp=st.none() | st.integers(0, 2**41),
    key=st.none() | st.binary(max_size=20),
    value=st.none() | st.binary(max_size=200) | st.just(EVENT),
    headers=st.lists(st.tuples(st.text(min_size=1, max_size=5), st.binary(max_size=10)),
                     max_size=3).map(tuple),
)  # fmt: skip


def write(path: Path, rs: list[Recorded], **kw: object) -> dict[str, object]:
    with RecordingWriter(path, source={"test": True}, topics=["x"], start={}, **kw) as w:  # type: ignore[arg-type]
        for r in rs:
            w.write(r)
        return w.close("end")


@given(st.lists(records, max_size=30))
def test_every_byte_comes_back_in_order(
    tmp_path_factory: pytest.TempPathFactory, rs: list[Recorded]
) -> None:
    path = tmp_path_factory.mktemp("r") / "rec.jsonl.gz"
    summary = write(path, rs)
    assert list(read_recording(path)) == rs
    assert summary["records"] == len(rs)


def test_header_and_summary_describe_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    write(path, [Recorded("x", 1, 5, 1000, b"k", EVENT), Recorded("x", 1, 6, 2000, None, b"{")])
    info = scan_recording(path)
    assert info.header["source"] == {"test": True}
    assert info.summary is not None
    assert info.summary["partitions"] == {"x:1": [5, 6]}
    assert info.summary["event_time"][0] == "2026-03-02T01:00:00+00:00"
    assert info.summary["ended"] == "end"
    assert info.records == 2


def test_the_same_records_give_the_same_bytes(tmp_path: Path) -> None:
    rs = [Recorded("x", 0, i, i, b"k", EVENT) for i in range(10)]
    created = datetime(2026, 1, 1, tzinfo=UTC)
    write(tmp_path / "a", rs, created_at=created)
    write(tmp_path / "b", rs, created_at=created)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def lines_of(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(gzip.compress(b"".join(lines)))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda ls: [*ls[:3], b'{"topic": "x", "partition": 0\n', *ls[4:]], "line 4 (after record 2): not JSON"),
        (lambda ls: [*ls[:3], b'{"topic": "x", "partition": -1, "offset": 0}\n', *ls[4:]],
         "line 4 (after record 2): bad record: partition must be an integer >= 0"),
        (lambda ls: ls[:-1], "ends before its summary"),
        (lambda ls: [b'{"hello": 1}\n', *ls[1:]], "line 1: not a citypulse recording"),
        (lambda ls: [*ls, ls[1]], "data after the summary"),
        (lambda ls: ls[:2] + ls[3:], "the summary counts 4 records, the file holds 3"),
    ],
)  # fmt: skip
def test_a_damaged_file_is_refused_naming_the_line(tmp_path: Path, damage, message) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.jsonl.gz"
    write(path, [Recorded("x", 0, i, None, None, EVENT) for i in range(4)])
    rewrite(path, damage(lines_of(path)))
    with pytest.raises(RecordingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scan_recording(path)


def test_a_file_cut_short_is_refused_or_salvaged_up_to_its_last_complete_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.jsonl.gz"
    rs = [Recorded("x", 0, i, None, None, EVENT) for i in range(3000)]
    writer = RecordingWriter(path, source={}, topics=["x"], start={}, sync_every=1000)
    for r in rs:
        writer.write(r)  # killed before close: only the synced part is on disk
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes())
    with pytest.raises(RecordingError, match=r"truncated .* --salvage replays the"):
        scan_recording(cut)
    salvaged = list(read_recording(cut, salvage=True))
    assert 2000 <= len(salvaged) <= 3000
    assert salvaged == rs[: len(salvaged)]
    writer.close("end")


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(b"hello")
    with pytest.raises(RecordingError, match="not a gzip file"):
        scan_recording(path)


def test_selection_by_time_type_and_agency() -> None:
    t = event_time(EVENT)
    assert t == datetime(2026, 3, 2, 1, tzinfo=UTC).timestamp()
    assert event_time(b'{"occurred_at": "2026-03-02T08:00:00+07:00"}') == t  # not compact
    assert (
        event_time(b'{"x":"\\"occurred_at\\":\\"no\\"","occurred_at":"2026-03-02T08:00:00+07:00"}')
        == t
    )
    assert event_time(b'{"occurred_at":"yesterday"}') is None
    assert event_time(b"{broken") is None
    assert Selection().keeps(b"not json")  # no filter: everything, malformed included
    assert not Selection(types=frozenset({"dossier.submitted"})).keeps(EVENT)
    assert Selection(types=frozenset({"dossier.accepted"})).keeps(EVENT)
    assert Selection(agencies=frozenset({"CAT"})).keeps(EVENT)
    assert not Selection(agencies=frozenset({"SXD"})).keeps(EVENT)
    assert Selection(since=t, until=t + 1).keeps(EVENT)
    assert not Selection(since=t + 1).keeps(EVENT)
    assert not Selection(until=t).keeps(EVENT)
    assert not Selection(since=0).keeps(b"not json")  # a filter drops what is not an event


def test_shifting_event_times_moves_occurred_at_and_due_at_and_nothing_else() -> None:
    shifted = json.loads(shift_event_times(EVENT, 86400 + 3600) or b"")
    original = json.loads(EVENT)
    assert shifted["occurred_at"] == "2026-03-03T09:00:00+07:00"
    assert shifted["due_at"] == "2026-03-06T18:00:00+07:00"
    assert {k: v for k, v in shifted.items() if k not in ("occurred_at", "due_at")} == {
        k: v for k, v in original.items() if k not in ("occurred_at", "due_at")
    }
    assert shift_event_times(b"{broken", 60) == b"{broken"
    assert shift_event_times(EVENT, 0) == EVENT


def test_rebasing_puts_the_first_event_at_the_target_time() -> None:
    first = datetime(2026, 3, 2, 1, tzinfo=UTC).timestamp()
    target = "2026-11-22T10:00:00+07:00"
    shift = rebase_shift(target, first, lambda: datetime.now(UTC))
    assert first + shift == datetime.fromisoformat(target).timestamp()
    fixed = datetime(2026, 11, 22, 3, 0, 30, tzinfo=UTC)
    assert rebase_shift("now", first, lambda: fixed) == fixed.timestamp() - first
    with pytest.raises(ValueError, match="UTC offset"):
        rebase_shift("2026-11-22T10:00:00", first, lambda: fixed)


def test_pacing_by_any_time_key() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    times = [100.0, 100.0, 160.0, 130.0, 220.0]  # stream time is what the caller passes
    out = list(paced(times, speed=60, at=lambda t: t, clock=lambda: now[0], sleep=sleep))
    assert out == times
    assert now[0] == pytest.approx(2.0)  # (220 - 100) / 60
