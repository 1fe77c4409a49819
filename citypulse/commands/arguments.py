"""What several commands' parsers share: the settings epilog, times, the replay selection."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, Protocol

from citypulse.connection_check import check_connection
from citypulse.settings import Settings

from . import COMMANDS

__all__ = [
    "SETTINGS_HELP",
    "NoBroker",
    "Subcommands",
    "add_command",
    "add_selection_arguments",
    "parse_time",
    "require_broker",
]

SETTINGS_HELP = "settings (environment variables):\n" + "\n".join(
    f"  CITYPULSE_{name.upper():<24} {field.description or ''} (default: {field.default})"
    for name, field in Settings.model_fields.items()
)


class Subcommands(Protocol):
    """What ``ArgumentParser.add_subparsers`` returns (argparse does not export its type)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def add_command(
    commands: Subcommands, name: str, *, settings_help: bool = True, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand's parser: its help (from the commands' table), its description, then the
    settings it reads."""
    kwargs.setdefault("help", COMMANDS[name])
    if settings_help:
        kwargs.setdefault("epilog", SETTINGS_HELP)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    return commands.add_parser(name, **kwargs)


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time with its UTC offset (event times are never guessed in a zone)."""
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset (e.g. 2026-03-02T08:00:00+07:00)")
    return when


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
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


class NoBroker(Exception):
    """A command that talks to Kafka was given none (the CLI says how to give one)."""


def require_broker(settings: Settings) -> None:
    """A broker is configured and answers with the configured security, or the command ends
    with one line that says which setting to fix (connection_check.py)."""
    if not settings.bootstrap_servers:
        raise NoBroker
    check_connection(settings)
