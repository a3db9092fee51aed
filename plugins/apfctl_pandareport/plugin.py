"""The ``PandaReport`` monitor plugin: workers, worker statistics and a heartbeat to PanDA.

Configured by a monitor.conf section that queues opt in to with ``monitorsection``::

    [panda-report]
    monitorplugin = PandaReport
    pandareport.baseurl = https://pandaserver.cern.ch:25443
    pandareport.auth = panda-prod          # an auth.conf profile: X509 (proxy) or Token
    # defaults shown
    pandareport.verify = True              # TLS: True, False, or a CA bundle path
    pandareport.origin =                   # with a token: the VO PanDA checks it for (Origin)
    pandareport.timeout = 5                # seconds for one request (connect and each read)
    pandareport.budget = 15                # seconds for everything one publish sends
    pandareport.batchsize = 100            # workers per update_workers
    pandareport.keep = 6                   # hours a call that could not be sent is retried
    pandareport.outbox = 1000              # calls kept at most; the oldest go first
    pandareport.maxanswer = 1048576        # bytes of an answer read at most
    pandareport.jobtype = ANY              # the jobType workers and statistics are reported under

PanDA down or slow costs the cycle at most ``pandareport.budget`` seconds: the calls run on
a worker thread that publish stops waiting for. A call that fails (no connection, a
timeout, an HTTP error, an answer that is not PanDA's envelope, ``success: false``, an
answer too large) stops the sending with a warning naming the call; it and the calls after
it wait in the outbox and go first, in order, next cycle. ``publish`` never raises.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from apfctl.config.keys import Key, parse_verify
from apfctl.interfaces import FactoryContext, MonitorPlugin
from apfctl.outbox import Call, Outbox, bound, expire
from apfctl_pandareport import calls as api

log = logging.getLogger("apfctl.pandareport")

DEFAULT_BASEURL = "https://pandaserver.cern.ch:25443"
SECTION_KEYS: dict[str, Key] = {
    "pandareport.baseurl": Key("str", DEFAULT_BASEURL, doc="PanDA server; /api/v1/harvester/... is appended"),
    "pandareport.auth": Key("str", None, doc="auth.conf profile (X509 proxy or Token) to authenticate with"),
    "pandareport.verify": Key("str", "True", doc="TLS verification: True, False or a CA bundle path"),
    "pandareport.origin": Key("str", None, doc="with a token: the VO sent as Origin (PanDA's token check)"),
    "pandareport.timeout": Key("float", 5.0, minimum=0.1, doc="seconds for one request"),
    "pandareport.budget": Key("float", 15.0, minimum=0.1, doc="seconds for everything one publish sends"),
    "pandareport.batchsize": Key("int", 100, minimum=1, doc="workers per update_workers call"),
    "pandareport.keep": Key("float", 6.0, minimum=0, doc="hours a call that failed is retried"),
    "pandareport.outbox": Key("int", 1000, minimum=1, doc="calls the outbox keeps at most (oldest dropped)"),
    "pandareport.maxanswer": Key("int", 1 << 20, minimum=1024, doc="bytes of one answer read at most"),
    "pandareport.jobtype": Key("str", "ANY", doc="jobType of the workers and statistics (managed, user, ANY)"),
}


class _Failed(Exception):
    """A call PanDA did not take: stop sending, keep it and the rest for next cycle."""


def _setting(section: Mapping[str, str], section_name: str, key: str) -> Any:
    spec = SECTION_KEYS[key]
    raw = section.get(key)
    try:
        return spec.convert(raw)
    except ValueError as exc:
        raise ValueError(f"monitor section [{section_name}]: {key} = {raw!r}: {exc}") from None


def check_answer(call: Call, body: Any) -> None:
    """PanDA's envelope with ``success: true`` (and one True per worker for update_workers)."""
    name = call.path.rsplit("/", 1)[-1]
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise _Failed(f"{name}: the answer is not PanDA's {{success, message, data}} envelope")
    if body["success"] is not True:
        raise _Failed(f"{name}: PanDA answered success: false ({str(body.get('message') or 'no message')[:200]})")
    if name == "update_workers":
        data = body.get("data")
        sent = len(call.json.get("workers", [])) if isinstance(call.json, dict) else 0
        if not isinstance(data, list) or len(data) != sent or not all(item is True for item in data):
            raise _Failed(f"update_workers: PanDA's data {str(data)[:80]!r} does not confirm the {sent} workers")


