"""The ``citypulse`` command: parse, build the settings, hand over to the subcommand's ``run``
(one module per subcommand in ``citypulse/commands/``)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from rich.console import Console

from citypulse import __version__
from citypulse.commands import COMMANDS, load
from citypulse.commands.arguments import SETTINGS_HELP, NoBroker
from citypulse.connection_check import ConnectionProblem
from citypulse.settings import Settings

__all__ = ["entrypoint", "main", "parser"]


def parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given ``argv``, only the command it names declares its
    arguments (and only its module is imported); without, every command does."""
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
    chosen = None if argv is None else _command_in(argv)
    for name, help in COMMANDS.items():
        if argv is None or name == chosen:
            load(name).add_parser(commands)
        else:
            commands.add_parser(name, help=help)  # not run: its arguments are not needed
    return top


def _command_in(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is neither an option nor the value of
    ``--broker``."""
    words = iter(argv)
    for word in words:
        if word == "--broker":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(argv).parse_args(argv)
    console = console or Console(width=None if sys.stdout.isatty() else 170)
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
