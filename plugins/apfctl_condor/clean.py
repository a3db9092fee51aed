"""``apfctl clean`` for HTCondor queues: the hold policy and stale idle pilots.

Per queue (keys ``batchsubmit.<plugin>.clean.*``):

* held pilots matching a release rule (hold code, ``code:subcode``, or ``/regex/`` on the
  hold reason) are released while they have been held at most ``clean.held.maxreleases``
  times (``NumHolds``), and removed after that;
* held pilots no rule matches are removed when ``clean.held.remove`` is true;
* pilots idle for longer than ``clean.stale.idle`` seconds are removed.

Removals of held pilots count as faults in the batch status (something went wrong with
them); removals of stale idle pilots carry the factory's own reason prefix and count as
neither done nor fault. One query per queue, at most one ``act`` call per kind of action.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apfctl.errors import BackendError
from apfctl_condor.pilotqueue import PilotQueue
from apfctl_condor.schedd import act_reason, call
from apfctl_condor.states import HELD, PENDING, REMOVE_REASON_PREFIX, BadAttribute, attribute, job_id, total_success

_RULE = re.compile(r"^(\d+)(?:[:.](\d+))?$")
CLEAN_ATTRS = ["ClusterId", "ProcId", "JobStatus", "HoldReasonCode", "HoldReasonSubCode", "HoldReason",
               "NumHolds", "EnteredCurrentStatus", "QDate"]


@dataclass(frozen=True)
class ReleaseRule:
    """One ``clean.held.release`` item: a hold code (and subcode), or a reason pattern."""

    code: int | None = None
    subcode: int | None = None
    pattern: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> ReleaseRule:
        """ValueError with a reason for anything but ``CODE``, ``CODE:SUBCODE`` or ``/regex/``."""
        text = text.strip()
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            try:
                return cls(pattern=re.compile(text[1:-1]))
            except re.error as exc:
                raise ValueError(f"bad reason pattern {text!r}: {exc}") from None
        match = _RULE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not CODE, CODE:SUBCODE or /reason pattern/")
        return cls(code=int(match.group(1)), subcode=int(match.group(2)) if match.group(2) else None)

    def matches(self, ad: Any) -> bool:
        if self.pattern is not None:
            reason = attribute(ad, "HoldReason", "str")
            return reason is not None and self.pattern.search(reason) is not None
        if attribute(ad, "HoldReasonCode", "int") != self.code:
            return False
        return self.subcode is None or attribute(ad, "HoldReasonSubCode", "int") == self.subcode


def release_rules(queue: PilotQueue) -> list[ReleaseRule]:
    key = queue.key("clean.held.release")
    try:
        return [ReleaseRule.parse(item) for item in queue.value("clean.held.release") or []]
    except ValueError as exc:
        raise queue.fail(key, str(exc), queue.queue.get(key)) from None


def plan(ads: Sequence[Any], rules: Sequence[ReleaseRule], max_releases: int, remove_unmatched: bool,
         stale_idle: float, now: float) -> dict[str, list[str]]:
    """Which pilots to release, remove as held, or remove as stale: ``{action: [ids]}``.

    An attribute of the wrong type raises :class:`~apfctl_condor.states.BadAttribute`.
    """
    actions: dict[str, list[str]] = {"release": [], "remove_held": [], "remove_stale": []}
    for ad in ads:
        job = job_id(ad)
        status = attribute(ad, "JobStatus", "int")
        if status == HELD:
            if any(rule.matches(ad) for rule in rules):
                held_times = attribute(ad, "NumHolds", "int") or 1
                actions["release" if held_times <= max_releases else "remove_held"].append(job)
            elif remove_unmatched:
                actions["remove_held"].append(job)
        elif status == PENDING and stale_idle > 0:
            since = attribute(ad, "EnteredCurrentStatus", "number") or attribute(ad, "QDate", "number") or now
            if now - since > stale_idle:
                actions["remove_stale"].append(job)
    return actions


def clean_queue(queue: PilotQueue, dry_run: bool) -> list[dict[str, Any]]:
    """Apply the queue's hold policy and stale-idle removal; one dict per action taken."""
    import time

    rules = release_rules(queue)
    max_releases = queue.value("clean.held.maxreleases")
    stale_idle = queue.value("clean.stale.idle") or 0.0
    schedd = queue.schedd()
    endpoint = queue.endpoint
    name = queue.queue.name
    ads = call(endpoint, "query", schedd.query,
               constraint=f"{queue.mine()} && (JobStatus =?= {HELD} || JobStatus =?= {PENDING})",
               projection=CLEAN_ATTRS)
    try:
        actions = plan(ads, rules, max_releases, bool(queue.value("clean.held.remove")), stale_idle, time.time())
    except BadAttribute as exc:
        raise BackendError(f"{endpoint}: {exc}") from None
    reasons = {
        "release": ("release", f"released by apfctl clean (hold policy of queue {name})"),
        "remove_held": ("remove", f"held pilot removed by apfctl clean (hold policy of queue {name})"),
        "remove_stale": ("remove", f"{REMOVE_REASON_PREFIX} clean: idle longer than {stale_idle:g} s"),
    }
    done: list[dict[str, Any]] = []
    for kind, ids in actions.items():
        if not ids:
            continue
        verb, reason = reasons[kind]
        entry = {"queue": name, "action": verb, "what": kind, "ids": ids, "reason": reason,
                 "dry_run": dry_run}
        if not dry_run:
            import htcondor2

            action = htcondor2.JobAction.Release if verb == "release" else htcondor2.JobAction.Remove
            answer = call(endpoint, verb, schedd.act, action, ids, act_reason(reason))
            entry["succeeded"] = total_success(answer, len(ids))
        done.append(entry)
    return done
