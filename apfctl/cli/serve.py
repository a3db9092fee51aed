"""``apfctl serve`` (the factory's web page, metrics and pilot logs) and ``apfctl logserver`` (the logs alone)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from apfctl.cli.common import config_options, load_config
from apfctl.errors import ApfctlError, ConfigError

if TYPE_CHECKING:
    from apfctl.config.loader import Loaded
    from apfctl.serve.app import Dashboard
    from apfctl.serve.logs import ServeRules

log = logging.getLogger("apfctl.serve")
DEFAULT_HOST = "127.0.0.1"


def _secret_files(loaded: Loaded) -> list[str]:
    """auth.conf and every file its profiles name (never served, even inside baseLogDir)."""
    from apfctl.auth.queues import load_auth

    try:
        auth = load_auth(loaded.factory)
    except ConfigError as exc:
        raise ApfctlError(f"cannot tell which files are credentials: {exc}") from None
    files: list[str] = [str(auth.path)] if auth.path else []
    for profile in auth.profiles.values():
        files.extend(profile.files())
    return files


def _rules(loaded: Loaded) -> ServeRules:
    from apfctl.config.generic import FACTORY_KEYS
    from apfctl.serve.logs import ServeRules

    factory = loaded.factory
    try:
        return ServeRules.build(
            Path(loaded.context.base_log_dir),
            index=factory.typed("logserver.index", FACTORY_KEYS["logserver.index"]),
            allow_robots=factory.typed("logserver.allowrobots", FACTORY_KEYS["logserver.allowrobots"]),
            state_dir=Path(loaded.context.state_dir),
            secret_files=_secret_files(loaded),
        )
    except ValueError as exc:
        raise ApfctlError(f"{loaded.source}: {exc}") from None


def dashboard(loaded: Loaded) -> Dashboard:
    """The page's data, read from the ledger per request; a queue page reads only its queue."""
    from apfctl.dashboard.machine import render_json, render_prometheus
    from apfctl.dashboard.source import queue_page, snapshot, totals
    from apfctl.dashboard.view import sort_rows
    from apfctl.serve.app import Dashboard

    context = loaded.context

    def view_json() -> str:
        current = snapshot(loaded)
        current.rows = sort_rows(current.rows)
        return render_json(current)

    def metrics(openmetrics: bool) -> str:
        current = snapshot(loaded)
        counters = totals(context.state_dir, current.now)
        return render_prometheus(current, {context.factory_id: counters} if counters else None,
                                 openmetrics=openmetrics)

    def queue(name: str, hours: float) -> dict[str, Any] | None:
        return queue_page(context.state_dir, name, hours, configured=loaded.queues)

    return Dashboard(view_json=view_json, metrics=metrics, queue_page=queue)


def _serve(loaded: Loaded, host: str, port: int, with_page: bool, name: str) -> int:
    import socket

    from apfctl.serve.app import build_app
    from apfctl.serve.server import address, listen, run

    rules = _rules(loaded)
    sock = listen(host, port)
    footer = f"apfctl at {socket.gethostname()} Port {sock.getsockname()[1]}"
    app = build_app(rules, dashboard(loaded) if with_page else None, footer=footer)
    what = "the factory page, /metrics and " if with_page else ""
    click.echo(f"apfctl {name}: serving {what}{rules.root} on {address(sock)} (index {'on' if rules.index else 'off'},"
               f" robots {'allowed' if rules.allow_robots else 'denied'})", err=True)
    try:
        run(app, sock)
    finally:
        sock.close()
    return 0


def _port(loaded: Loaded, port: int | None) -> int:
    from apfctl.serve.logs import port_of

    url = loaded.context.base_log_url or ""
    if url.startswith("https:") and port is None:
        log.warning("baseLogDirUrl %s is https, but apfctl speaks plain HTTP: put a TLS proxy in front "
                    "and give this server its own --port", url)
    try:
        return port if port is not None else port_of(url)
    except ValueError as exc:
        raise ApfctlError(f"{loaded.source}: {exc}") from None


_PORT_HELP = "Port to listen on [the port of baseLogDirUrl; 80, or 443 for https]."
_HOST_HELP = "Address to listen on (0.0.0.0 or :: for every address: then put it behind a firewall or proxy)."
_SAFETY = """Nothing outside baseLogDir is served: '..' in any spelling, symlinks that lead
    out, hidden files (also through a symlink), the state folder, auth.conf and the files
    its profiles name (proxies, keys, tokens), and anything but folders and regular files
    (FIFOs, devices) are refused with 403. Directory listings follow [Factory]
    logserver.index (default True), robots.txt follows logserver.allowrobots (default
    False: "Disallow: /"). Only GET and HEAD are answered; Range requests get the part
    asked for. Plain HTTP: put a TLS proxy in front to expose it."""

SERVE_HELP = f"""Serve the factory's web page, /metrics and the pilot logs (baseLogDir) until stopped.

    \b
    /                     the page: every queue (sortable, filterable, refreshing),
                          and per queue its plots, last decisions and errors
    /metrics              Prometheus: classic text, or OpenMetrics if Accept asks
    /-/api/view           the monitor's view as JSON (apfctl monitor --format json)
    /-/api/queue/NAME     one queue over ?hours=H (default 24)
    /?logs, /DAY/QUEUE/   the pilot logs, at the URLs the pilots were given

    {_SAFETY}

    \b
    Example:
      apfctl serve --port 25880                     # http://127.0.0.1:25880/
      apfctl serve --host 0.0.0.0 --port 25880      # every address
      curl -s http://127.0.0.1:25880/metrics
    """

LOGSERVER_HELP = f"""Serve baseLogDir (the pilots' logs) over HTTP until stopped, so APF_LOGURL/GTAG resolve.

    The same server as apfctl serve, without the page and the metrics.

    {_SAFETY}

    \b
    Example:
      apfctl logserver                              # port from baseLogDirUrl, on 127.0.0.1
      apfctl logserver --port 8080 --host 0.0.0.0
      curl http://localhost:8080/2026-11-25/BNL_ATLAS_1/
    """


def _command(name: str, help_text: str, with_page: bool) -> click.Command:
    """``apfctl serve`` (``with_page``) or ``apfctl logserver``: the same options, the same server."""

    @click.command(name=name, help=help_text)
    @click.option("--port", type=click.IntRange(0, 65535), default=None, help=_PORT_HELP)
    @click.option("--host", default=DEFAULT_HOST, show_default=True, help=_HOST_HELP)
    @config_options
    def command(port: int | None, host: str, config_path: str | None, state_dir: str | None, debug: bool,
                verbose: int) -> int:
        loaded = load_config(config_path, state_dir, debug, verbose)
        return _serve(loaded, host, _port(loaded, port), with_page, name)

    return command


serve = _command("serve", SERVE_HELP, with_page=True)
logserver = _command("logserver", LOGSERVER_HELP, with_page=False)
