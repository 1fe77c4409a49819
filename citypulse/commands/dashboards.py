"""``citypulse dashboards render|push``: the Grafana dashboards as files, or pushed by API."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from citypulse.dashboards import render as dashboards
from citypulse.settings import Settings

from .arguments import Subcommands, add_command

__all__ = ["add_parser", "run"]


def add_parser(commands: Subcommands) -> None:
    parser = add_command(commands, "dashboards")
    actions = parser.add_subparsers(dest="action", required=True)
    write = actions.add_parser(
        "render",
        help="write the dashboards' JSON (the provisioned files), the playlist and the layout "
        "pictures",
    )
    write.add_argument(
        "--out",
        type=Path,
        default=dashboards.DASHBOARD_DIR,
        help=f"directory to write to (default {dashboards.DASHBOARD_DIR})",
    )
    write.add_argument(
        "--pictures",
        type=Path,
        default=dashboards.PICTURE_DIR,
        help=f"directory for the layout pictures (SVG, default {dashboards.PICTURE_DIR})",
    )
    upsert = actions.add_parser(
        "push",
        help="create the folder and datasource if missing, upsert the dashboards and the wall "
        "playlist by uid",
        description="Credentials: CITYPULSE_GRAFANA_TOKEN, or CITYPULSE_GRAFANA_USER and "
        "CITYPULSE_GRAFANA_PASSWORD. Exits 1 with the HTTP status and message on any error.",
    )
    upsert.add_argument("--grafana-url", help="Grafana base URL (CITYPULSE_GRAFANA_URL)")
    upsert.add_argument(
        "--prometheus-url",
        help="Prometheus URL of a created datasource (CITYPULSE_PROMETHEUS_URL)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.action == "render":
        for path in dashboards.write(args.out, args.pictures):
            console.print(f"wrote {path}")
        return 0
    return _push(args, settings, console)


def _push(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    # here, not at the top: grafana-client takes a third of a second to import, on every
    # citypulse command
    from citypulse.dashboards.push import PushError, connect, push

    url = args.grafana_url or settings.grafana_url
    secret = settings.grafana_token or None
    password = settings.grafana_password
    api = connect(
        url,
        secret.get_secret_value() if secret else None,
        settings.grafana_user,
        password.get_secret_value() if password else None,
    )
    boards = {uid: dashboards.to_json(build()) for uid, build in dashboards.BUILDERS.items()}
    try:
        result = push(
            api,
            boards,
            folder_uid="citypulse",
            folder_title=settings.grafana_folder,
            prometheus_url=args.prometheus_url or settings.prometheus_url,
            playlists=[p.to_json() for p in dashboards.PLAYLISTS],
        )
    except PushError as exc:
        console.print(f"dashboards push to {url}: {exc}", style="red", markup=False)
        return 1
    if result.folder_created:
        console.print(f"created folder {settings.grafana_folder!r}")
    if result.datasource_created:
        console.print("created datasource citypulse-prometheus")
    for where in result.dashboards:
        console.print(f"upserted {where}")
    for uid in result.playlists:
        console.print(
            f"upserted playlist {uid} (start it on the wall: {url}/playlists/play/{uid}?kiosk)"
        )
    return 0
