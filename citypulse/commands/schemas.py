"""``citypulse schemas export DIR``: a JSON Schema per input topic, for other systems."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from citypulse.schemas.export import export_json_schemas
from citypulse.settings import Settings

from .arguments import Subcommands, add_command

__all__ = ["add_parser", "run"]


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "schemas", settings_help=False)
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write a JSON Schema per input topic")
    export.add_argument("directory", type=Path)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    for path in export_json_schemas(args.directory):
        console.print(f"wrote {path}")
    return 0
