"""``citypulse topics create``: citypulse's topics, created if missing (idempotent)."""

from __future__ import annotations

import argparse

from rich.console import Console

from citypulse import bootstrap
from citypulse.settings import Settings

from .arguments import Subcommands, add_command, require_broker

__all__ = ["add_parser", "run"]


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "topics", settings_help=False)
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="create citypulse's topics if missing (idempotent)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    require_broker(settings)
    report = bootstrap.create_topics(settings)
    created, existing = ", ".join(report.created) or "-", ", ".join(report.existing) or "-"
    console.print(f"created: {created}; existing: {existing}")
    for topic, count in report.mismatched.items():
        console.print(f"[yellow]{topic} has {count} partitions, not {settings.partitions}[/yellow]")
    return 0
