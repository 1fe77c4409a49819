"""Hunting issue 3's residual SIGKILL loss: the kill test of tests/integration/test_worker.py,
repeated until a run loses something, then every topic of that run is dumped for analysis.

    .venv/bin/python tools/diagnose_kill.py      # up to 6 attempts on one embedded broker

On a mismatch it prints the differences and pickles the facts topic, the entity and agency
changelogs, the input records, the oracle's report and the scraped KPIs next to the two
workers' logs. History: it was written for a loss since fixed (the release fix); later, 1 run
in about 45 ended with the restarted agency stage meeting a fact its state did not fit (cause
not found; now counted in citypulse_facts_inconsistent_total); 35 runs after that all passed.
"""

import sys
import tempfile
import time
from pathlib import Path

from citypulse.producers.profile import Faults, SimulationConfig
from citypulse.producers.simulator import Simulator
from citypulse.schemas import load_reference
from citypulse.tests.support.pipeline import expectation, new_setup, publish
from citypulse.tests.support.scrape import differences, expected_samples
from citypulse.tests.support.worker import WorkerProcess, union_of
from kafka import KafkaConsumer, TopicPartition

from citypulse.broker import EmbeddedBroker

REF = load_reference()
FAULTS = Faults(duplicate=0.02, disorder=0.05, late=0.01, malformed=0.01, pii=0.01)


def read_all(bootstrap, topic):
    c = KafkaConsumer(
        bootstrap_servers=[bootstrap], enable_auto_commit=False, consumer_timeout_ms=3000
    )
    parts = c.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in parts]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    out = [(r.partition, r.offset, r.key, r.value, r.timestamp) for r in c]
    c.close()
    return sorted(out, key=lambda x: (x[0], x[1]))


def attempt(broker, n):
    tmp = Path(tempfile.mkdtemp(prefix="diag"))
    setup = new_setup(broker, f"d{n}{int(time.time()) % 100000}.", tmp)
    messages = Simulator(REF, SimulationConfig(seed=22, faults=FAULTS)).take(20_000)
    publish(broker, setup, messages)
    exp = expectation(setup.records)
    expected = expected_samples(exp.report)
    env = {**setup.env, "CITYPULSE_COMMIT_INTERVAL": "5"}
    first = WorkerProcess(env, tmp / "first.log").start()
    deadline = time.monotonic() + 120
    while first.events_seen() < len(messages) // 3:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    killed_at = time.time()
    first.kill()
    second = WorkerProcess(env, tmp / "second.log").start()
    ok = False
    end = time.monotonic() + 100
    got = None
    while time.monotonic() < end:
        time.sleep(1)
        got = union_of([second])
        if got == expected:
            ok = True
            break
    print(f"attempt {n}: {'OK' if ok else 'MISMATCH'}", flush=True)
    if ok:
        second.stop()
        return False
    diff = differences(got or {}, expected)
    print("\n".join(diff[:40]))
    app = env["CITYPULSE_APP_ID"]
    # dump every topic of this run, with the end offsets the broker reports (BROKER-NOTES #1)
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=[broker.bootstrap])
    names = [t for t in admin.list_topics() if t.startswith(app)]
    admin.close()
    dump = {}
    ends = {}
    for name in names:
        dump[name] = read_all(broker.bootstrap, name)
        c = KafkaConsumer(bootstrap_servers=[broker.bootstrap])
        tps = [TopicPartition(name, p) for p in c.partitions_for_topic(name) or ()]
        ends[name] = {tp.partition: o for tp, o in c.end_offsets(tps).items()}
        c.close()
        print(name, len(dump[name]), "reported end offsets", ends[name])
    import pickle

    with open(tmp / "dump.pkl", "wb") as f:
        pickle.dump(
            {
                "dump": dump,
                "ends": ends,
                "records": setup.records,
                "diff": diff,
                "expected": expected,
                "got": got,
                "env": env,
                "killed_at": killed_at,
                "report": exp.report,
            },
            f,
        )
    print("dump at", tmp / "dump.pkl", "logs", tmp)
    second.stop()
    return True


with EmbeddedBroker() as broker:
    for n in range(int(sys.argv[1]) if len(sys.argv) > 1 else 6):
        if attempt(broker, n):
            break
