"""The ``Panda`` wmsstatus plugin: waiting work and site status from PanDA's JSON API.

One instance per endpoint (server URL and connection options) serves every queue that
shares it, with one GET of each API path per invocation, whatever the number of queues:

* ``get_site_specs?type=all`` — each site's ``status`` (online, test, offline, brokeroff);
* ``active_job_stats_by_site`` — for queues counting every label and resource type;
* ``active_job_detailed_stats_by_site`` — only if some queue restricts labels or resource
  types, or serves resource types (``resourcetypes``/``resourcetype``): such a queue also
  gets ``types``, its counts per resource type, from that same fetch.

A site that PanDA knows (in the site specs) but that has no active job is absent from the
statistics: it gets zeros, which is the truth. A site in neither is an error for that
queue (a typo or a removed queue), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import FactoryContext, WMSCounts, WMSStatusPlugin

DEFAULT_BASEURL = "https://pandaserver.cern.ch:25443"
_STATUS_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")

KEYS: dict[str, Key] = {
    "wmsstatus.panda.baseurl": Key("str", DEFAULT_BASEURL,
                                   doc="PanDA server; /api/v1/... is appended"),
    "wmsstatus.panda.verify": Key("str", "True",
                                  doc="check the server's certificate: True, False, or a CA bundle path"),
    "wmsstatus.panda.cert": Key("path", None, doc="client certificate or X.509 proxy file"),
    "wmsstatus.panda.key": Key("path", None, doc="client key file, when not in the certificate file"),
    "wmsstatus.panda.token": Key("path", None, doc="file holding a bearer token (read at each fetch)"),
    "wmsstatus.panda.timeout": Key("float", 30.0, minimum=0.1, doc="seconds to connect and for each read"),
    "wmsstatus.panda.retries": Key("int", 3, minimum=0, doc="further tries after a failure, with backoff"),
    "wmsstatus.panda.labels": Key("list", None,
                                  doc="count only these prodSourceLabels (managed, user, rc_test, ...); "
                                      "default every label"),
    "wmsstatus.panda.share": Key("str", "off", choices=("auto", "off"),
                                 doc="auto: take a 1/n share of the ready jobs, n the factories PanDA reports for "
                                     "the queue (get_worker_statistics), as Harvester's activateWorkerFactor = auto"),
    "wmsstatus.panda.resourcetypes": Key("list", None,
                                         doc="count only these resource types (SCORE, MCORE, ...); default all"),
}


def _baseurl(text: str) -> str:
    base = text.strip().rstrip("/")
    return base[: -len("/api/v1")] if base.endswith("/api/v1") else base


def _restriction(queue: QueueConfig, key: str) -> frozenset[str] | None:
    values = queue.typed(key, KEYS[key])
    return frozenset(values) if values else None


def _served_types(queue: QueueConfig) -> tuple[str, ...]:
    """The resource types the queue's pilots are decided for (docs/resource-types.md)."""
    many = queue.getlist("resourcetypes")
    one = queue.getstr("resourcetype")
    return tuple(many) if many else ((one,) if one else ())


