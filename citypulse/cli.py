"""The ``citypulse`` command: parse, build from settings, hand over. One console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from citypulse import __version__

from .settings import Settings

RULES_FILE = Path("deploy/prometheus/rules/citypulse.rules.yml")
DASHBOARD_DIR = Path("deploy/grafana/dashboards")
PICTURE_DIR = Path("docs/dashboards")

__all__ = ["main"]

_SETTINGS_HELP = "settings (environment variables):\n" + "\n".join(
    f"  CITYPULSE_{name.upper():<24} {field.description or ''} (default: {field.default})"
    for name, field in Settings.model_fields.items()
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citypulse",
        description="Live e-government KPIs for a Smart City Monitoring and Control Centre.",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"citypulse {__version__}")
    parser.add_argument(
        "--broker",
        metavar="kafka://HOST:PORT",
        help="an existing Kafka (overrides CITYPULSE_BROKER)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    broker = sub.add_parser(
        "broker", help="run the embedded broker in the foreground (Ctrl-C stops it)"
    )
    broker.add_argument("--port", type=int, default=9092, help="loopback port (default 9092)")

    topics = sub.add_parser("topics", help="Kafka topics")
    topics_sub = topics.add_subparsers(dest="action", required=True)
    topics_sub.add_parser("create", help="create citypulse's topics if missing (idempotent)")

    sub.add_parser(
        "worker",
        help="run the KPI worker (Faust) with /metrics on CITYPULSE_HTTP_PORT",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    simulate = sub.add_parser(
        "simulate",
        help="stream the simulator into the input topics",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = simulate.add_mutually_exclusive_group()
    size.add_argument("--events", type=int, help="stop after N messages")
    size.add_argument("--hours", type=float, help="stop after H simulated hours")
    pace = simulate.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="messages per second")
    pace.add_argument("--speed", type=float, help="simulated seconds per real second")
    simulate.add_argument("--seed", type=int, default=42)
    for fault in ("duplicate", "disorder", "late", "malformed", "pii"):
        simulate.add_argument(
            f"--{fault}",
            type=float,
            default=0.0,
            metavar="RATE",
            help=f"inject {fault} faults at this rate per event (0-1)",
        )

    simulate.add_argument(
        "--to",
        type=Path,
        metavar="FILE",
        help="write a recording file instead of sending (no broker; replay it later)",
    )
    simulate.add_argument(
        "--late-agency",
        action="append",
        default=[],
        metavar="CODE=SHARE",
        help="a degraded agency: its share of late resolutions (repeatable), e.g. CAT=0.6",
    )

    record = sub.add_parser(
        "record",
        help="capture topics into a recording file",
        description="Capture topics into a recording file (gzip JSON Lines: header, records, "
        "summary). Stops at the end offsets seen at start, after --max-records, or on Ctrl-C, "
        "leaving a valid file in every case.",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    record.add_argument("--out", type=Path, required=True, metavar="FILE", help="file to write")
    record.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="TOPIC",
        help="topic to record (repeatable; default: the two input topics)",
    )
    start = record.add_mutually_exclusive_group()
    start.add_argument(
        "--from-offset",
        action="append",
        default=[],
        metavar="TOPIC:PARTITION:OFFSET",
        help="start this partition at this offset (repeatable; others from the beginning)",
    )
    start.add_argument(
        "--since",
        metavar="TIME",
        help="start each partition at its first event with occurred_at >= TIME (ISO 8601 "
        "with offset), found by reading the partition",
    )
    record.add_argument("--max-records", type=int, metavar="N", help="stop after N records")
    record.add_argument(
        "--idle-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="stop when nothing arrives for S seconds before the end (default 10)",
    )

    replay = sub.add_parser(
        "replay",
        help="send a recording into topics",
        description="Send a recording back into topics, keeping keys, values, headers and "
        "partitions. The whole file is checked first: a damaged or truncated file fails with "
        "the line and record where it breaks, and nothing is sent.",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("file", type=Path)
    replay_pace = replay.add_mutually_exclusive_group()
    replay_pace.add_argument(
        "--speed", type=float, help="paced by event time, N x real time (60: an hour a minute)"
    )
    replay_pace.add_argument("--rate", type=float, help="records per second")
    replay.add_argument(
        "--topic-prefix", default="", metavar="P", help="send to P<topic> (e.g. test.)"
    )
    _replay_arguments(replay)

    verify = sub.add_parser(
        "verify",
        help="compute the KPIs a recording must produce, offline",
        description="Compute the KPIs of a recording with the core engine (one engine per "
        "recorded partition, as the worker), after the same selection and time shift a replay "
        "would apply: what /metrics must show once the worker has processed the replay.",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--format", choices=("table", "json", "prometheus"), default="table", help="output"
    )
    _replay_arguments(verify)

    demo = sub.add_parser(
        "demo",
        help="broker + worker + simulator, live KPI table from the worker's /metrics "
        "(embedded broker unless CITYPULSE_BROKER is set)",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    demo.add_argument(
        "--hours", type=float, help="simulated hours to run (default: until Ctrl-C; offline: 72)"
    )
    demo.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per real second (default 1800; offline 14400); 0: flat out",
    )
    demo.add_argument(
        "--offline", action="store_true", help="no Kafka: fold the simulator in this process"
    )
    demo.add_argument("--no-faults", action="store_true", help="do not inject upstream faults")

    schemas = sub.add_parser("schemas", help="event schemas")
    schemas_sub = schemas.add_subparsers(dest="action", required=True)
    export = schemas_sub.add_parser("export", help="write a JSON Schema per input topic")
    export.add_argument("directory", type=Path)

    alerts = sub.add_parser("alerts", help="Prometheus alerting and recording rules")
    alerts_sub = alerts.add_subparsers(dest="action", required=True)
    render = alerts_sub.add_parser(
        "render", help="write the rule file generated from the KPI threshold table"
    )
    render.add_argument(
        "--out", type=Path, default=RULES_FILE, help=f"rule file to write (default {RULES_FILE})"
    )

    dashboards = sub.add_parser(
        "dashboards",
        help="Grafana dashboards",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dashboards_sub = dashboards.add_subparsers(dest="action", required=True)
    render_dashboards = dashboards_sub.add_parser(
        "render", help="write the dashboards' JSON (the provisioned files) and layout pictures"
    )
    render_dashboards.add_argument(
        "--out",
        type=Path,
        default=DASHBOARD_DIR,
        help=f"directory to write to (default {DASHBOARD_DIR})",
    )
    render_dashboards.add_argument(
        "--pictures",
        type=Path,
        default=PICTURE_DIR,
        help=f"directory for the layout pictures (SVG, default {PICTURE_DIR})",
    )
    push = dashboards_sub.add_parser(
        "push",
        help="create the folder and datasource if missing, upsert the dashboards by uid",
        description="Credentials: CITYPULSE_GRAFANA_TOKEN, or CITYPULSE_GRAFANA_USER and "
        "CITYPULSE_GRAFANA_PASSWORD. Exits 1 with the HTTP status and message on any error.",
    )
    push.add_argument("--grafana-url", help="Grafana base URL (CITYPULSE_GRAFANA_URL)")
    push.add_argument(
        "--prometheus-url",
        help="Prometheus URL of a created datasource (CITYPULSE_PROMETHEUS_URL)",
    )
    return parser


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    """Selection and time shift, shared by replay and verify (so both see the same stream)."""
    parser.add_argument(
        "--rebase-time",
        metavar="now|TIME",
        help="shift occurred_at/due_at so the first event happens at TIME (ISO 8601 with "
        "offset) or now; replay prints the time it used, give verify that time",
    )
    parser.add_argument("--since", metavar="TIME", help="only events with occurred_at >= TIME")
    parser.add_argument("--until", metavar="TIME", help="only events with occurred_at < TIME")
    parser.add_argument("--types", metavar="T,T", help="only these event types")
    parser.add_argument("--agencies", metavar="A,A", help="only these agency codes")
    parser.add_argument(
        "--salvage",
        action="store_true",
        help="accept a file that ends early (a killed recorder): use its complete records",
    )


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset (e.g. 2026-03-02T08:00:00+07:00)")
    return when


def _replay_options(args: argparse.Namespace) -> Any:
    from citypulse.producers.selection import Selection

    from .replay import ReplayOptions

    def names(text: str | None) -> frozenset[str] | None:
        return None if text is None else frozenset(n.strip() for n in text.split(",") if n.strip())

    since, until = _time(args.since), _time(args.until)
    if args.rebase_time not in (None, "now"):
        _time(args.rebase_time)
    selection = Selection(
        None if since is None else since.timestamp(),
        None if until is None else until.timestamp(),
        names(args.types),
        names(args.agencies),
    )
    return ReplayOptions(
        args.file,
        speed=getattr(args, "speed", None),
        rate=getattr(args, "rate", None),
        rebase_time=args.rebase_time,
        selection=selection,
        topic_prefix=getattr(args, "topic_prefix", ""),
        salvage=args.salvage,
    )


def _sigterm_as_interrupt() -> None:
    """SIGTERM (docker stop, kill) shuts down like Ctrl-C: brokers and workers stop cleanly."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    settings = Settings(**({"broker": args.broker} if args.broker else {}))
    if args.command == "broker":
        return _run_broker(args.port, console)
    if args.command == "simulate" and args.to is not None:
        return _simulate_to_file(args, settings, console)
    if args.command == "verify":
        return _verify(args, settings, console)
    if args.command in ("topics", "simulate", "worker", "record", "replay") and not (
        settings.bootstrap_servers
    ):
        console.print(
            "[red]no broker: set CITYPULSE_BROKER=kafka://host:port or pass --broker "
            "(`citypulse broker` runs one)[/red]"
        )
        return 2
    if args.command == "topics":
        from . import bootstrap

        report = bootstrap.create_topics(settings)
        created, existing = ", ".join(report.created) or "-", ", ".join(report.existing) or "-"
        console.print(f"created: {created}; existing: {existing}")
        for topic, count in report.mismatched.items():
            console.print(
                f"[yellow]{topic} has {count} partitions, not {settings.partitions}[/yellow]"
            )
        return 0
    if args.command == "worker":
        from .worker import run_worker

        run_worker(settings)
        return 0
    if args.command == "simulate":
        from .simulate import simulate_to_kafka

        simulate_options = _simulate_options(args)
        return 0 if simulate_to_kafka(settings, simulate_options, console).ok else 1
    if args.command == "record":
        return _record(args, settings, console)
    if args.command == "replay":
        return _replay(args, settings, console)
    if args.command == "alerts":
        from citypulse.dashboards.alerts import render, rule_groups

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(rule_groups()))
        console.print(f"wrote {args.out}")
        return 0
    if args.command == "dashboards":
        return _dashboards(args, settings, console)
    if args.command == "schemas":
        from citypulse.schemas.export import export_json_schemas

        for path in export_json_schemas(args.directory):
            console.print(f"wrote {path}")
        return 0
    if args.command == "demo":
        from . import demo

        if args.offline:
            offline = demo.DemoOptions(
                seed=args.seed,
                hours=72.0 if args.hours is None else args.hours,
                speed=(4 * 3600.0 if args.speed is None else args.speed) or None,
                faults=not args.no_faults,
            )
            demo.run_offline_demo(settings, offline, console)
            return 0
        live = demo.LiveDemoOptions(
            seed=args.seed,
            hours=args.hours,
            speed=(1800.0 if args.speed is None else args.speed) or None,
            faults=not args.no_faults,
        )
        return demo.run_demo(settings, live, console)
    raise AssertionError(args.command)  # argparse rejects unknown commands