class _Sender:
    """Sends calls in order on a worker thread; ``sent`` counts those PanDA took."""

    def __init__(self, client: Any, base_url: str, calls: list[Call], timeout: float, deadline: float,
                 max_bytes: int) -> None:
        self.client = client
        self.base_url = base_url
        self.calls = calls
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.sent = 0
        self.stopped = False
        self.problem: str | None = None

    def run(self) -> None:
        from apfctl.errors import BackendError

        try:
            for call in self.calls:
                remaining = self.deadline - time.monotonic()
                with self.lock:
                    if self.stopped or remaining <= 0:
                        return
                try:
                    body = self.client.request_json(call.method, self.base_url + call.path, body=call.json,
                                                    timeout=min(self.timeout, remaining), max_bytes=self.max_bytes)
                except BackendError as exc:
                    raise _Failed(f"{call.path.rsplit('/', 1)[-1]}: {exc}") from None
                check_answer(call, body)
                with self.lock:
                    if self.stopped:
                        return
                    self.sent += 1
        except _Failed as exc:
            with self.lock:
                self.problem = str(exc)
        except Exception as exc:  # a monitor never fails the cycle: whatever it is, keep and log
            with self.lock:
                self.problem = f"{type(exc).__name__}: {exc}"
        finally:
            self.client.close()

    def stop(self) -> tuple[int, str | None]:
        with self.lock:
            self.stopped = True
            return self.sent, self.problem


class PandaReport(MonitorPlugin):
    """Reports the queues' pilots to PanDA as workers of this factory's Harvester id."""

    SECTION_KEYS: ClassVar[Mapping[str, Key]] = SECTION_KEYS

    def __init__(self, section_name: str, section: Mapping[str, str], factory: FactoryContext) -> None:
        super().__init__(section_name, section, factory)

        def setting(key: str) -> Any:
            return _setting(section, section_name, f"pandareport.{key}")

        self.base_url = str(setting("baseurl")).rstrip("/").removesuffix("/api/v1")
        self.auth: str | None = setting("auth")
        self.verify: bool | str = parse_verify(setting("verify"))
        self.origin: str | None = setting("origin")
        self.timeout = float(setting("timeout"))
        self.budget = float(setting("budget"))
        self.batch_size = int(setting("batchsize"))
        self.keep = float(setting("keep")) * 3600
        self.most = int(setting("outbox"))
        self.max_bytes = int(setting("maxanswer"))
        self.job_type = str(setting("jobtype"))
        self.outbox = Outbox.for_section(factory.state_dir, section_name, kind="pandareport")

    def client(self) -> Any:
        """A JSON client with the PanDA WMS plugin's TLS options and the profile's proxy or token."""
        from apfctl_panda.http import HttpOptions, JsonClient

        from apfctl.auth.queues import load_auth

        cert = token = None
        if self.auth:
            from apfctl.auth import manager

            profile = load_auth(self.factory.config).profiles.get(self.auth)
            if profile is None:
                raise ValueError(f"monitor section [{self.section_name}]: pandareport.auth = {self.auth!r} is not a "
                                 "usable auth.conf profile")
            path = manager.watched_file(profile)
            if profile.kind == "token":
                token = path
            else:
                cert = path
        return JsonClient(HttpOptions(verify=self.verify, cert=cert, token_file=token, timeout=self.timeout,
                                      retries=0, origin=self.origin))

    def publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        try:
            self._publish(records)
        except Exception as exc:  # never fail the cycle
            log.warning("PanDA report %s: publishing failed: %s", self.section_name, exc)
            log.debug("PanDA report failure", exc_info=True)

    def _publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        from apfctl_pandareport.report import Report

        records = [r for r in records if not (r.get("submission") or {}).get("dry_run")]
        if not records:
            return      # a dry run has no side effects, PanDA included
        started = time.monotonic()
        client = self.client()     # a credential problem stops here, before anything is claimed or marked
        report = Report(self.factory, self.section_name, self.job_type, socket.getfqdn())
        new_calls, reported = report.calls(records, self.batch_size)
        queued, too_old = expire(self.outbox.claim(), self.keep)
        if too_old:
            log.warning("PanDA report %s: dropped %d calls that failed more than %g h ago", self.section_name,
                        too_old, self.keep / 3600)
        calls, dropped = bound(api.merge(queued, new_calls), self.most)
        if dropped:
            log.warning("PanDA report %s: the outbox holds at most pandareport.outbox = %d calls; dropped the "
                        "%d oldest", self.section_name, self.most, dropped)
        sender = _Sender(client, self.base_url, calls, self.timeout, started + self.budget, self.max_bytes)
        worker = threading.Thread(target=sender.run, name=f"pandareport-{self.section_name}", daemon=True)
        worker.start()
        worker.join(max(0.0, started + self.budget - time.monotonic()))
        sent, problem = sender.stop()
        unsent = calls[sent:]
        if unsent and problem is None:
            problem = f"not done within pandareport.budget = {self.budget:g} s"
        now = time.time()
        for call in unsent:
            call.queued = call.queued or now
        self.outbox.put(unsent)
        report.mark(reported)
        if unsent:
            log.warning("PanDA report %s: %s; %d of %d calls kept in the outbox for the next cycle",
                        self.section_name, problem, len(unsent), len(calls))
        else:
            log.info("PanDA report %s: %d calls sent", self.section_name, len(calls))
