"""The HTTP application of ``apfctl serve`` and ``apfctl logserver`` (Starlette, under uvicorn).

Routes, in the order they are matched:

* ``/robots.txt``: ``Disallow: /`` unless ``logserver.allowrobots``;
* with the dashboard (``apfctl serve``): ``/metrics`` (Prometheus classic text, OpenMetrics
  when the scraper's ``Accept`` asks for it), ``/-/api/view`` (the monitor's view as JSON,
  what ``apfctl monitor --format json`` prints), ``/-/api/queue/NAME?hours=H`` (one queue
  over time), ``/-/static/...`` (the page's assets, shipped in the package) and ``/`` (the
  page; the listing of baseLogDir's top is then at ``/?logs``);
* everything else: a file or folder of ``baseLogDir`` under :class:`~apfctl.serve.logs.ServeRules`.

Paths are taken as the client sent them (the raw, still percent-encoded path) and
unquoted once into file system names (:func:`~apfctl.serve.logs.url_parts`), which
:meth:`ServeRules.check` checks; redirects go to the path rebuilt from those names, so
never to another host. Endpoints are plain functions, so Starlette runs them in
its thread pool and file system or ledger reads never block the event loop. Only GET and
HEAD are answered (405 otherwise); files are sent by Starlette's ``FileResponse``, which
answers ``Range`` requests.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from apfctl.serve.logs import ROBOTS_DENY, ServeRules, content_type, listing, url_of, url_parts

log = logging.getLogger("apfctl.serve")

WEB = "web"                        # the page's assets, a folder of this package
ASSET_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}
MAX_HOURS = 24 * 31                # the longest window a queue page may ask for


@dataclass
class Dashboard:
    """Where the dashboard's data come from: functions of the loaded factory, called per request.

    ``view_json`` returns the monitor's JSON text; ``metrics`` the exposition text
    (``openmetrics`` flag); ``queue_page`` one queue's document for ``hours``, None when the
    factory has no such queue (neither configured nor in the ledger). Each may
    raise :class:`~apfctl.errors.ApfctlError` (a missing or corrupt ledger), which the page
    shows instead of failing.
    """

    view_json: Callable[[], str]
    metrics: Callable[[bool], str]
    queue_page: Callable[[str, float], dict[str, Any] | None]


def _text(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else request.url.path


def _wants_openmetrics(request: Request) -> bool:
    return "application/openmetrics-text" in request.headers.get("accept", "")


def build_app(rules: ServeRules, dashboard: Dashboard | None = None, footer: str = "apfctl") -> Starlette:
    """The application: baseLogDir under ``rules``, and the page when ``dashboard`` is given."""

    def robots(request: Request) -> Response:
        if not rules.allow_robots:
            return PlainTextResponse(ROBOTS_DENY)
        return logs(request)

    def logs(request: Request) -> Response:
        url_path = _raw_path(request)
        if dashboard is not None and url_path == "/" and "logs" not in request.query_params:
            return page(request)
        parts = url_parts(url_path)
        real, reason = rules.check(parts)
        if real is None:
            if reason:
                log.warning("refused %s from %s: %s", url_path, request.client.host if request.client else "?",
                            reason)
                return _text(403, f"refused: {reason}\n")
            return _text(404, f"not found: {unquote(url_path)}\n")
        if real.is_dir():
            if not url_path.endswith("/"):
                return RedirectResponse(url_of(parts, folder=True), status_code=301)
            if not rules.index:
                return _text(403, "refused: directory listing is disabled (logserver.index)\n")
            try:
                return Response(listing(rules, real, parts, footer), media_type="text/html; charset=utf-8")
            except OSError:
                return _text(404, f"not found: {unquote(url_path)}\n")
        try:
            stat = real.stat()
        except OSError:
            return _text(404, f"not found: {unquote(url_path)}\n")
        if not os.access(real, os.R_OK):
            return _text(403, "refused: cannot read the file\n")
        return FileResponse(real, media_type=content_type(real), stat_result=stat)

    routes = [Route("/robots.txt", robots, methods=["GET", "HEAD"])]
    if dashboard is not None:
        routes += _dashboard_routes(dashboard)
    routes.append(Route("/{path:path}", logs, methods=["GET", "HEAD"]))

    def page(request: Request) -> Response:
        return _asset("index.html")

    return Starlette(routes=routes)


def _asset(name: str) -> Response:
    folder = resources.files("apfctl.serve") / WEB
    item = folder / name
    if "/" in name or name.startswith(".") or not item.is_file():
        return _text(404, f"not found: {name}\n")
    return Response(item.read_bytes(), media_type=ASSET_TYPES.get(Path(name).suffix, "application/octet-stream"),
                    headers={"Cache-Control": "no-cache"})


def _dashboard_routes(dashboard: Dashboard) -> list[Route]:
    from apfctl.errors import ApfctlError

    def metrics(request: Request) -> Response:
        from apfctl.dashboard.machine import CLASSIC_TYPE, OPENMETRICS_TYPE

        openmetrics = _wants_openmetrics(request)
        try:
            text = dashboard.metrics(openmetrics)
        except ApfctlError as exc:
            return _text(503, f"apfctl: {exc}\n")
        return Response(text, headers={"Content-Type": OPENMETRICS_TYPE if openmetrics else CLASSIC_TYPE})

    def view(request: Request) -> Response:
        try:
            return Response(dashboard.view_json(), media_type="application/json")
        except ApfctlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)

    def queue(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            hours = float(request.query_params.get("hours", "24"))
        except ValueError:
            hours = math.nan
        if not 0 < hours <= MAX_HOURS:
            return JSONResponse({"error": f"hours must be a number in (0, {MAX_HOURS}]"}, status_code=400)
        try:
            document = dashboard.queue_page(name, hours)
        except ApfctlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        if document is None:
            return JSONResponse({"error": f"no queue {name!r} in this factory's view"}, status_code=404)
        return JSONResponse(document)

    def static(request: Request) -> Response:
        return _asset(request.path_params["name"])

    return [Route("/metrics", metrics, methods=["GET", "HEAD"]),
            Route("/-/api/view", view, methods=["GET", "HEAD"]),
            Route("/-/api/queue/{name:path}", queue, methods=["GET", "HEAD"]),
            Route("/-/static/{name}", static, methods=["GET", "HEAD"])]
