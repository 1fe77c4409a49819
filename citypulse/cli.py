"""The ``citypulse`` command: parse, build the settings, hand over to the subcommand's ``run``
(one module per subcommand in ``citypulse/commands/``)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from rich.console import Console

from citypulse import __version__
from citypulse.commands import COMMANDS
from citypulse.commands.arguments import SETTINGS_HELP, NoBroker
from citypulse.connection_check import ConnectionProblem
from citypulse.settings import Settings

__all__ = ["entrypoint", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="citypulse",
        description="Live e-government KPIs for a Smart City Monitoring and Control Centre.",
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"citypulse {__version__}")
    top.add_argument(
        "--broker",
        metavar="kafka://HOST:PORT",
        help="an existing Kafka (overrides CITYPULSE_BROKER)",
    )
    commands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = parser().parse_args(argv)
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    settings = Settings(**({"broker": args.broker} if args.broker else {}))
    try:
        status: int = args.run(args, settings, console)
    except NoBroker:
        console.print(
            "[red]no broker: set CITYPULSE_BROKER=kafka://host:port or pass --broker "
            "(`citypulse broker` runs one)[/red]"
        )
        return 2
    except ConnectionProblem as problem:
        console.print(f"[red]citypulse: {problem}[/red]", soft_wrap=True, highlight=False)
        return 2
    return status


def _sigterm_as_interrupt() -> None:
    """SIGTERM (docker stop, kill) shuts down like Ctrl-C: brokers and workers stop cleanly."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def entrypoint() -> None:
    """The console script and ``python -m citypulse``: SIGTERM handled like Ctrl-C."""
    _sigterm_as_interrupt()
    sys.exit(main())
