"""``citypulse dashboards push``: upsert the dashboards into a running Grafana (grafana-client).

Creates the folder and the Prometheus datasource when missing (never changes an existing
datasource: the platform engineer may have tuned it), then upserts every dashboard by uid.
Any HTTP error stops the push with the step, the HTTP status and Grafana's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from .panels import PROMETHEUS_UID

__all__ = ["PushError", "PushResult", "connect", "push"]


class PushError(RuntimeError):
    """A Grafana API call failed: ``step``, ``status`` (HTTP, or None if no response)."""

    def __init__(self, step: str, status: int | None, message: str) -> None:
        self.step, self.status = step, status
        where = f"HTTP {status}" if status is not None else "no HTTP response"
        super().__init__(f"{step} failed: {where}: {message}")


@dataclass
class PushResult:
    folder_created: bool = False
    datasource_created: bool = False
    dashboards: list[str] = field(default_factory=list)  # urls Grafana returned
    playlists: list[str] = field(default_factory=list)  # uids created or updated


def connect(url: str, token: str | None, user: str | None, password: str | None) -> GrafanaApi:
    """A token wins over basic auth; with neither, credentials in the URL (or none) apply."""
    credential: str | tuple[str, str] | None = None
    if token:
        credential = token
    elif user is not None and password is not None:
        credential = (user, password)
    api: GrafanaApi = GrafanaApi.from_url(url, credential=credential, timeout=10.0)
    return api


def _call(step: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except GrafanaException as exc:
        raise PushError(step, exc.status_code, str(exc.message)) from exc
    except OSError as exc:  # refused, DNS, TLS
        raise PushError(step, None, str(exc)) from exc
    except Exception as exc:  # niquests' own connection errors are not OSError
        if type(exc).__module__.startswith(("niquests", "urllib3")):
            raise PushError(step, None, str(exc)) from exc
        raise


def _missing(step: str, call: Callable[[], Any]) -> bool:
    """True when the call answers 404; raises on any other error."""
    try:
        _call(step, call)
    except PushError as exc:
        if exc.status == 404:
            return True
        raise
    return False


def _upsert_playlist(grafana: Any, playlist: dict[str, Any]) -> str:
    """Create the playlist, or update the one with its uid; its uid."""
    uid = str(playlist["uid"])
    path = f"/playlists/{uid}"
    if _missing(f"look up playlist {uid}", lambda: grafana.client.GET(path)):
        _call(f"create playlist {uid}", lambda: grafana.client.POST("/playlists", json=playlist))
    else:
        _call(f"update playlist {uid}", lambda: grafana.client.PUT(path, json=playlist))
    return uid


def push(
    api: GrafanaApi,
    dashboards: Mapping[str, Mapping[str, Any]],
    *,
    folder_uid: str,
    folder_title: str,
    prometheus_url: str,
    playlists: Sequence[Mapping[str, Any]] = (),
) -> PushResult:
    result = PushResult()
    grafana: Any = api  # grafana-client's element methods are not annotated
    if _missing(f"look up folder {folder_uid}", lambda: grafana.folder.get_folder(folder_uid)):
        _call(
            f"create folder {folder_title!r}",
            lambda: grafana.folder.create_folder(folder_title, uid=folder_uid),
        )
        result.folder_created = True
    uid = PROMETHEUS_UID
    if _missing(f"look up datasource {uid}", lambda: grafana.datasource.get_datasource_by_uid(uid)):
        _call(
            f"create datasource {uid}",
            lambda: grafana.datasource.create_datasource(
                {
                    "name": "citypulse Prometheus",
                    "uid": uid,
                    "type": "prometheus",
                    "access": "proxy",
                    "url": prometheus_url,
                    "isDefault": False,
                    "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
                }
            ),
        )
        result.datasource_created = True
    for name, board in dashboards.items():
        payload = {
            "dashboard": {**board, "id": None},
            "folderUid": folder_uid,
            "overwrite": True,
            "message": "citypulse dashboards push",
        }
        upsert = partial(grafana.dashboard.update_dashboard, payload)
        answer = _call(f"upsert dashboard {name}", upsert)
        result.dashboards.append(str(answer.get("url", name)) if isinstance(answer, dict) else name)
    for playlist in playlists:  # after the dashboards it shows
        result.playlists.append(_upsert_playlist(grafana, dict(playlist)))
    return result
