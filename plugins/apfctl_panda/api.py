"""The PanDA server's v1 JSON API: the paths apfctl reads and the ``{success, message, data}`` envelope.

The server answers JSON only to ``Accept: application/json`` (otherwise a Python repr),
which :class:`apfctl_panda.http.JsonClient` always sends.
"""

from __future__ import annotations

from typing import Any

from apfctl.errors import BackendError
from apfctl_panda.http import JsonClient, snippet

JOB_STATS = "/api/v1/statistics/active_job_stats_by_site"
DETAILED_JOB_STATS = "/api/v1/statistics/active_job_detailed_stats_by_site"
SITE_SPECS = "/api/v1/metaconfig/get_site_specs"
SITE_SPECS_PARAMS = {"type": "all"}   # the server's default is analysis sites only
WORKER_STATS = "/api/v1/harvester/get_worker_statistics"   # {site: {harvester_id: ...}}, needs a secure connection


def fetch(client: JsonClient, baseurl: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """``data`` of one API call, a mapping keyed by site; BackendError with the server's reason."""
    url = baseurl + path
    body = client.get_json(url, params)
    if not isinstance(body, dict) or "success" not in body:
        raise BackendError(f"the answer from {url} is not a PanDA API envelope: {snippet(repr(body))!r}")
    if body.get("success") is not True:
        message = body.get("message") or "no message"
        raise BackendError(f"PanDA refused {path}: {snippet(str(message))}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BackendError(f"PanDA {path} returned {type(data).__name__} data, expected an object keyed by site")
    return data