class Panda(WMSStatusPlugin):
    """Activated, pending, running, finished and failed jobs of PanDA sites, and their status."""

    KEYS = KEYS

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        """(baseurl, verify, cert, key, token, timeout, retries): equal options share a fetch."""
        def typed(name: str) -> Any:
            return queue.typed(f"wmsstatus.panda.{name}", KEYS[f"wmsstatus.panda.{name}"])

        return (_baseurl(typed("baseurl")), queue.tls_verify("wmsstatus.panda.verify"), typed("cert"), typed("key"),
                typed("token"), typed("timeout"), typed("retries"))

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        problems = []
        base = queue.get("wmsstatus.panda.baseurl") or DEFAULT_BASEURL
        parts = urlsplit(base.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"wmsstatus.panda.baseurl: {base!r} is not an http(s) URL")
        elif parts.path.rstrip("/").endswith("/server/panda"):
            problems.append("wmsstatus.panda.baseurl: the legacy /server/panda API is gone; "
                            "give the server only (https://host:port), /api/v1 is appended")
        for key in ("cert", "key", "token"):
            path = queue.typed(f"wmsstatus.panda.{key}", KEYS[f"wmsstatus.panda.{key}"])
            if path and not Path(path).is_file():
                problems.append(f"wmsstatus.panda.{key}: no such file {path!r}")
        try:
            verify = cls.endpoint(queue, factory)[1]
        except ConfigError:   # a badly typed key, which the key validation reports
            return problems
        if isinstance(verify, str) and not Path(verify).exists():
            problems.append(f"wmsstatus.panda.verify: not True, False or an existing CA bundle: {verify!r}")
        return problems

    def __init__(self, endpoint: Hashable, factory: FactoryContext) -> None:
        from apfctl_panda.http import HttpOptions, JsonClient

        super().__init__(endpoint, factory)
        baseurl, verify, cert, key, token, timeout, retries = endpoint  # type: ignore[misc]
        self.baseurl: str = baseurl
        self.client = JsonClient(HttpOptions(verify=verify, cert=cert, key=key, token_file=token,
                                             timeout=timeout, retries=retries))

    def query(self, queues: Sequence[QueueConfig]) -> Mapping[str, WMSCounts | Exception]:
        from apfctl_panda import api

        wanted = {q.name: (q.wmsqueue, _restriction(q, "wmsstatus.panda.labels"),
                           _restriction(q, "wmsstatus.panda.resourcetypes"), _served_types(q)) for q in queues}

        def detailed(name: str) -> bool:
            _, labels, types, served = wanted[name]
            return labels is not None or types is not None or bool(served)

        shared = {q.name for q in queues if str(q.typed("wmsstatus.panda.share", KEYS["wmsstatus.panda.share"])).lower()
                  == "auto"}
        workers: dict[str, Any] | BackendError = {}
        try:
            if shared:   # one fetch for every shared queue of the endpoint
                try:
                    workers = api.fetch(self.client, self.baseurl, api.WORKER_STATS)
                except BackendError as exc:   # fails only the shared queues: their share is unknown
                    workers = exc
            specs = api.fetch(self.client, self.baseurl, api.SITE_SPECS, api.SITE_SPECS_PARAMS)
            stats: dict[bool, dict[str, Any] | BackendError] = {}
            for needs_detail in {detailed(name) for name in wanted}:
                path = api.DETAILED_JOB_STATS if needs_detail else api.JOB_STATS
                try:
                    stats[needs_detail] = api.fetch(self.client, self.baseurl, path)
                except BackendError as exc:   # fails only the queues that need this path
                    stats[needs_detail] = exc
        finally:
            self.client.close()
        results: dict[str, WMSCounts | Exception] = {}
        for name, (site, labels, types, served) in wanted.items():
            source = stats[detailed(name)]
            if isinstance(source, Exception):
                results[name] = source
                continue
            try:
                results[name] = self._counts(site, specs, source, labels, types, served, detailed(name))
                if name in shared:
                    results[name] = self._shared(results[name], site, workers)
            except BackendError as exc:
                results[name] = exc
        return results

    def _shared(self, counts: WMSCounts, site: str, workers: Mapping[str, Any] | BackendError) -> WMSCounts:
        from apfctl.workers import instance_id
        from apfctl_panda.sharing import factories, share

        if isinstance(workers, BackendError):
            raise BackendError(f"wmsstatus.panda.share = auto: {workers}")
        n = factories(workers, site, instance_id(self.factory.config))
        return share(dict(counts), n)  # type: ignore[return-value]

    def _counts(self, site: str, specs: Mapping[str, Any], stats: Mapping[str, Any],
                labels: frozenset[str] | None, types: frozenset[str] | None,
                served: tuple[str, ...], detailed: bool) -> WMSCounts:
        from apfctl_panda.counts import BadCounts, detailed_site_counts, per_type_site_counts, site_counts, zero_counts

        if site not in specs and site not in stats:
            raise BackendError(f"unknown PanDA site {site!r}: not in the site specs nor the job statistics "
                               f"of {self.baseurl} (check wmsqueue)")
        try:
            if site not in stats:
                counts = zero_counts()   # known site, no active job
            elif not detailed:
                counts = site_counts(stats[site], site)
            else:
                counts = detailed_site_counts(stats[site], site, labels, types)
            by_type = per_type_site_counts(stats.get(site, {}), site, labels, served) if served else None
        except BadCounts as exc:
            raise BackendError(f"PanDA statistics of {self.baseurl} are malformed: {exc}") from None
        status = None
        spec = specs.get(site)
        if spec is not None:
            if not isinstance(spec, Mapping):
                raise BackendError(f"PanDA site specs of {site!r} are not an object")
            status = spec.get("status")
            if status is not None and (not isinstance(status, str) or not _STATUS_WORD.match(status)):
                raise BackendError(f"PanDA site {site!r} has a malformed status {status!r}")
        result: WMSCounts = {"queue": site, **counts, "status": status}  # type: ignore[typeddict-item]
        if by_type is not None:
            result["types"] = by_type
        return result
