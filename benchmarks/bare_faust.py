"""A bare Faust agent that only iterates topics of raw bytes: the baseline of bench_worker.py.

    python benchmarks/bare_faust.py [--citypulse-transport | --batches] BROKER_URL APP_ID COUNT
        TOPIC ...

Same Faust settings as the citypulse worker (memory store, raw bytes, short session timeout).
Stock ``faust.App`` by default; with ``--citypulse-transport`` the worker's own App
(streams/faust_adapter/transport.py: shorter fetch wait, cheaper dispatch), to tell how much of the
worker's speed comes from the transport and how much its KPI work costs on top. With
``--batches`` the worker's App delivers each fetch to a handler that only counts and
acknowledges it, as the worker's stages receive their input: the most the worker could read
with no work of its own.
Prints one JSON line, ``{"events": n, "seconds": s}``, timed from the first event to the
COUNT-th (events delivered together with the first are not counted), then exits.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    import faust

    app_class: type[faust.App] = faust.App
    batches = bool(argv) and argv[0] == "--batches"
    if argv and argv[0] in ("--citypulse-transport", "--batches"):
        from citypulse.streams.faust_adapter.transport import App

        app_class, argv = App, argv[1:]
    broker, app_id, count, *topics = argv
    wanted = int(count)
    logging.basicConfig(level=logging.WARNING)
    app = app_class(
        app_id,
        broker=broker,
        store="memory://",
        broker_session_timeout=10.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        topic_allow_declare=False,
        datadir=Path(tempfile.gettempdir()) / "citypulse" / f"{app_id}-data",
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
    seen = 0
    started = 0.0
    first = 0  # the events delivered with the first: read before the clock started

    topic = app.topic(*topics, key_serializer="raw", value_serializer="raw", **raw)

    def counted(n: int) -> None:
        nonlocal seen, started, first
        if seen == 0:
            started = time.perf_counter()
            first = n - 1
        seen += n
        if seen >= wanted:
            elapsed = time.perf_counter() - started
            print(json.dumps({"events": seen - first, "seconds": elapsed}), flush=True)
            os._exit(0)

    if batches:

        async def count_batch(messages: list[Any]) -> None:
            app.consumer.acknowledge(messages)  # type: ignore[attr-defined]
            counted(len(messages))

        app.deliver_batches(topic, count_batch)  # type: ignore[attr-defined]
    else:

        @app.agent(topic)
        async def count_events(stream: Any) -> None:
            async for _ in stream:
                counted(1)

    faust.Worker(
        app, loglevel="WARNING", quiet=True, override_logging=False
    ).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
