"""A test kit for PanDA and CRIC: documents in the real formats and a fake PanDA server.

For apfctl's tests and for authors of plugins that talk to PanDA or CRIC. The shapes follow
panda-server 1.0.4's v1 API (docs/panda.md):

* ``active_job_detailed_stats_by_site``: ``{site: {resource_type: {prodSourceLabel: {jobStatus: n}}}}``;
* ``active_job_stats_by_site``: ``{site: {jobStatus: n}}``, ``merging`` dropped and
  ``assigned``/``activated``/``running`` always present (the server fills them with 0);
* ``get_site_specs``: ``{siteid: {SiteSpec attributes}}``;
* every answer wrapped in ``{"success", "message", "data"}``, sent as JSON only to a request
  with ``Accept: application/json``.

:func:`serve_panda` registers these on a ``pytest_httpserver.HTTPServer``; the server answers
a request without the JSON Accept header with a Python repr, as the real one does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from apfctl_panda import api

Detailed = dict[str, dict[str, dict[str, dict[str, int]]]]

SPEC_DEFAULTS: dict[str, Any] = {
    "cloud": "US", "type": "production", "maxtime": 345600, "memory": 2000, "maxrss": 2000,
    "corecount": 1, "gatekeeper": "", "queue": "", "pledgedCPU": 0, "capability": "ucore",
    "is_unified": True, "wnconnectivity": "full", "direct_access_lan": False,
}


def envelope(data: Any, success: bool = True, message: str = "") -> dict[str, Any]:
    return {"success": success, "message": message, "data": data}


def summary_stats(detailed: Mapping[str, Mapping[str, Mapping[str, Mapping[str, int]]]]) -> dict[str, dict[str, int]]:
    """What ``active_job_stats_by_site`` answers for the same jobs as ``detailed``."""
    summary: dict[str, dict[str, int]] = {}
    for site, by_type in detailed.items():
        totals = {"assigned": 0, "activated": 0, "running": 0}
        for by_label in by_type.values():
            for statuses in by_label.values():
                for status, count in statuses.items():
                    if status != "merging":
                        totals[status] = totals.get(status, 0) + count
        summary[site] = totals
    return summary


def site_specs(statuses: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``get_site_specs`` data for sites with the given status (online, test, offline, brokeroff)."""
    return {site: {**SPEC_DEFAULTS, "sitename": site, "nickname": site, "siteid": site, "status": status}
            for site, status in statuses.items()}


def realistic_detailed() -> Detailed:
    """Several sites, resource types and labels, including hidden ``rc_test`` and ignored ``merging``."""
    return {
        "BNL_PROD": {
            "SCORE": {"managed": {"activated": 120, "defined": 2, "assigned": 1, "running": 40, "starting": 3,
                                  "holding": 1, "merging": 9, "finished": 30, "failed": 2, "cancelled": 1},
                      "rc_test": {"activated": 2, "running": 1}},
            "MCORE": {"managed": {"activated": 30, "waiting": 4, "throttled": 1, "transferring": 2, "sent": 1}},
        },
        "CERN_TEST": {"SCORE": {"rc_test": {"activated": 5, "pending": 1}, "ptest": {"activated": 1}}},
        "MWT2_OFF": {"SCORE": {"managed": {"activated": 50, "running": 10}}},
        "AGLT2_UCORE": {"SCORE_HIMEM": {"user": {"activated": 7, "closed": 3}}},
    }


def unified_detailed() -> Detailed:
    """One unified (UCORE) site with jobs of all four ATLAS resource types, and another label."""
    return {
        "BNL_UCORE": {
            "SCORE": {"managed": {"activated": 300, "running": 800, "starting": 5, "finished": 40, "failed": 3},
                      "user": {"activated": 20, "running": 10}},
            "MCORE": {"managed": {"activated": 45, "running": 120, "assigned": 6, "merging": 2}},
            "SCORE_HIMEM": {"managed": {"activated": 7, "running": 3}},
            "MCORE_HIMEM": {"managed": {"defined": 1}},
        },
    }


def realistic_statuses() -> dict[str, str]:
    """Site status of :func:`realistic_detailed`'s sites, plus an idle online site and a brokeroff one."""
    return {"BNL_PROD": "online", "CERN_TEST": "test", "MWT2_OFF": "offline", "AGLT2_UCORE": "online",
            "IDLE_SITE": "online", "SWT2_BROKEROFF": "brokeroff"}


def _json_or_repr(body: Any) -> Callable[[Any], Any]:
    from werkzeug import Request, Response

    def handler(request: Request) -> Response:
        if "application/json" in request.headers.get("Accept", ""):
            return Response(json.dumps(body), content_type="application/json")
        return Response(str(body), content_type="text/html")   # the real server's str(dict)

    return handler


def serve_panda(httpserver: Any, detailed: Detailed | None = None,
                statuses: Mapping[str, str] | None = None) -> None:
    """Register the three PanDA endpoints on a pytest-httpserver, answering every time."""
    detailed = realistic_detailed() if detailed is None else detailed
    statuses = realistic_statuses() if statuses is None else statuses
    httpserver.expect_request(api.JOB_STATS, method="GET").respond_with_handler(
        _json_or_repr(envelope(summary_stats(detailed))))
    httpserver.expect_request(api.DETAILED_JOB_STATS, method="GET").respond_with_handler(
        _json_or_repr(envelope(detailed)))
    httpserver.expect_request(api.SITE_SPECS, method="GET", query_string=api.SITE_SPECS_PARAMS).respond_with_handler(
        _json_or_repr(envelope(site_specs(statuses))))


def fetches(httpserver: Any) -> dict[str, int]:
    """How many requests each path received (from the server's log)."""
    counts: dict[str, int] = {}
    for request, _ in httpserver.log:
        counts[request.path] = counts.get(request.path, 0) + 1
    return counts


# --- CRIC --------------------------------------------------------------------------------------
def cric_ce(endpoint: str, flavour: str = "htcondor-ce", queue_name: str = "default", **fields: Any) -> dict[str, Any]:
    """One CE entry of a CRIC PanDA queue, active and in production unless told otherwise."""
    host = endpoint.split(":")[0]
    return {"ce_name": host.split(".")[0].upper(), "ce_endpoint": endpoint, "ce_state": "ACTIVE",
            "ce_status": "production", "ce_queue_status": "production", "ce_flavour": flavour,
            "ce_version": "", "ce_queue_name": queue_name, "ce_jobmanager": "condor",
            "ce_queue_maxcputime": 0, "ce_queue_maxwctime": 5760, **fields}


def cric_queue(name: str, ces: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """One CRIC PanDA queue that APF's rules select (grid, active, pilot_manager apf)."""
    return {"nickname": name, "panda_resource": name, "atlas_site": name.split("_")[0], "cloud": "US",
            "corecount": 1, "maxmemory": 2000, "maxrss": 2000, "maxswap": 4000, "maxtime": 172800,
            "memory": 2000, "pilot_manager": "APF", "pilot_version": "3.7.0", "resource_type": "GRID",
            "site_state": "ACTIVE", "state": "ACTIVE", "status": "online", "type": "production",
            "vo_name": "atlas", "capability": "ucore", "harvester": "", "workflow": "pull_ups",
            "queues": ces, **fields}
