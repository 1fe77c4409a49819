"""``citypulse alerts render``: the Prometheus rule file, generated from the threshold table."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from citypulse.dashboards.alerts import render, rule_groups
from citypulse.settings import Settings

from .arguments import Subcommands, add_command

__all__ = ["RULES_FILE", "add_parser", "run"]

RULES_FILE = Path("deploy/prometheus/rules/citypulse.rules.yml")


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "alerts", settings_help=False)
    actions = parser.add_subparsers(dest="action", required=True)
    write = actions.add_parser(
        "render", help="write the rule file generated from the KPI threshold table"
    )
    write.add_argument(
        "--out", type=Path, default=RULES_FILE, help=f"rule file to write (default {RULES_FILE})"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rule_groups()))
    console.print(f"wrote {args.out}")
    return 0
