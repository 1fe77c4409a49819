"""Record and replay against the real broker: exact round trips, paced replays, a rebased
replay that the worker turns into exactly what `verify` computed, interrupted recordings
and damaged files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from rich.console import Console

from citypulse.broker import EmbeddedBroker
from citypulse.cli import main
from citypulse.commands.verify import as_prometheus, verify
from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.publisher import Publisher
from citypulse.producers.recording import (
    Recorded,
    RecordingWriter,
    event_time,
    read_recording,
    scan_recording,
)
from citypulse.producers.simulator import Simulator
from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, load_reference
from citypulse.settings import Settings
from citypulse.topic_admin import ensure_topics
from tests.support.samples import kpi_samples
from tests.support.worker import WorkerProcess, eventually_equal

pytestmark = pytest.mark.integration

REF = load_reference()
PARTITIONS = 4


def run(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    console = Console(record=True, width=200)
    code = main(argv, console=console)
    return code, console.export_text()


Row = tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...], int | None]


def by_partition(path: Path, strip: str = "") -> dict[tuple[str, int], list[Row]]:
    out: dict[tuple[str, int], list[Row]] = {}
    for r in read_recording(path):
        out.setdefault((r.topic.removeprefix(strip), r.partition), []).append(
            (r.key, r.value, r.headers, r.timestamp)
        )
    return out


def test_record_replay_record_gives_identical_keys_values_headers_and_order(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = {c: f"{topic_prefix}{c}" for c in (DOSSIER_TOPIC, DOCUMENT_TOPIC)}
    ensure_topics([broker.bootstrap], source.values(), PARTITIONS)
    publisher = Publisher([broker.bootstrap])
    faults = Faults(duplicate=0.02, malformed=0.02, pii=0.01)
    for i, m in enumerate(Simulator(REF, SimulationConfig(seed=3, faults=faults)).take(6000)):
        headers = [("upstream", b"portal-%d" % (i % 3)), ("raw", bytes([i % 256, 255]))]
        publisher.send(m, topic=source[m.topic], headers=headers if i % 2 else None)
    assert publisher.close().ok
    env = {"CITYPULSE_BROKER": broker.url}
    first, second = tmp_path / "first.jsonl.gz", tmp_path / "second.jsonl.gz"
    topics = [a for t in source.values() for a in ("--topic", t)]

    code, out = run(["record", "--out", str(first), *topics], env, monkeypatch)
    assert code == 0, out
    assert scan_recording(first).records == 6000
    code, out = run(["replay", str(first), "--topic-prefix", "copy."], env, monkeypatch)
    assert code == 0, out
    assert "sent 6,000 · failed 0" in out
    copies = [a for t in source.values() for a in ("--topic", f"copy.{t}")]
    code, out = run(["record", "--out", str(second), *copies], env, monkeypatch)
    assert code == 0, out

    original, copied = by_partition(first), by_partition(second, strip="copy.")
    assert copied == original  # keys, values, headers, timestamps, per-partition order
    assert any(h for rows in original.values() for _, _, h, _ in rows)  # headers were there
    assert any(
        b"\xff" in v for rows in original.values() for _, _, hs, _ in rows for _, v in hs
    )  # and bytes that are not UTF-8 came back exactly


def test_replay_at_speed_n_is_paced_within_5_percent(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ten-minutes.jsonl.gz"
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    with RecordingWriter(path, source={}, topics=["t"], start={}) as writer:
        for i in range(1201):  # one event every half second of event time, over 600 s
            at = (start + timedelta(seconds=i / 2)).isoformat()
            value = json.dumps({"occurred_at": at, "n": i}).encode()
            writer.write(Recorded("t", i % PARTITIONS, i // PARTITIONS, None, None, value))
    began = time.monotonic()
    code, out = run(
        ["replay", str(path), "--speed", "60", "--topic-prefix", topic_prefix],
        {"CITYPULSE_BROKER": broker.url},
        monkeypatch,
    )
    took = time.monotonic() - began
    assert code == 0, out
    assert 9.5 <= took <= 10.5, f"600 s of event time at x60 took {took:.2f} s, not 10 s"


def test_a_rebased_replay_processed_by_the_worker_shows_what_verify_computed(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "sim.jsonl.gz"
    faults = ["--duplicate", "0.02", "--disorder", "0.05", "--late", "0.01", "--malformed", "0.01"]
    code, out = run(
        ["simulate", "--to", str(recording), "--events", "12000", "--seed", "11", *faults],
        {},
        monkeypatch,
    )
    assert code == 0, out
    target = "2026-11-20T07:00:00+07:00"  # what `--rebase-time now` printed, say
    prefix = topic_prefix
    env = {
        "CITYPULSE_BROKER": broker.url,
        "CITYPULSE_DOSSIER_TOPIC": f"{prefix}{DOSSIER_TOPIC}",
        "CITYPULSE_DOCUMENT_TOPIC": f"{prefix}{DOCUMENT_TOPIC}",
        "CITYPULSE_DEAD_LETTER_TOPIC": f"{prefix}dead-letter",
        "CITYPULSE_APP_ID": f"{prefix}app",
        "CITYPULSE_LOG_LEVEL": "WARNING",
    }
    code, out = run(
        ["replay", str(recording), "--rebase-time", target, "--topic-prefix", prefix],
        env,
        monkeypatch,
    )
    assert code == 0, out
    assert f"first event at {datetime.fromisoformat(target).astimezone(UTC).isoformat()}" in out

    from citypulse.commands.replay import ReplayOptions

    verified = verify(Settings(), ReplayOptions(recording, rebase_time=target))
    expected = kpi_samples(as_prometheus(verified.report))
    assert len(expected) > 2000
    assert verified.report.day >= "2026-11-20"  # the shift is in the KPIs: today is rebased
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        eventually_equal([worker], expected, timeout=240)


def test_an_interrupted_recording_is_a_valid_file_up_to_its_last_record(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}big"
    ensure_topics([broker.bootstrap], [topic], PARTITIONS)
    publisher = Publisher([broker.bootstrap])
    for i in range(60_000):
        publisher.send_record(topic, b"%d" % (i % 97), b'{"n": %d, "pad": "%s"}' % (i, b"x" * 200))
    assert publisher.close().ok
    path = tmp_path / "cut.jsonl.gz"
    script = Path(sys.executable).parent / "citypulse"
    env = {**os.environ, "CITYPULSE_BROKER": broker.url}
    process = subprocess.Popen(
        [str(script), "record", "--topic", topic, "--out", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not path.exists() or path.stat().st_size < 300_000:
        assert process.poll() is None, process.communicate()[0].decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    info = scan_recording(path)  # strict: a complete, valid file
    assert info.summary is not None
    assert info.summary["ended"] == "interrupted", output
    assert 0 < info.records < 60_000
    offsets: dict[int, list[int]] = {}
    for r in read_recording(path):
        offsets.setdefault(r.partition, []).append(r.offset)
    for partition, seen in offsets.items():  # a prefix of each partition, nothing skipped
        assert seen == list(range(seen[0], seen[0] + len(seen))), partition


def test_a_damaged_recording_is_refused_by_line_and_nothing_is_sent(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.jsonl.gz"
    with RecordingWriter(good, source={}, topics=["t"], start={}) as writer:
        for i in range(5000):
            writer.write(Recorded("t", 0, i, None, b"k", b'{"n": %d}' % i))
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    code, out = run(
        ["replay", str(truncated), "--topic-prefix", topic_prefix],
        {"CITYPULSE_BROKER": broker.url},
        monkeypatch,
    )
    assert code == 2
    assert "truncated" in out
    assert "line " in out
    assert "nothing was sent" in out
    admin = KafkaAdminClient(bootstrap_servers=[broker.bootstrap])
    try:
        assert f"{topic_prefix}t" not in admin.list_topics()  # not even created
    finally:
        admin.close()


def test_record_from_an_event_time_from_offsets_or_for_n_records(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"{topic_prefix}{DOSSIER_TOPIC}"
    ensure_topics([broker.bootstrap], [topic], PARTITIONS)
    publisher = Publisher([broker.bootstrap])
    messages = [m for m in Simulator(REF, SimulationConfig(seed=4)).take(6000)
                if m.topic == DOSSIER_TOPIC]  # fmt: skip
    for m in messages:
        publisher.send(m, topic=topic)
    assert publisher.close().ok
    env = {"CITYPULSE_BROKER": broker.url}
    everything = tmp_path / "all.jsonl.gz"
    assert run(["record", "--topic", topic, "--out", str(everything)], env, monkeypatch)[0] == 0
    rows: dict[int, list[Recorded]] = {}
    for r in read_recording(everything):
        rows.setdefault(r.partition, []).append(r)

    # from a point in time: each partition from its first event at or after it
    middle = event_time(messages[len(messages) // 2].value) or 0.0
    since = datetime.fromtimestamp(int(middle), UTC)
    later = tmp_path / "since.jsonl.gz"
    code, out = run(["record", "--topic", topic, "--since", since.isoformat(), "--out",
                     str(later)], env, monkeypatch)  # fmt: skip
    assert code == 0, out
    got: dict[int, list[Recorded]] = {}
    for r in read_recording(later):
        got.setdefault(r.partition, []).append(r)
    for partition, recorded in rows.items():
        first = next(
            i for i, r in enumerate(recorded) if (event_time(r.value) or 0) >= since.timestamp()
        )
        assert got[partition] == recorded[first:], partition
    assert scan_recording(later).header["start"] == {
        "mode": "event_time",
        "since": since.isoformat(),
    }

    # from offsets, and at most N records
    part = tmp_path / "part.jsonl.gz"
    code, out = run(["record", "--topic", topic, "--from-offset", f"{topic}:1:100",
                     "--max-records", "50", "--out", str(part)], env, monkeypatch)  # fmt: skip
    assert code == 0, out
    info = scan_recording(part)
    assert info.records == 50
    assert info.summary is not None
    assert info.summary["ended"] == "max_records"
    assert all(r.offset >= 100 for r in read_recording(part) if r.partition == 1)
