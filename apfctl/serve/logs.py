"""What of ``baseLogDir`` may be served, so the URLs pilots were given resolve and nothing else does.

A request is served only when the real path (symlinks resolved) lies inside
``baseLogDir``; ``..``, hidden files, the state folder and credential files are refused.
Directory listings follow ``logserver.index``; ``robots.txt`` follows
``logserver.allowrobots`` (APF wrote the file; apfctl answers it). The HTTP side is in
:mod:`apfctl.serve.app`.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import html
import mimetypes
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

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

    def check(self, parts: list[str]) -> tuple[Path | None, str]:
        """(real path, "") when the path ``parts`` (file system names, see :func:`url_parts`) may be
        served, else (None, the reason); the reason is "" when nothing is there (a 404).

        Both the names asked for and the real path (symlinks resolved) are checked, and only
        folders and regular files pass: a FIFO or a device is never opened.
        """
        shown = "/" + "/".join(parts)
        for part in parts:
            if part == ".." or "\\" in part or "\0" in part or "/" in part:
                return None, f"{shown} is outside baseLogDir"
            if part.startswith("."):
                return None, f"{shown}: hidden files are not served"
        target = self.root.joinpath(*parts)
        try:
            real = target.resolve(strict=True)
            mode = real.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None, ""
        except (OSError, RuntimeError):
            return None, f"{shown} cannot be resolved"
        if real != self.root and not real.is_relative_to(self.root):
            return None, f"{shown} leads outside baseLogDir"
        if any(part.startswith(".") for part in real.relative_to(self.root).parts):
            return None, f"{shown} leads to a hidden file"
        if real in self.refused_files or any(fnmatch.fnmatch(real.name, p) for p in SECRET_PATTERNS):
            return None, f"{shown} is a credential file"
        if any(real == d or real.is_relative_to(d) for d in self.refused_dirs):
            return None, f"{shown} is in the state folder"
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            return None, f"{shown} is not a regular file"
        return real, ""


def url_parts(url_path: str) -> list[str]:
    """The file system names of a raw URL path: unquoted once, so ``%2F`` splits like ``/``.

    A folder named ``BNL%2F1`` (what escaping made of queue ``BNL/1``) is asked for as
    ``BNL%252F1``.
    """
    return [part for part in unquote(url_path).split("/") if part not in ("", ".")]


def url_of(parts: list[str], folder: bool = False) -> str:
    """The absolute, quoted URL path of ``parts``: always one leading ``/`` (never ``//host``)."""
    path = "/" + "/".join(quote(part, safe="") for part in parts)
    return path + "/" if folder and parts else path


def _size(size: int) -> str:
    value = float(size)
    for unit in ("", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return str(size)


def listing(rules: ServeRules, folder: Path, parts: list[str], footer: str) -> str:
    """An Apache-like listing of ``folder`` (at ``parts``): name, last modified, size.

    Entries are checked like requests for them; hidden, refused, non-regular entries, and
    entries removed while listing (a concurrent ``apfctl clean``), are left out.
    """
    rows = []
    if folder != rules.root:
        rows.append('<tr><td><a href="../">Parent Directory</a></td><td></td><td align="right">-</td></tr>')
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        real, _ = rules.check([*parts, entry.name])
        if real is None:
            continue
        try:
            info = real.stat()
        except OSError:
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        name = entry.name + ("/" if is_dir else "")
        when = _dt.datetime.fromtimestamp(info.st_mtime, _dt.UTC).strftime("%d-%b-%Y %H:%M")
        size = "-" if is_dir else _size(info.st_size)
        rows.append(f'<tr><td><a href="{quote(name)}">{html.escape(name)}</a></td><td>{when}</td>'
                    f'<td align="right">{size}</td></tr>')
    title = html.escape("Index of /" + "/".join(parts))
    return (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>\n"
            "<table><tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n<address>{html.escape(footer)}</address>\n</body></html>\n")


def content_type(real: Path) -> str:
    """Pilot logs and scripts as UTF-8 text (browsers show them), anything else by its suffix."""
    if real.suffix in TEXT_SUFFIXES:
        return "text/plain; charset=utf-8"
    return mimetypes.guess_type(real.name)[0] or "application/octet-stream"
