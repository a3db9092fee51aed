# ruff: noqa: UP031, RUF046 - %-formatting and int(math.ceil()) on purpose: the formats and formulas as APF wrote them
"""apfctl decide agrees with APF's rules on every number and every message.

``APF`` below is an independent reading of the formulas and message formats in APF's rule
table (reference inventory §2.3), written with %-formatting as APF's code does, without
apfctl's helpers. Random chains of APF's rules, random keys and random status are decided
by the real Decider and compared step by step and as a whole.

Outside the comparison, on purpose: rules that crashed in APF (Fillactivated,
WeightedActivated, KeepNQueueLife, MaxToSubmit, MinToSubmit) and status APF could not have
(a failed source: apfctl refuses it before the chain; MaxPerFactory without its key or a
factory total: APF compared ``int > None``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apfctl.config.loader import Loaded
from apfctl.stages.decide import Decider
from tests.sched.sched_helpers import context, section

Keys = dict[str, str]
Rule = Callable[[int, dict[str, Any], Keys], tuple[int, str | None]]


def _int(keys: Keys, key: str, default: int | None = None) -> int | None:
    return int(keys[key]) if key in keys else default


def _float(keys: Keys, key: str, default: float) -> float:
    return float(keys[key]) if key in keys else default


def _wms(rec: dict[str, Any]) -> dict[str, Any] | None:
    return rec["wms"] if rec["wms"]["plugin"] is not None else None   # wmsstatusplugin = None: no wmsinfo


def ready(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    offset = _int(keys, "sched.ready.offset", 0)
    wms, batch = _wms(rec), rec["batch"]
    if wms is None:
        return 0, "Ready:comment=Invalid wmsinfo or batchinfo"
    out = max(0, (wms["ready"] - offset) - batch["pending"])
    return out, "Ready:in=%s,activated=%d,offset=%d,pending=%d,ret=%d" % (n, wms["ready"], offset, batch["pending"],
                                                                           out)


def fixed(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    pilots = _int(keys, "sched.fixed.pilotspercycle")
    if pilots:
        return pilots, "Fixed:in=%s,ret=%s" % (n, pilots)
    return 0, "Fixed:comment=nosetup,in=%s,ret=0" % n


def null(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    return 0, "Null:in=%d,out=0" % n


def scale(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    factor = _float(keys, "sched.scale.factor", 1.0)
    out = int(math.ceil(n * factor))
    return out, "Scale:in=%s,factor=%s,ret=%s" % (n, factor, out)


def max_per_cycle(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    maximum = _int(keys, "sched.maxpercycle.maximum")
    if maximum is None:
        return n, "MaxPerCycle:comment=Not set,in=%s" % n
    out = min(n, maximum)
    return out, "MaxPerCycle:in=%s,maxpercycle=%s,ret=%s" % (n, maximum, out)


def min_per_cycle(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    minimum = _int(keys, "sched.minpercycle.minimum")
    if minimum is None:
        return n, "MinPerCycle:comment=Not set"
    out = max(n, minimum)
    return out, "MinPerCycle:in=%s,minpercycle=%s,ret=%s" % (n, minimum, out)


def max_pending(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    maximum = _int(keys, "sched.maxpending.maximum")
    allow_negative = keys.get("sched.maxpending.allow_negative", "True") == "True"
    pending = rec["batch"]["pending"]
    out = n
    if pending != 0 and maximum is not None:
        room = maximum - pending
        if not allow_negative and room < 0:
            room = 0
        out = min(n, room)
    return out, "MaxPending:in=%s,pending=%s,maxpending=%s,ret=%s" % (n, pending, maximum, out)


def min_pending(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    minimum = _int(keys, "sched.minpending.minimum")
    pending = rec["batch"]["pending"]
    if minimum is None:
        return n, "MinPending:comment=not set,in=%s,pending=%s,ret=%s" % (n, pending, n)
    out = max(n, minimum - pending)
    return out, "MinPending:in=%s,minpending=%s,pending=%s,ret=%s" % (n, minimum, pending, out)


def max_to_run(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    maximum = _int(keys, "sched.maxtorun.maximum")
    batch = rec["batch"]
    if maximum is None:
        return n, None   # APF: msg stays None
    out = min(n, maximum - (batch["pending"] + batch["running"]))
    return out, "MaxToRun:in=%s,maxtorun=%s,pending=%s,running=%s,ret=%s" % (n, maximum, batch["pending"],
                                                                            batch["running"], out)


def max_per_factory(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    maximum = FACTORY_MAXIMUM
    total = rec["batch"]["factory_total"]
    out = n
    if total > maximum:
        out = 0
    elif n + total > maximum:
        out = maximum - total
    return out, "MaxPerFactory:in=%s,total=%s,maxperfactory=%s,ret=%s" % (n, total, maximum, out)


def keep_n_running(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    keep = _int(keys, "sched.keepnrunning.keep_running")
    batch = rec["batch"]
    pending, running, retiring = max(0, batch["pending"]), max(0, batch["running"]), max(0, batch.get("retiring", 0))
    out = (n if keep is None else keep) - (running + pending)
    return out, "KeepNRunning:in=%s,keep=%s,running=%s,pending=%s,retiring=%s,ret=%s" % (n, keep, running, pending,
                                                                                        retiring, out)


def status_test(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    pilots = _int(keys, "sched.statustest.pilots", 0)
    wms = _wms(rec)
    if wms is None or wms["status"] is None:
        return 0, "StatusTest:comment=no wms/batch/siteinfo,in=%s,ret=0" % n
    if wms["status"] == "test":
        return pilots, "StatusTest:comment=test,in=%d,out=%d" % (n, pilots)
    return n, "StatusTest:comment=not test,in=%s,ret=%s" % (n, n)


def status_offline(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    pilots = _int(keys, "sched.statusoffline.pilots", 0)
    wms = _wms(rec)
    if wms is None or wms["status"] is None:
        return 0, "StatusOffline:comment=no wms/site/batchinfo,in=%s,ret=0" % n
    if wms["status"] == "offline":
        return pilots, "StatusOffline:comment=offline,in=%s,ret=%s" % (n, pilots)
    return n, "StatusOffline:comment=not offline,in=%s,ret=%s" % (n, n)


def throttle(n: int, rec: dict[str, Any], keys: Keys) -> tuple[int, str | None]:
    ratio = _float(keys, "sched.throttle.ratio", 0.5)
    submit = _int(keys, "sched.throttle.submit", 1)
    recent = rec["batch"].get("recent")
    if not recent or not recent["total"]:   # the queue is not in the history
        return n, "Throttle:in=%s,ret=%s" % (n, n)
    total, short = recent["total"], recent["short"]
    out = submit if float(short) / total > ratio else n
    return out, "Throttle:in=%s,total=%s,short=%s,ratio=%s,submit=%s,ret=%s" % (n, total, short, ratio, submit, out)


FACTORY_MAXIMUM = 3000
APF: dict[str, Rule] = {
    "Ready": ready, "Fixed": fixed, "Null": null, "Scale": scale, "MaxPerCycle": max_per_cycle,
    "MinPerCycle": min_per_cycle, "MaxPending": max_pending, "MinPending": min_pending, "MaxToRun": max_to_run,
    "MaxPerFactory": max_per_factory, "KeepNRunning": keep_n_running, "StatusTest": status_test,
    "StatusOffline": status_offline, "Throttle": throttle,
}
ints = st.integers(-50, 500).map(str)
KEYS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "Ready": {"sched.ready.offset": ints},
    "Fixed": {"sched.fixed.pilotspercycle": ints},
    "Scale": {"sched.scale.factor": st.floats(-2, 5).map(lambda x: f"{x:.3f}")},
    "MaxPerCycle": {"sched.maxpercycle.maximum": ints},
    "MinPerCycle": {"sched.minpercycle.minimum": ints},
    "MaxPending": {"sched.maxpending.maximum": ints, "sched.maxpending.allow_negative": st.sampled_from(["True",
                                                                                                        "False"])},
    "MinPending": {"sched.minpending.minimum": ints},
    "MaxToRun": {"sched.maxtorun.maximum": ints},
    "KeepNRunning": {"sched.keepnrunning.keep_running": ints},
    "StatusTest": {"sched.statustest.pilots": ints},
    "StatusOffline": {"sched.statusoffline.pilots": ints},
    "Throttle": {"sched.throttle.ratio": st.floats(0, 1).map(lambda x: f"{x:.3f}"),
                 "sched.throttle.submit": ints},
}
counts = st.integers(0, 500)


@st.composite
def chains(draw: st.DrawFn) -> tuple[list[str], Keys]:
    names = draw(st.lists(st.sampled_from(sorted(APF)), min_size=1, max_size=8))
    keys: Keys = {}
    for name in set(names):
        for key, values in KEYS.get(name, {}).items():
            if draw(st.booleans()):
                keys[key] = draw(values)
    return names, keys


@st.composite
def status(draw: st.DrawFn) -> dict[str, Any]:
    batch = {"plugin": "Local", "ok": True, "pending": draw(counts), "held": draw(counts), "running": draw(counts),
             "exiting": draw(counts), "done_1h": draw(counts), "fault_1h": draw(counts),
             "factory_total": draw(st.integers(0, 5000)), "error": None}
    if draw(st.booleans()):
        total = draw(counts)
        batch["recent"] = {"interval": 3600, "maxtime": 10, "total": total, "short": draw(st.integers(0, total))}
    if draw(st.booleans()):
        batch["retiring"] = draw(counts)
    return {"apfctl": 1, "queue": "Q", "cycle": "20261125T060000Z-0001",
            "wms": {"plugin": draw(st.sampled_from(["File", "File", "File", None])), "ok": True, "queue": "Q",
                    "ready": draw(counts), "notready": 0, "running": draw(counts), "done": 0, "failed": 0,
                    "status": draw(st.sampled_from(["online", "test", "offline", "brokeroff", None])), "error": None},
            "batch": batch}


def apf_decides(names: list[str], keys: Keys, rec: dict[str, Any]) -> tuple[int, str, list[tuple[int, str]]]:
    n, messages, steps = 0, [], []
    for name in names:
        n, msg = APF[name](n, rec, keys)
        steps.append((n, msg or ""))
        if msg:
            messages.append(msg)
    return n, ";".join(messages), steps


def decider(names: list[str], keys: Keys) -> Decider:
    values = {"schedplugin": ", ".join(names), **keys}
    factory = context(**{"maxperfactory.maximum": FACTORY_MAXIMUM})
    return Decider(Loaded(path=Path("/nonexistent"), is_demo=False, factory=factory.config,
                          queues={"Q": section("Q", values)}, context=factory))


@settings(max_examples=400, deadline=None)
@given(chains(), status())
def test_decide_agrees_with_apf_on_numbers_and_messages(chain: tuple[list[str], Keys], rec: dict[str, Any]) -> None:
    names, keys = chain
    pilots, msg, steps = apf_decides(names, keys, rec)
    decision = decider(names, keys).decide(copy.deepcopy(rec))["decision"]
    assert [(step["out"], step["msg"]) for step in decision["trace"]] == steps
    assert (decision["pilots"], decision["msg"]) == (pilots, msg)


def test_the_worked_example_of_apf_docs() -> None:
    names = ["Ready", "Scale", "MaxPerCycle", "MinPerCycle", "StatusTest", "StatusOffline", "MaxPending"]
    keys = {"sched.ready.offset": "4", "sched.scale.factor": "0.5", "sched.maxpercycle.maximum": "100",
            "sched.minpercycle.minimum": "0", "sched.statustest.pilots": "3", "sched.statusoffline.pilots": "1",
            "sched.maxpending.maximum": "25"}
    rec = {"apfctl": 1, "queue": "Q", "cycle": "c1",
           "wms": {"plugin": "File", "ok": True, "ready": 100, "notready": 0, "running": 0, "done": 0, "failed": 0,
                   "status": "online"},
           "batch": {"plugin": "Local", "ok": True, "pending": 10, "held": 0, "running": 8, "exiting": 0,
                     "done_1h": 0, "fault_1h": 0}}
    expected = ("Ready:in=0,activated=100,offset=4,pending=10,ret=86;Scale:in=86,factor=0.5,ret=43;"
                "MaxPerCycle:in=43,maxpercycle=100,ret=43;MinPerCycle:in=43,minpercycle=0,ret=43;"
                "StatusTest:comment=not test,in=43,ret=43;StatusOffline:comment=not offline,in=43,ret=43;"
                "MaxPending:in=43,pending=10,maxpending=25,ret=15")
    assert apf_decides(names, keys, rec)[:2] == (15, expected)   # the reading above, on APF's own example
    decision = decider(names, keys).decide(rec)["decision"]
    assert (decision["pilots"], decision["msg"]) == (15, expected)
