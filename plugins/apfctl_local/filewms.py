"""The ``File`` WMS status plugin: waiting work per queue from a JSON document.

``wmsstatus.file.path`` names a local file (a relative path is taken from the folder of the
config file that set it) or an http(s) URL. The document is one JSON object keyed by WMS
queue name (the queue's ``wmsqueue``, default its section name)::

    {"DEMO_SITE_A": {"ready": 12, "notready": 1, "running": 3, "done": 40, "failed": 2, "status": "online"}}

Missing counts read as 0 and a missing ``status`` as none. An entry may give counts per
resource type too, ``"types": {"SCORE": {"ready": 9}, "MCORE": {"ready": 3}}``, for queues
that serve types (docs/resource-types.md); a type the queue serves but the entry omits has
no waiting work. The document is read once per
invocation whatever the number of queues: every queue naming the same location shares one
instance (the location is the endpoint).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from apfctl.bounded import MAX_DOCUMENT_BYTES, DeadlineExceeded, call_with_deadline, check_count, read_file, read_stream
from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import FactoryContext, WMSCounts, WMSStatusPlugin

COUNT_FIELDS = ("ready", "notready", "running", "done", "failed")
URL_SCHEMES = ("http://", "https://")

KEYS: dict[str, Key] = {
    "wmsstatus.file.path": Key("str", None, required=True,
                               doc="JSON file (relative to this config file) or http(s) URL with counts per wmsqueue"),
    "wmsstatus.file.timeout": Key("float", 10.0, minimum=0.1, doc="seconds to wait for the URL's answer"),
}


def location(queue: QueueConfig) -> str:
    """The URL as written, or the file's path resolved against the config file's folder."""
    text = queue.typed("wmsstatus.file.path", KEYS["wmsstatus.file.path"]).strip()
    if text.lower().startswith(URL_SCHEMES):
        return text
    if text.lower().startswith("file://"):
        return text[len("file://"):]
    return queue.typed("wmsstatus.file.path", Key("path", None, required=True))


def _fetch(url: str, timeout: float) -> bytes:
    import urllib.error  # lazy: only the URL form needs them
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        def fetch() -> bytes:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return read_stream(answer, MAX_DOCUMENT_BYTES, url)

        # ``timeout`` bounds each socket read; the deadline bounds the whole fetch (a trickle)
        return call_with_deadline(fetch, timeout, f"File WMS: {url}")
    except DeadlineExceeded as exc:
        raise BackendError(f"File WMS: {url}: no answer within {timeout:g} s") from exc
    except urllib.error.HTTPError as exc:
        raise BackendError(f"File WMS: {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise BackendError(f"File WMS: {url}: no answer within {timeout:g} s") from exc
        raise BackendError(f"File WMS: {url}: {exc.reason}") from exc
    except TimeoutError as exc:
        raise BackendError(f"File WMS: {url}: no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise BackendError(f"File WMS: {url}: {exc}") from exc


def _read(path: str) -> bytes:
    try:
        return read_file(path)
    except FileNotFoundError as exc:
        raise BackendError(f"File WMS: {path}: no such file") from exc
    except OSError as exc:
        raise BackendError(f"File WMS: {path}: cannot read: {exc.strerror or exc}") from exc


def load_document(where: str, timeout: float) -> dict[str, Any]:
    """The document as a dict; BackendError naming the file or URL and what is wrong."""
    raw = _fetch(where, timeout) if where.lower().startswith(URL_SCHEMES) else _read(where)
    try:
        document = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BackendError(f"File WMS: {where}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise BackendError(f"File WMS: {where}: not valid JSON: {exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}") from exc
    if not isinstance(document, dict):
        raise BackendError(f"File WMS: {where}: expected a JSON object keyed by WMS queue name, "
                           f"found {type(document).__name__}")
    return document


def _counts(where: str, path: str, entry: Any) -> dict[str, int]:
    if not isinstance(entry, dict):
        raise BackendError(f"File WMS: {where}: {path!r} must be an object of counts, found {type(entry).__name__}")
    found = {}
    for name in COUNT_FIELDS:
        try:
            found[name] = check_count(entry.get(name, 0), f"{path}.{name}")
        except ValueError as exc:
            raise BackendError(f"File WMS: {where}: {exc}") from None
    return found


def counts(where: str, wmsqueue: str, entry: Any, served: Sequence[str] = ()) -> WMSCounts:
    """One queue's counts (and, for the types it serves, per type); BackendError naming the field."""
    result: WMSCounts = {"queue": wmsqueue, **_counts(where, wmsqueue, entry)}  # type: ignore[typeddict-item]
    if served:
        by_type = entry.get("types") or {}
        if not isinstance(by_type, dict):
            raise BackendError(f"File WMS: {where}: {wmsqueue}.types must be an object keyed by resource type")
        result["types"] = {rt: _counts(where, f"{wmsqueue}.types.{rt}", by_type.get(rt, {})) for rt in served}
    status = entry.get("status")
    if status is not None and not isinstance(status, str):
        raise BackendError(f"File WMS: {where}: {wmsqueue}.status = {status!r} is not a string")
    result["status"] = status
    return result


class FileWMSStatus(WMSStatusPlugin):
    """Reads one JSON document (file or URL) and answers every queue that names it."""

    KEYS = KEYS

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        return location(queue)

    def query(self, queues: Sequence[QueueConfig]) -> Mapping[str, WMSCounts | Exception]:
        if not queues:
            return {}
        where = str(self.endpoint_key)
        timeout = max(queue.typed("wmsstatus.file.timeout", KEYS["wmsstatus.file.timeout"]) for queue in queues)
        document = load_document(where, timeout)
        results: dict[str, WMSCounts | Exception] = {}
        for queue in queues:
            wmsqueue = queue.wmsqueue
            if wmsqueue not in document:
                results[queue.name] = BackendError(f"File WMS: {where} has no entry for WMS queue {wmsqueue!r}")
                continue
            served = queue.getlist("resourcetypes") or ([queue.getstr("resourcetype")]
                                                         if queue.getstr("resourcetype") else [])
            try:
                results[queue.name] = counts(where, wmsqueue, document[wmsqueue], served)
            except BackendError as exc:
                results[queue.name] = exc
        return results