def _run_broker(port: int, console: Console) -> int:
    import time

    from .broker import EmbeddedBroker

    with EmbeddedBroker(port=port) as broker:
        console.print(f"embedded broker at {broker.url} (memory storage; log {broker.log_path})")
        console.print(f"  export CITYPULSE_BROKER={broker.url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping the embedded broker")
    return 0


def entrypoint() -> None:
    """The console script: SIGTERM handled like Ctrl-C."""
    _sigterm_as_interrupt()
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()


def _dashboards(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from citypulse.dashboards import render as dashboards

    if args.action == "render":
        for path in dashboards.write(args.out, args.pictures):
            console.print(f"wrote {path}")
        return 0
    from citypulse.dashboards.push import PushError, connect, push

    url = args.grafana_url or settings.grafana_url
    secret = settings.grafana_token or None
    password = settings.grafana_password
    api = connect(
        url,
        secret.get_secret_value() if secret else None,
        settings.grafana_user,
        password.get_secret_value() if password else None,
    )
    boards = {uid: dashboards.to_json(build()) for uid, build in dashboards.BUILDERS.items()}
    try:
        result = push(
            api,
            boards,
            folder_uid="citypulse",
            folder_title=settings.grafana_folder,
            prometheus_url=args.prometheus_url or settings.prometheus_url,
        )
    except PushError as exc:
        console.print(f"dashboards push to {url}: {exc}", style="red", markup=False)
        return 1
    if result.folder_created:
        console.print(f"created folder {settings.grafana_folder!r}")
    if result.datasource_created:
        console.print("created datasource citypulse-prometheus")
    for where in result.dashboards:
        console.print(f"upserted {where}")
    return 0


def _late_shares(pairs: list[str]) -> dict[str, float]:
    shares = {}
    for pair in pairs:
        code, _, share = pair.partition("=")
        shares[code] = float(share)
    return shares


def _simulate_options(args: argparse.Namespace) -> Any:
    from citypulse.producers.profile import Faults

    from .simulate import SimulateOptions

    faults = Faults(
        duplicate=args.duplicate,
        disorder=args.disorder,
        late=args.late,
        malformed=args.malformed,
        pii=args.pii,
    )
    return SimulateOptions(
        events=args.events,
        hours=args.hours,
        rate=args.rate,
        speed=args.speed,
        seed=args.seed,
        faults=faults,
        late_share=_late_shares(args.late_agency),
    )


def _simulate_to_file(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from .simulate import simulate_to_file

    if args.events is None and args.hours is None:
        console.print("[red]simulate --to FILE needs --events N or --hours H[/red]")
        return 2
    if args.rate is not None or args.speed is not None:
        console.print("[red]simulate --to FILE writes as fast as it can: no --rate/--speed[/red]")
        return 2
    simulate_to_file(settings, _simulate_options(args), args.to, console)
    return 0


def _record(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from .record import RecordError, RecordOptions, record

    offsets = {}
    try:
        for spec in args.from_offset:
            topic, partition, offset = spec.rsplit(":", 2)
            offsets[(topic, int(partition))] = int(offset)
        options = RecordOptions(
            topics=args.topics or list(settings.input_topics),
            out=args.out,
            offsets=offsets,
            since=_time(args.since),
            max_records=args.max_records,
            idle_timeout=args.idle_timeout,
        )
        record(settings, options, console)
    except (RecordError, ValueError) as exc:
        console.print(f"record: {exc}", style="red", markup=False)
        return 2
    return 0


def _replay(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from citypulse.producers.recording import RecordingError

    from .replay import plan_replay, replay

    try:
        options = _replay_options(args)
        plan = plan_replay(options)
        if plan.shift:
            first = datetime.fromtimestamp((plan.first_event or 0) + plan.shift, UTC)
            console.print(
                f"rebased: event times shifted by {plan.shift:+,.0f} s; first event at "
                f"{first.isoformat()} (give verify --rebase-time {first.isoformat()})"
            )
        result = replay(settings, options, plan, console)
    except (RecordingError, ValueError) as exc:
        console.print(f"replay: {exc} (nothing was sent)", style="red", markup=False)
        return 2
    report = result.report
    style = "green" if report.ok else "red"
    console.print(
        f"sent {report.sent:,} · failed {report.failed:,} · selected {plan.records:,} of "
        f"{plan.info.records:,} records · {result.seconds:,.1f} s "
        f"({report.sent / max(result.seconds, 1e-9):,.0f} rec/s)"
        + (f" · first error: {report.first_error}" if report.first_error else ""),
        style=style,
        markup=False,
    )
    return 0 if report.ok and report.sent == plan.records else 1


def _verify(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from citypulse.producers.recording import RecordingError

    from . import bootstrap
    from .console import kpi_view
    from .verify import as_json, as_prometheus, verify

    try:
        verified = verify(settings, _replay_options(args))
    except (RecordingError, ValueError) as exc:
        console.print(f"verify: {exc}", style="red", markup=False)
        return 2
    if args.format == "prometheus":
        sys.stdout.write(as_prometheus(verified.report))
    elif args.format == "json":
        sys.stdout.write(as_json(verified) + "\n")
    else:
        console.print(kpi_view(verified.report, bootstrap.reference(settings), verified.stats, 0))
        if verified.skipped:
            console.print(f"skipped (not an input topic): {dict(verified.skipped)}")
    return 0
