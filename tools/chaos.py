"""Chaos runs on the embedded broker: workers killed, frozen and stopped while a faulty stream
is produced; the union of their /metrics must equal the oracle exactly.

    .venv/bin/python tools/chaos.py --workers 2 --seed 1 --runs 10
    make chaos WORKERS=3 SEED=7 RUNS=10

Each run gets a fresh broker and prints one verdict line (EXACT or WRONG). A wrong run keeps
its directory (worker logs, fault schedule, differences, every record of its topics in
topics.jsonl.gz; the seed replays its schedule); an
exact run's directory is removed unless --keep. Exit status 1 if any run was wrong.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.support

from citypulse.broker import EmbeddedBroker
from tests.support.chaos import ChaosConfig, run_chaos, schedule


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seed", type=int, default=1, help="first seed (run n uses seed + n)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--produce-seconds", type=float, default=60.0)
    p.add_argument("--kills", type=int, default=4)
    p.add_argument("--freezes", type=int, default=1)
    p.add_argument("--terms", type=int, default=1)
    p.add_argument("--settle-timeout", type=float, default=180.0)
    p.add_argument("--log-level", default="WARNING")
    p.add_argument(
        "--provinces", default="TTH,HYN", help="provinces simulated together, comma-separated"
    )
    p.add_argument("--logs", type=Path, default=None, help="where run directories go")
    p.add_argument("--keep", action="store_true", help="keep the logs of exact runs too")
    p.add_argument("--show-schedule", action="store_true", help="print the schedule and exit")
    args = p.parse_args()

    base = args.logs or Path(tempfile.mkdtemp(prefix="citypulse-chaos-"))
    base.mkdir(parents=True, exist_ok=True)
    wrong = 0
    settled: list[float] = []
    for n in range(args.runs):
        config = ChaosConfig(
            seed=args.seed + n,
            workers=args.workers,
            events=args.events,
            produce_seconds=args.produce_seconds,
            kills=args.kills,
            freezes=args.freezes,
            terms=args.terms,
            settle_timeout=args.settle_timeout,
            log_level=args.log_level,
            provinces=tuple(args.provinces.split(",")),
        )
        if args.show_schedule:
            print(config)
            print("\n".join(str(f) for f in schedule(config)))
            continue
        logs = base / f"seed{config.seed}-w{config.workers}"
        with EmbeddedBroker(log_dir=base) as broker:
            result = run_chaos(broker, config, logs)
        print(result.verdict(), flush=True)
        for problem in result.problems[1:4]:
            print(f"    {problem}", flush=True)
        if result.exact:
            assert result.settled_after is not None
            settled.append(result.settled_after)
            if not args.keep:
                shutil.rmtree(logs, ignore_errors=True)
        else:
            wrong += 1
    if args.runs > 1 and not args.show_schedule:
        worst = f", slowest settle {max(settled):.1f}s" if settled else ""
        print(f"{args.runs - wrong} of {args.runs} runs exact{worst}; logs under {base}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
