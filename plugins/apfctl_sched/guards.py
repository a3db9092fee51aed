"""Protective rules: black holes, held pilots, ramp-up damping and credential lifetime.

``Throttle`` is APF's; the others are apfctl's (docs/rules.md). Every guard
that cannot see the data it needs refuses new pilots (never blind) and lets a negative n,
a retirement, pass; every guard only ever lowers n, except Throttle, which is APF's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, TEXT, message
from apfctl_sched.common import Rule, batch_usable


class Throttle(Rule):
    """APF's Throttle: black-hole protection from how long the queue's recent pilots ran.

    Of the pilots that ended in the last ``interval`` seconds (``batch.recent``, filled by
    the status stage because :meth:`history_window` asks for it), if the fraction that ran
    shorter than ``maxtime`` seconds is above ``ratio``, the result is ``submit`` pilots
    (APF's formula: exactly ``submit``, whatever n was). Without recent pilots n passes,
    with APF's short message.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.throttle.interval": Key("int", 3600, minimum=1, doc="seconds of pilot history to look at"),
        "sched.throttle.maxtime": Key("int", 10, minimum=0, doc="a pilot that ran fewer seconds is too short"),
        "sched.throttle.ratio": Key("ratio", 0.5, doc="fraction of too-short pilots that means a black hole"),
        "sched.throttle.submit": Key("int", 1, doc="pilots per cycle while a black hole is seen"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.ratio = self.setting("sched.throttle.ratio")
        self.submit = self.setting("sched.throttle.submit")
        self.said = message("Throttle", in_=NUMBER, total=NUMBER, short=NUMBER, ratio=self.ratio, submit=self.submit,
                            ret=NUMBER)

    @classmethod
    def history_window(cls, queue: QueueConfig) -> tuple[float, float] | None:
        return (queue.typed("sched.throttle.interval", cls.KEYS["sched.throttle.interval"]),
                queue.typed("sched.throttle.maxtime", cls.KEYS["sched.throttle.maxtime"]))

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        recent = record["batch"].get("recent") if batch_usable(record) else None
        if not recent or not recent.get("total"):
            return n, _THROTTLE_NOTHING_ENDED(n, n)
        total = recent["total"]
        short = recent["short"]
        out = self.submit if short / total > self.ratio else n
        return out, self.said(n, total, short, out)


_THROTTLE_NOTHING_ENDED = message("Throttle", in_=NUMBER, ret=NUMBER)


class HeldGuard(Rule):
    """No new pilots while too many of the queue's pilots are held.

    Trips when ``held > sched.heldguard.maximum`` (unset: no absolute limit) or when
    ``held / (pending + held + running + exiting) > sched.heldguard.ratio`` (default 0.5;
    1 disables it). Tripped: ``min(n, 0)``. Held pilots mean the batch system or the CE
    refuses them (expired proxy, bad requirements): more of them only add to the pile.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.heldguard.maximum": Key("int", None, minimum=0, doc="most held pilots before submission stops"),
        "sched.heldguard.ratio": Key("ratio", 0.5, doc="largest fraction of the queue's pilots that may be held"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = self.setting("sched.heldguard.maximum")
        self.ratio = self.setting("sched.heldguard.ratio")
        self.said = {comment: message("HeldGuard", comment=comment, in_=NUMBER, held=NUMBER, pilots=NUMBER,
                                      maximum=self.maximum, ratio=self.ratio, ret=NUMBER)
                     for comment in ("held above maximum", "held fraction above ratio", "ok")}

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            out = min(n, 0)
            return out, _HELD_GUARD_UNUSABLE(n, out)
        batch = record["batch"]
        held = batch["held"]
        pilots = batch["pending"] + held + batch["running"] + batch["exiting"]
        if self.maximum is not None and held > self.maximum:
            comment, out = "held above maximum", min(n, 0)
        elif pilots and held / pilots > self.ratio:
            comment, out = "held fraction above ratio", min(n, 0)
        else:
            comment, out = "ok", n
        return out, self.said[comment](n, held, pilots, out)


_HELD_GUARD_UNUSABLE = message("HeldGuard", comment="no batchinfo", in_=NUMBER, ret=NUMBER)


class CircuitBreaker(Rule):
    """Black-hole protection with an explicit open, half-open and closed state.

    From the pilots that finished in the last hour (``done_1h``, ``fault_1h``; pilots the
    factory removed itself count as neither): with at least ``minimum`` of them and a fault
    fraction above ``ratio`` the breaker has tripped. Tripped, it lets through at most
    ``probe`` pilots pending at a time: *half-open* when fewer than ``probe`` pilots are
    pending (``min(n, probe - pending)``), *open* when the probes are still pending (0).
    It closes by itself when the last hour's fault fraction falls back to ``ratio`` or
    below, or fewer than ``minimum`` pilots finished. Negative n (retire) passes.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.circuitbreaker.ratio": Key("ratio", 0.5, doc="fault fraction above which the breaker trips"),
        "sched.circuitbreaker.minimum": Key("int", 10, minimum=1, doc="finished pilots needed to judge"),
        "sched.circuitbreaker.probe": Key("int", 1, minimum=0, doc="pilots pending at a time while tripped"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.ratio = self.setting("sched.circuitbreaker.ratio")
        self.minimum = self.setting("sched.circuitbreaker.minimum")
        self.probe = self.setting("sched.circuitbreaker.probe")
        self.said = {(state, reason): message("CircuitBreaker", comment=state, reason=reason, in_=NUMBER, done=NUMBER,
                                              fault=NUMBER, faultfraction=NUMBER, ratio=self.ratio,
                                              minimum=self.minimum, probe=self.probe, pending=NUMBER, ret=NUMBER)
                     for state, reason in self.STATES}

    STATES = (("closed", "too few finished pilots"), ("closed", "fault fraction within ratio"),
              ("half-open", "fault fraction above ratio so probing"),
              ("open", "fault fraction above ratio and probes pending"))

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            out = min(n, 0)
            return out, _CIRCUIT_BREAKER_UNUSABLE(n, out)
        batch = record["batch"]
        done = batch["done_1h"]
        fault = batch["fault_1h"]
        pending = batch["pending"]
        finished = done + fault
        fraction = fault / finished if finished else 0.0
        if finished < self.minimum:
            state, reason, out = "closed", "too few finished pilots", n
        elif fraction <= self.ratio:
            state, reason, out = "closed", "fault fraction within ratio", n
        else:
            allowed = max(0, self.probe - pending)
            out = min(n, allowed)
            if allowed:
                state, reason = "half-open", "fault fraction above ratio so probing"
            else:
                state, reason = "open", "fault fraction above ratio and probes pending"
        return out, self.said[state, reason](n, done, fault, f"{fraction:.2f}", pending, out)


_CIRCUIT_BREAKER_UNUSABLE = message("CircuitBreaker", comment="open", reason="no batchinfo", in_=NUMBER, ret=NUMBER)


class RampUp(Rule):
    """GlideinWMS-style damping of a positive request.

    ``n / attenuation`` (default 3: the previous cycle's pilots may still be on their way),
    halved once for every curb in ``sched.rampup.curbs`` (comma list of pending counts)
    that the queue's pending count has reached, rounded down but at least 1. n <= 0
    passes unchanged; without batch status new pilots are refused.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.rampup.attenuation": Key("float", 3.0, minimum=1, doc="divides every positive request"),
        "sched.rampup.curbs": Key("list", None, doc="pending counts; each one reached halves the request"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.attenuation = self.setting("sched.rampup.attenuation")
        problems = self.check("RampUp", queue, factory)
        if problems:
            key, _, why = problems[0].partition(": ")
            raise queue.error(key, why, queue.get(key))
        self.curbs = sorted(int(curb) for curb in self.setting("sched.rampup.curbs") or ())
        self.said = message("RampUp", in_=NUMBER, attenuation=self.attenuation, pending=NUMBER,
                            curbs="/".join(map(str, self.curbs)) or "none", crossed=NUMBER, ret=NUMBER)

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        curbs = queue.typed("sched.rampup.curbs", cls.KEYS["sched.rampup.curbs"]) or []
        bad = [curb for curb in curbs if not curb.isdigit()]
        if bad:
            return [f"sched.rampup.curbs: curbs must be non-negative integers (not {', '.join(bad)})"]
        return []

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            out = min(n, 0)
            return out, _RAMP_UP_UNUSABLE(n, out)
        pending = record["batch"]["pending"]
        crossed = sum(1 for curb in self.curbs if pending >= curb)
        out = n if n <= 0 else max(1, int(n / self.attenuation / (1 << crossed)))
        return out, self.said(n, pending, crossed, out)


_RAMP_UP_UNUSABLE = message("RampUp", comment="no batchinfo", in_=NUMBER, ret=NUMBER)


class CredentialLifetime(Rule):
    """No new pilots when the credential they would carry expires before they could finish.

    The status stage reports the remaining lifetime of the queue's credential in seconds
    (``batch.credential.lifetime``). Below ``walltime + margin`` (the expected pilot
    walltime and a safety margin) new pilots are refused: they would be held or fail
    mid-payload. An unknown lifetime (not reported, or the credential could not be read)
    refuses new pilots too, since submitting with a credential nobody checked is how
    pilots end up held; ``sched.credentiallifetime.unknown = pass`` lets them through for
    backends that carry no credential. A credential error (wrong audience or scope, an
    unreadable file, a token within its refresh window) refuses new pilots whatever the
    lifetime and the ``unknown`` setting. A token is not held to the walltime: HTCondor
    forwards each refresh to the CE, so it only has to outlive the next refresh, which the
    status stage checks (its error). Negative n (retire) always passes.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.credentiallifetime.walltime": Key("int", 86400, minimum=0, doc="expected pilot walltime, seconds"),
        "sched.credentiallifetime.margin": Key("int", 3600, minimum=0, doc="extra lifetime required, seconds"),
        "sched.credentiallifetime.unknown": Key("str", "zero", choices=("zero", "pass"),
                                                doc="what an unknown lifetime means: zero pilots, or pass n"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.walltime = self.setting("sched.credentiallifetime.walltime")
        self.margin = self.setting("sched.credentiallifetime.margin")
        self.minimum = self.walltime + self.margin
        self.pass_unknown = self.setting("sched.credentiallifetime.unknown").lower() == "pass"
        self.unknown = message("CredentialLifetime", comment="unknown lifetime", reason=TEXT, in_=NUMBER,
                               minimum=self.minimum, ret=NUMBER)
        self.said = {comment: message("CredentialLifetime", comment=comment, in_=NUMBER, lifetime=NUMBER,
                                      walltime=self.walltime, margin=self.margin, minimum=self.minimum, ret=NUMBER)
                     for comment in ("expiring", "ok")}
        self.error = message("CredentialLifetime", comment="error", reason=TEXT, in_=NUMBER, lifetime=NUMBER,
                             ret=NUMBER)
        self.token_ok = message("CredentialLifetime", comment="ok", in_=NUMBER, lifetime=NUMBER, kind="token",
                                ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        credential = record["batch"].get("credential") if batch_usable(record) else None
        lifetime = credential.get("lifetime") if isinstance(credential, Mapping) else None
        error = credential.get("error") if isinstance(credential, Mapping) else None
        if lifetime is None:
            if not batch_usable(record):
                why = "no batchinfo"
            elif error:
                why = error
            else:
                why = "not reported"
            out = n if self.pass_unknown and not error else min(n, 0)
            return out, self.unknown(why, n, out)
        if error:
            out = min(n, 0)
            return out, self.error(error, n, int(lifetime), out)
        if credential.get("kind") == "token":
            return n, self.token_ok(n, int(lifetime), n)
        if lifetime < self.minimum:
            comment, out = "expiring", min(n, 0)
        else:
            comment, out = "ok", n
        return out, self.said[comment](n, int(lifetime), out)
