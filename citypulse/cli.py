"""The ``citypulse`` command: parse, build from settings, hand over. One console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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
    if args.command in ("topics", "simulate", "worker") and not settings.bootstrap_servers:
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
        from citypulse.producers.profile import Faults

        from .simulate import SimulateOptions, simulate_to_kafka

        faults = Faults(
            duplicate=args.duplicate,
            disorder=args.disorder,
            late=args.late,
            malformed=args.malformed,
            pii=args.pii,
        )
        simulate_options = SimulateOptions(
            events=args.events,
            hours=args.hours,
            rate=args.rate,
            speed=args.speed,
            seed=args.seed,
            faults=faults,
        )
        return 0 if simulate_to_kafka(settings, simulate_options, console).ok else 1
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
        console.print(f"  export CITYPULSE_BROKER={broker.url} CITYPULSE_TANSU_WORKAROUNDS=1")
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
