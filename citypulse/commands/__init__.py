"""The ``citypulse`` subcommands, one module each: ``add_parser`` declares its arguments and
sets ``run`` (what the command does with the parsed arguments, the settings and a console,
returning the exit status); ``citypulse/cli.py`` dispatches."""

from __future__ import annotations

from . import (
    alerts,
    broker,
    dashboards,
    demo,
    record,
    replay,
    report,
    schemas,
    simulate,
    topics,
    verify,
    worker,
)

__all__ = ["COMMANDS"]

#: in the order ``citypulse --help`` lists them
COMMANDS = (
    broker,
    topics,
    worker,
    simulate,
    record,
    replay,
    verify,
    report,
    demo,
    schemas,
    alerts,
    dashboards,
)
