"""The ``citypulse`` command: parse, build from settings, hand over. One console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from citypulse import __version__

from .settings import Settings

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
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="simulate a province and show its live KPIs (offline: in-process engine)",
        epilog=_SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    demo.add_argument(
        "--hours", type=float, default=72.0, help="simulated hours to run (default 72)"
    )
    demo.add_argument(
        "--speed", type=float, default=4 * 3600.0,
        help="simulated seconds per real second (default 14400: 4 h a second); 0: flat out",
    )  # fmt: skip
    demo.add_argument("--no-faults", action="store_true", help="do not inject upstream faults")

    schemas = sub.add_parser("schemas", help="event schemas")
    schemas_sub = schemas.add_subparsers(dest="action", required=True)
    export = schemas_sub.add_parser("export", help="write a JSON Schema per input topic")
    export.add_argument("directory", type=Path)
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    settings = Settings()
    if args.command == "schemas":
        from citypulse.schemas.export import export_json_schemas

        for path in export_json_schemas(args.directory):
            console.print(f"wrote {path}")
        return 0
    if args.command == "demo":
        from .demo import DemoOptions, run_offline_demo

        options = DemoOptions(
            seed=args.seed, hours=args.hours, speed=args.speed or None, faults=not args.no_faults
        )
        run_offline_demo(settings, options, console)
        return 0
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
