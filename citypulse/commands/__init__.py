"""The ``citypulse`` subcommands, one module each: ``add_parser`` declares its arguments and
sets ``run`` (what the command does with the parsed arguments, the settings and a console,
returning the exit status); ``citypulse/cli.py`` dispatches.

A command's module is imported only when that command runs (or when the whole parser is
built), so that ``citypulse worker`` does not import the dashboards and ``citypulse --help``
imports nothing but this table."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

__all__ = ["COMMANDS", "load"]

#: every command and its one-line help, in the order ``citypulse --help`` lists them
COMMANDS: Final = {
    "broker": "run the embedded broker in the foreground (Ctrl-C stops it)",
    "topics": "Kafka topics",
    "worker": "run the KPI worker (Faust) with /metrics, /healthz and /readyz on "
    "CITYPULSE_HTTP_PORT",
    "simulate": "stream the simulator into the input topics",
    "record": "capture topics into a recording file",
    "replay": "send a recording into topics",
    "verify": "compute the KPIs a recording must produce, offline",
    "report": "write the day's or week's report (HTML page with charts)",
    "demo": "broker + worker + simulator, live KPI table from the worker's /metrics "
    "(embedded broker unless CITYPULSE_BROKER is set)",
    "schemas": "event schemas",
    "alerts": "Prometheus alerting and recording rules",
    "dashboards": "Grafana dashboards",
}


def load(name: str) -> ModuleType:
    """The module of command ``name``."""
    return importlib.import_module(f"{__name__}.{name}")
