"""``citypulse broker``: the embedded broker in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from citypulse.broker import EmbeddedBroker
from citypulse.settings import Settings

from .arguments import Subcommands, add_command

__all__ = ["add_parser", "run"]


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "broker", settings_help=False)
    parser.add_argument("--port", type=int, default=9092, help="loopback port (default 9092)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    with EmbeddedBroker(port=args.port) as broker:
        console.print(f"embedded broker at {broker.url} (memory storage; log {broker.log_path})")
        console.print(f"  export CITYPULSE_BROKER={broker.url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping the embedded broker")
    return 0
