"""A stand-in for the few Grafana HTTP API endpoints ``dashboards push`` calls.

Grafana cannot be installed on the build machine, so the push adapter is tested against
this in-memory server over real HTTP: paths, methods, bodies and auth headers as in
Grafana's HTTP API reference (folders, data sources by uid, POST /api/dashboards/db,
playlists by uid).
It can be told to fail one path with a status, to check that errors surface.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from .server import LoopbackHttp

__all__ = ["GrafanaApiStandIn"]


class GrafanaApiStandIn(LoopbackHttp):
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.playlists: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        self.fail: dict[tuple[str, str], tuple[int, str]] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                stand_in.requests.append((method, self.path, self.headers.get("Authorization")))
                if (method, self.path) in stand_in.fail:
                    status, message = stand_in.fail[(method, self.path)]
                    return self._reply(status, {"message": message})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, answer = stand_in.route(method, self.path, body)
                self._reply(status, answer)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

        self.serve(Handler)

    def route(self, method: str, path: str, body: Any) -> tuple[int, object]:
        not_found = (404, {"message": "not found"})
        if method == "GET" and path.startswith("/api/folders/"):
            uid = path.rsplit("/", 1)[1]
            return (200, self.folders[uid]) if uid in self.folders else not_found
        if method == "POST" and path == "/api/folders":
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
            return 200, self.folders[body["uid"]]
        if method == "GET" and path.startswith("/api/datasources/uid/"):
            uid = path.rsplit("/", 1)[1]
            return (200, self.datasources[uid]) if uid in self.datasources else not_found
        if method == "POST" and path == "/api/datasources":
            self.datasources[body["uid"]] = body
            return 200, {"message": "Datasource added", "datasource": body}
        if path.startswith("/api/playlists/") and method in ("GET", "PUT"):
            uid = path.rsplit("/", 1)[1]
            if uid not in self.playlists:
                return not_found
            if method == "PUT":
                self.playlists[uid] = {**body, "uid": uid}
            return 200, self.playlists[uid]
        if method == "POST" and path == "/api/playlists":
            uid = body.get("uid") or f"generated-{len(self.playlists)}"
            self.playlists[uid] = {**body, "uid": uid}
            return 200, self.playlists[uid]
        if method == "POST" and path == "/api/dashboards/db":
            board = body["dashboard"]
            if board.get("uid") in self.dashboards and not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists"}
            self.dashboards[board["uid"]] = body
            return 200, {"status": "success", "uid": board["uid"], "url": f"/d/{board['uid']}"}
        return not_found
