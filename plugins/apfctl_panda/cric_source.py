"""Getting CRIC's document: from a URL or a file, through a cache in the state folder.

The cache (``<state>/cric/<hash of the source>.json``) holds the last good document and
when it was read. A URL is fetched again only when the cached copy is older than the refresh
interval, so cron runs do not hammer CRIC; a file (e.g. the CVMFS copy) is read every time.
When the source fails (unreachable, not JSON, not a non-empty object) the cached copy is used
with a warning giving its age, and the cache is never overwritten by a bad answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apfctl.bounded import read_text
from apfctl.errors import BackendError
from apfctl_panda.http import HttpOptions, snippet


@dataclass
class Document:
    content: dict[str, Any]
    fetched: float         # epoch seconds when it was read from the source
    from_cache: bool


def age_text(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 05 min``, ``7 min``: the age of a cached copy for a warning."""
    minutes = int(max(seconds, 0) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


# Fields every PanDA queue object of CRIC has; a document with none of them is another document
# (an error page in JSON, a login answer, another API's reply), not a CRIC with no queues.
_QUEUE_FIELDS = ("panda_resource", "queues", "siteid")


def _checked(content: Any, source: str) -> dict[str, Any]:
    """The document if it has CRIC's shape: an object of PanDA queue objects; else BackendError.

    Checked before it is used or cached, so a wrong-shaped answer never replaces a good copy.
    """
    if not isinstance(content, dict) or not content:
        kind = "an empty object" if content == {} else type(content).__name__
        raise BackendError(f"{source} is {kind}, not CRIC's object of PanDA queues")
    for key, value in content.items():
        if not isinstance(value, dict):
            raise BackendError(f"{source} is not CRIC's object of PanDA queues: {snippet(str(key))!r} is "
                               f"{type(value).__name__}, not a queue object")
    if not any(field in value for value in content.values() for field in _QUEUE_FIELDS):
        raise BackendError(f"{source} is not CRIC's object of PanDA queues: no entry has any of "
                           f"{', '.join(_QUEUE_FIELDS)}")
    return content


class CricSource:
    """The document at ``location`` (http(s) URL, ``file://`` URL or path), cached."""

    def __init__(self, location: str, state_dir: Path, refresh: float, options: HttpOptions) -> None:
        self.location = location
        self.is_url = location.startswith(("http://", "https://"))
        self.refresh = refresh
        self.options = options
        digest = hashlib.sha256(location.encode()).hexdigest()[:16]
        self.cache_path = state_dir / "cric" / f"{digest}.json"

    def _read_source(self) -> dict[str, Any]:
        if self.is_url:
            from apfctl_panda.http import JsonClient

            client = JsonClient(self.options)
            try:
                return _checked(client.get_json(self.location), self.location)
            finally:
                client.close()
        path = Path(self.location.removeprefix("file://")).expanduser()
        try:
            text = read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise BackendError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            return _checked(json.loads(text), str(path))
        except ValueError:
            raise BackendError(f"{path} is not JSON: {snippet(text)!r}") from None

    def _read_cache(self, warnings: list[str]) -> Document | None:
        try:
            cached = json.loads(read_text(self.cache_path))
            return Document(_checked(cached["document"], str(self.cache_path)), float(cached["fetched"]), True)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, BackendError) as exc:
            warnings.append(f"CRIC: ignoring the unreadable cache {self.cache_path}: {snippet(str(exc))}")
            return None

    def _write_cache(self, document: Document, warnings: list[str]) -> None:
        payload = json.dumps({"source": self.location, "fetched": document.fetched, "document": document.content})
        temporary: str | None = None
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.cache_path.parent, prefix=".cric-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(payload)
            os.replace(temporary, self.cache_path)
        except OSError as exc:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            warnings.append(f"CRIC: cannot write the cache {self.cache_path}: {exc.strerror or exc}")

    def load(self, warnings: list[str], now: float | None = None) -> Document | None:
        """The document, or None (with a warning) when neither the source nor a cache has one."""
        now = time.time() if now is None else now
        cached = self._read_cache(warnings)
        if self.is_url and cached is not None and 0 <= now - cached.fetched < self.refresh:
            return cached
        try:
            document = Document(self._read_source(), now, False)
        except BackendError as exc:
            if cached is None:
                warnings.append(f"CRIC: {exc}; no cached copy in {self.cache_path.parent}, "
                                "so no CRIC queue is configured")
                return None
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cached.fetched))
            warnings.append(f"CRIC: {exc}; using the copy cached {age_text(now - cached.fetched)} ago ({when})")
            return cached
        self._write_cache(document, warnings)
        return document
