"""Serving pilot logs (``baseLogDir``) over HTTP, so the URLs pilots were given resolve.

Read-only GET/HEAD on a threaded ``http.server``. A request is served only when the real
path (symlinks resolved) lies inside ``baseLogDir``; ``..``, hidden files, the state folder
and credential files are refused. Directory listings follow ``logserver.index``;
``robots.txt`` follows ``logserver.allowrobots`` (APF wrote the file; apfctl answers it).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import html
import logging
import mimetypes
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

log = logging.getLogger("apfctl.logserver")

TEXT_SUFFIXES = frozenset({".log", ".out", ".err", ".jdl", ".conf", ".txt", ".sh", ".py", ".c", ".h", ".json"})
#: file names never served, wherever they are: proxies, keys, bearer tokens
SECRET_PATTERNS = ("*.pem", "*.key", "x509up_*", "bt_u*", "*.token")
ROBOTS_DENY = "User-agent: *\nDisallow: /\n"


def port_of(url: str | None, default: int = 80) -> int:
    """The port of ``baseLogDirUrl`` (APF: explicit port, else 80 for http, 443 for https)."""
    if not url:
        return default
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"baseLogDirUrl {url!r} has a bad port") from None
    if port:
        return port
    return 443 if parts.scheme == "https" else 80


@dataclass
class ServeRules:
    """What the server may serve: the root, and what inside it is refused."""

    root: Path
    index: bool = True
    allow_robots: bool = False
    refused_dirs: list[Path] = field(default_factory=list)
    refused_files: set[Path] = field(default_factory=set)

    @classmethod
    def build(cls, root: Path, *, index: bool, allow_robots: bool, state_dir: Path | None = None,
              secret_files: Iterable[str | Path] = ()) -> ServeRules:
        resolved = root.expanduser().resolve()
        if not resolved.is_dir():
            raise ValueError(f"baseLogDir {root} is not a folder")
        refused_dirs: list[Path] = []
        if state_dir is not None:
            state = state_dir.expanduser().resolve()
            if state == resolved:
                raise ValueError(f"baseLogDir {root} is the state folder; refusing to serve it")
            if resolved in state.parents:
                refused_dirs.append(state)
        files = {Path(file).expanduser().resolve() for file in secret_files}
        return cls(resolved, index, allow_robots, refused_dirs, files)

    def locate(self, url_path: str) -> tuple[Path | None, str]:
        """(real path, "") when ``url_path`` may be served, else (None, the reason)."""
        parts = [part for part in unquote(url_path).split("/") if part not in ("", ".")]
        for part in parts:
            if part == ".." or "\\" in part or "\0" in part:
                return None, f"{url_path} is outside baseLogDir"
            if part.startswith("."):
                return None, f"{url_path}: hidden files are not served"
        target = self.root.joinpath(*parts)
        try:
            real = target.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            return None, ""
        except (OSError, RuntimeError):
            return None, f"{url_path} cannot be resolved"
        if real != self.root and not real.is_relative_to(self.root):
            return None, f"{url_path} leads outside baseLogDir"
        if real in self.refused_files or any(fnmatch.fnmatch(real.name, p) for p in SECRET_PATTERNS):
            return None, f"{url_path} is a credential file"
        if any(real == d or real.is_relative_to(d) for d in self.refused_dirs):
            return None, f"{url_path} is in the state folder"
        return real, ""


def _size(size: int) -> str:
    value = float(size)
    for unit in ("", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return str(size)


def listing(rules: ServeRules, folder: Path, url_path: str, footer: str) -> str:
    """An Apache-like listing of ``folder``: name, last modified, size; hidden entries skipped."""
    rows = []
    if folder != rules.root:
        rows.append('<tr><td><a href="../">Parent Directory</a></td><td></td><td align="right">-</td></tr>')
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        real, _ = rules.locate(f"{url_path}/{entry.name}")
        if real is None:
            continue
        stat = real.stat()
        name = entry.name + ("/" if real.is_dir() else "")
        when = _dt.datetime.fromtimestamp(stat.st_mtime, _dt.UTC).strftime("%d-%b-%Y %H:%M")
        size = "-" if real.is_dir() else _size(stat.st_size)
        rows.append(f'<tr><td><a href="{quote(name)}">{html.escape(name)}</a></td><td>{when}</td>'
                    f'<td align="right">{size}</td></tr>')
    title = html.escape(f"Index of {url_path or '/'}")
    return (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>\n"
            "<table><tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n<address>{html.escape(footer)}</address>\n</body></html>\n")


class LogRequestHandler(BaseHTTPRequestHandler):
    """GET and HEAD under the server's rules; everything else is 405."""

    server: LogServer
    server_version = "apfctl-logserver"

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        rules = self.server.rules
        url_path = urlsplit(self.path).path or "/"
        if url_path == "/robots.txt" and not rules.allow_robots:
            self._text(HTTPStatus.OK, ROBOTS_DENY, body)
            return
        real, reason = rules.locate(url_path)
        if real is None:
            if reason:
                log.warning("refused %s from %s: %s", self.path, self.client_address[0], reason)
                self._text(HTTPStatus.FORBIDDEN, f"refused: {reason}\n", body)
            else:
                self._text(HTTPStatus.NOT_FOUND, f"not found: {url_path}\n", body)
            return
        if real.is_dir():
            self._directory(real, url_path, body)
        else:
            self._file(real, body)

    def _directory(self, real: Path, url_path: str, body: bool) -> None:
        rules = self.server.rules
        if not url_path.endswith("/"):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", url_path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not rules.index:
            self._text(HTTPStatus.FORBIDDEN, "refused: directory listing is disabled (logserver.index)\n", body)
            return
        page = listing(rules, real, url_path.rstrip("/"), self.server.footer).encode("utf-8")
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page, body)

    def _file(self, real: Path, body: bool) -> None:
        try:
            stream = real.open("rb")
        except OSError:
            self._text(HTTPStatus.FORBIDDEN, "refused: cannot read the file\n", body)
            return
        with stream:
            size = real.stat().st_size
            kind = "text/plain; charset=utf-8" if real.suffix in TEXT_SUFFIXES else (
                mimetypes.guess_type(real.name)[0] or "application/octet-stream")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if body:
                shutil.copyfileobj(stream, self.wfile)

    def _text(self, status: HTTPStatus, text: str, body: bool) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode("utf-8"), body)

    def _send(self, status: HTTPStatus, kind: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.client_address[0], format % args)


class LogServer(ThreadingHTTPServer):
    """The threaded HTTP server; ``serve_forever`` until shut down."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, rules: ServeRules, host: str = "", port: int = 80) -> None:
        self.rules = rules
        super().__init__((host, port), LogRequestHandler)
        self.footer = f"apfctl at {socket.gethostname()} Port {self.server_address[1]}"
