"""A stand-in of PanDA's Harvester API (panda-server ``api/v1/harvester_api.py``) on a real HTTP server, for tests.

It answers as the real server does: ``POST`` (``GET`` for get_worker_statistics) on
``/api/v1/harvester/<method>``, parameters from the JSON body, type checks of the method's
signature (``Type error: ...`` with ``success: false``), a 403 ``text/plain`` when token
authentication fails, and the envelope ``{"success", "message", "data"}``. It keeps what a
PanDA database would: workers per (harvester, workerID), with a final status kept for 3 h
as ``updateWorkers`` does, and the worker statistics per (site, harvester), which
``get_worker_statistics`` answers as ``{site: {harvester: {jobType: {resourceType: {status: n}}}}}``.

``mode`` makes it misbehave: ``down`` (503 HTML), ``html`` (200 HTML page), ``refuse``
(``success: false``), ``shape`` (a JSON list), ``huge`` (a 3 MB body), ``hang`` (no answer
until released).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from werkzeug import Request, Response

SIGNATURES: dict[str, tuple[str, dict[str, type]]] = {
    "update_workers": ("POST", {"harvester_id": str, "workers": list}),
    "heartbeat": ("POST", {"harvester_id": str, "data": dict}),
    "report_worker_statistics": ("POST", {"harvester_id": str, "panda_queue": str, "statistics": str}),
    "get_worker_statistics": ("GET", {}),
}
OPTIONAL = {("heartbeat", "data")}
FINAL = ("finished", "failed", "cancelled", "missed")


def envelope(success: bool, message: str = "", data: Any = None) -> dict[str, Any]:
    return {"success": success, "message": message, "data": data}


class HarvesterStandIn:
    def __init__(self, server: Any, token: str | None = None, origin: str | None = None) -> None:
        self.server = server
        self.token = token
        self.origin = origin
        self.calls: list[tuple[str, dict[str, Any]]] = []     # accepted calls, in order
        self.headers: list[dict[str, str]] = []
        self.workers: dict[tuple[str, int], dict[str, Any]] = {}
        self.stats: dict[str, dict[str, dict[str, Any]]] = {}
        self.heartbeats: dict[str, dict[str, Any]] = {}
        self.mode: str | None = None
        self.released = threading.Event()
        server.expect_request(re.compile(r"^/api/v1/harvester/.*")).respond_with_handler(self.handle)

    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def bodies(self, name: str) -> list[dict[str, Any]]:
        return [body for called, body in self.calls if called == name]

    def _json(self, body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def handle(self, request: Request) -> Response:
        if self.mode == "hang":
            self.released.wait(30)
        if self.mode == "down":
            return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", status=503,
                            content_type="text/html")
        if self.mode == "html":
            return Response("<!DOCTYPE html><html><body>CERN SSO login</body></html>", content_type="text/html")
        if self.mode == "huge":
            return self._json(envelope(True, data=["x" * 1000] * 3000))
        if self.mode == "shape":
            return self._json([True])
        if self.mode == "refuse":
            return self._json(envelope(False, "database error in the PanDA server"))
        self.headers.append(dict(request.headers))
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            if given != f"Bearer {self.token}" or (self.origin and request.headers.get("Origin") != self.origin):
                return Response("ERROR : Token authentication failed. invalid token", status=403,
                                content_type="text/plain")
        name = request.path.rsplit("/", 1)[-1]
        if name not in SIGNATURES:
            return Response(f"ERROR : method {name} is forbidden", status=403, content_type="text/plain")
        method, params = SIGNATURES[name]
        if request.method != method:
            return self._json(envelope(False, f"expecting {method}, received {request.method}"))
        if method == "POST":
            if request.mimetype != "application/json":
                return self._json(envelope(False, "Argument error: missing a required argument"))
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                return Response(f"ERROR : received invalid JSON : {exc}", status=500, content_type="text/plain")
        else:
            body = dict(request.args)
        for key, kind in params.items():
            if key not in body:
                if (name, key) in OPTIONAL:
                    continue
                return self._json(envelope(False, f"Argument error: missing a required argument: '{key}'"))
            if not isinstance(body[key], kind):
                return self._json(envelope(False, f"Type error: '{key}' must be of type {kind.__name__}, "
                                                  f"got {type(body[key]).__name__}."))
        extra = set(body) - set(params)
        if extra:
            return self._json(envelope(False, f"Argument error: got an unexpected keyword argument '{extra.pop()}'"))
        self.calls.append((name, body))
        return self._json(getattr(self, name)(body))

    def update_workers(self, body: dict[str, Any]) -> dict[str, Any]:
        for worker in body["workers"]:
            key = (body["harvester_id"], worker["workerID"])
            old = self.workers.get(key, {})
            new = {**old, **worker}
            if old.get("status") in FINAL:
                new["status"] = old["status"]
            self.workers[key] = new
        return envelope(True, data=[True] * len(body["workers"]))

    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]:
        self.heartbeats[body["harvester_id"]] = body.get("data") or {}
        return envelope(True)

    def report_worker_statistics(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            table = json.loads(body["statistics"])   # the json.loads is done in DBProxy
        except ValueError:
            return envelope(False, "database error")
        rows = {job_type: {rt: dict(by_status) for rt, by_status in by_type.items() if rt != "Undefined"}
                for job_type, by_type in table.items()}
        self.stats.setdefault(body["panda_queue"], {})[body["harvester_id"]] = rows
        return envelope(True, "OK")

    def get_worker_statistics(self, body: dict[str, Any]) -> dict[str, Any]:
        return envelope(True, data=self.stats)
