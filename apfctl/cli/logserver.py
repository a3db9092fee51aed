"""``apfctl logserver``: serve baseLogDir over HTTP."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from apfctl.cli.common import config_options, load_config
from apfctl.errors import ApfctlError, ConfigError

log = logging.getLogger("apfctl.logserver")


def _secret_files(loaded) -> list[str]:
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


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on [the port of baseLogDirUrl; 80, or 443 for https].")
@click.option("--host", default="", show_default="all addresses", help="Address to listen on.")
@config_options
def logserver(port: int | None, host: str, config_path: str | None, state_dir: str | None, debug: bool,
              verbose: int) -> int:
    """Serve baseLogDir (the pilots' logs) over HTTP until stopped, so APF_LOGURL/GTAG resolve.

    Directory listings follow [Factory] logserver.index (default True), robots.txt
    follows logserver.allowrobots (default False: "Disallow: /"). Nothing outside
    baseLogDir is served: '..', symlinks that lead out, hidden files, the state folder,
    auth.conf and the files its profiles name (proxies, keys, tokens) are refused with
    403. Serve plain HTTP on a trusted network, or put a TLS proxy in front.

    \b
    Example:
      apfctl logserver                              # port from baseLogDirUrl
      apfctl logserver --port 8080 --host 127.0.0.1
      curl http://localhost:8080/2026-11-25/BNL_ATLAS_1/
    """
    from apfctl.config.generic import FACTORY_KEYS
    from apfctl.logserver import LogServer, ServeRules, port_of

    loaded = load_config(config_path, state_dir, debug, verbose)
    factory = loaded.factory
    root = Path(loaded.context.base_log_dir)
    url = loaded.context.base_log_url or ""
    if url.startswith("https:") and port is None:
        log.warning("baseLogDirUrl %s is https, but apfctl logserver speaks plain HTTP: put a TLS proxy in front "
                    "and give this server its own --port", url)
    try:
        chosen_port = port if port is not None else port_of(url)
        rules = ServeRules.build(
            root,
            index=factory.typed("logserver.index", FACTORY_KEYS["logserver.index"]),
            allow_robots=factory.typed("logserver.allowrobots", FACTORY_KEYS["logserver.allowrobots"]),
            state_dir=Path(loaded.context.state_dir),
            secret_files=_secret_files(loaded),
        )
    except ValueError as exc:
        raise ApfctlError(f"{loaded.source}: {exc}") from None
    try:
        server = LogServer(rules, host, chosen_port)
    except OSError as exc:
        raise ApfctlError(f"cannot listen on {host or '*'}:{chosen_port}: {exc.strerror or exc}") from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"apfctl logserver: serving {rules.root} on http://{host or '0.0.0.0'}:{server.server_address[1]}/"
               f" (index {'on' if rules.index else 'off'}, robots {'allowed' if rules.allow_robots else 'denied'})",
               err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
