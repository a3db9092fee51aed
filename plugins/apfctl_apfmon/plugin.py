"""The ``APFMon`` monitor plugin (also registered as APF's name, ``APF``).

Configured by a monitor.conf section, as in APF::

    [apfmon-lancaster]
    monitorplugin = APF
    monitorURL = http://apfmon.lancs.ac.uk/api
    # apfctl's additions (defaults shown)
    apfmon.timeout = 3          # seconds for one request (connect and each read)
    apfmon.budget = 10          # seconds for everything one publish sends
    apfmon.batchsize = 100      # labels or pilots per PUT
    apfmon.keep = 6             # hours a call that could not be sent is retried
    apfmon.verify = True        # TLS: True, False, or a CA bundle path

A slow or dead apfmon costs the cycle at most ``apfmon.budget`` seconds: the calls run in a
worker thread that publish stops waiting for. On a connection error, a timeout or a 5xx/
408/429 answer, sending stops and the rest waits in the outbox for the next cycle; a call
refused for good (another 4xx) is logged and dropped. ``publish`` never raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from apfctl import __version__
from apfctl.config.keys import Key, parse_verify
from apfctl.interfaces import FactoryContext, MonitorPlugin
from apfctl.outbox import Call, Outbox, expire
from apfctl_apfmon.calls import build, is_dry_run, merge
from apfctl_apfmon.registry import registered, remember

log = logging.getLogger("apfctl.apfmon")

SECTION_KEYS: dict[str, Key] = {
    "monitorURL": Key("str", None, required=True, doc="apfmon's API base URL"),
    "apfmon.timeout": Key("float", 3.0, minimum=0.1, doc="seconds for one request"),
    "apfmon.budget": Key("float", 10.0, minimum=0.1, doc="seconds for everything one publish sends"),
    "apfmon.batchsize": Key("int", 100, minimum=1, doc="labels or pilots per PUT"),
    "apfmon.keep": Key("float", 6.0, minimum=0, doc="hours a call that failed is retried"),
    "apfmon.verify": Key("str", "True", doc="TLS verification: True, False or a CA bundle path"),
}
_RETRY_STATUS = frozenset({408, 429})


class _Transient(Exception):
    """apfmon could not take the call now: stop sending, retry next cycle."""


def _setting(section: Mapping[str, str], section_name: str, key: str) -> Any:
    """A monitor.conf value converted by SECTION_KEYS (keys are case-sensitive, as in APF and config check)."""
    spec = SECTION_KEYS[key]
    raw = section.get(key)
    if raw is None and spec.required:
        raise ValueError(f"monitor section [{section_name}]: {key} is required")
    try:
        return spec.convert(raw)
    except ValueError as exc:
        raise ValueError(f"monitor section [{section_name}]: {key} = {raw!r}: {exc}") from None


class _Sender:
    """Sends calls in order on a worker thread; ``sent`` counts those done with."""

    def __init__(self, base_url: str, calls: list[Call], timeout: float, deadline: float, verify: Any) -> None:
        self.base_url = base_url
        self.calls = calls
        self.timeout = timeout
        self.deadline = deadline
        self.verify = verify
        self.lock = threading.Lock()
        self.sent = 0
        self.accepted: dict[str, str] = {}      # what apfmon accepted: registry key -> digest
        self.stopped = False
        self.problem: str | None = None

    def run(self) -> None:
        try:
            import requests

            with requests.Session() as session:
                session.headers["User-Agent"] = f"apfctl/{__version__}"
                for call in self.calls:
                    remaining = self.deadline - time.monotonic()
                    with self.lock:
                        if self.stopped or remaining <= 0:
                            return
                    accepted = self._send(session, call, min(self.timeout, remaining))
                    with self.lock:
                        if self.stopped:
                            return
                        self.sent += 1
                        if accepted:
                            self.accepted.update(call.registers or {})
        except _Transient as exc:
            with self.lock:
                self.problem = str(exc)
        except Exception as exc:  # a monitor never fails the cycle: whatever it is, queue and log
            with self.lock:
                self.problem = f"{type(exc).__name__}: {exc}"

    def _send(self, session: Any, call: Call, timeout: float) -> bool:
        """True when apfmon accepted the call; False when it refused it for good (not retried)."""
        import requests

        url = self.base_url + call.path
        try:
            response = session.request(call.method, url, json=call.json, data=call.form, timeout=timeout,
                                       verify=self.verify)
        except requests.RequestException as exc:
            raise _Transient(f"{call.method} {url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status >= 500 or status in _RETRY_STATUS:
            raise _Transient(f"{call.method} {url}: HTTP {status}")
        if status >= 400:
            log.warning("apfmon refused %s %s (HTTP %d: %s); not retried", call.method, url, status,
                        response.text[:200])
            return False
        return True

    def stop(self) -> tuple[int, str | None, dict[str, str]]:
        """Stop after the call in flight; (calls done with, the problem met, what apfmon accepted)."""
        with self.lock:
            self.stopped = True
            return self.sent, self.problem, dict(self.accepted)


class APFMon(MonitorPlugin):
    """Publishes every cycle to apfmon: new pilots and each label's message; the factory and labels when new
    or changed."""

    SECTION_KEYS: ClassVar[Mapping[str, Key]] = SECTION_KEYS

    def __init__(self, section_name: str, section: Mapping[str, str], factory: FactoryContext) -> None:
        super().__init__(section_name, section, factory)
        self.url = str(_setting(section, section_name, "monitorURL")).rstrip("/")
        self.timeout = float(_setting(section, section_name, "apfmon.timeout"))
        self.budget = float(_setting(section, section_name, "apfmon.budget"))
        self.batch_size = int(_setting(section, section_name, "apfmon.batchsize"))
        self.keep = float(_setting(section, section_name, "apfmon.keep")) * 3600
        self.verify: bool | str = parse_verify(_setting(section, section_name, "apfmon.verify"))
        self.outbox = Outbox.for_section(factory.state_dir, section_name)

    def factory_info(self) -> dict[str, str]:
        config = self.factory.config
        return {"version": f"apfctl-{__version__}", "email": config.getstr("factoryAdminEmail") or "",
                "url": config.getstr("baseLogDirUrl") or ""}

    def publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        try:
            self._publish(records)
        except Exception as exc:  # never fail the cycle
            log.warning("apfmon %s: publishing failed: %s", self.section_name, exc)
            log.debug("apfmon failure", exc_info=True)

    def _publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        if records and all(is_dry_run(record) for record in records):
            return      # a dry run has no side effects, apfmon included
        started = time.monotonic()
        queued, too_old = expire(self.outbox.claim(), self.keep)
        if too_old:
            log.warning("apfmon %s: dropped %d calls that failed more than %g h ago", self.section_name, too_old,
                        self.keep / 3600)
        known = registered(self.factory.state_dir, self.section_name)
        calls = merge(queued, build(records, self.factory.factory_id, self.factory_info(), self.batch_size, known))
        sender = _Sender(self.url, calls, self.timeout, started + self.budget, self.verify)
        worker = threading.Thread(target=sender.run, name=f"apfmon-{self.section_name}", daemon=True)
        worker.start()
        worker.join(max(0.0, started + self.budget - time.monotonic()))
        sent, problem, accepted = sender.stop()
        remember(self.factory.state_dir, self.section_name, accepted)
        unsent = calls[sent:]
        if unsent and problem is None:
            problem = f"not done within apfmon.budget = {self.budget:g} s"
        now = time.time()
        for call in unsent:
            call.queued = call.queued or now
        self.outbox.put(unsent)
        if unsent:
            log.warning("apfmon %s: %d of %d calls not sent (%s); retried next cycle", self.section_name,
                        len(unsent), len(calls), problem)
        else:
            log.info("apfmon %s: %d calls sent", self.section_name, len(calls))
