"""Table tests: each rule's output and exact message for given keys, input and record."""

from __future__ import annotations

from typing import Any

import pytest

from apfctl import plugins
from apfctl.errors import ConfigError
from tests.sched.sched_helpers import context, failed, parse_message, record, rule, section

NO_BATCH = record(batch=failed("batch"))
NO_WMS = record(wms=failed("wms"))
NO_WMS_PLUGIN = record(wms={"plugin": None})

# (rule, keys, n, record, expected n, expected message)
CASES: list[tuple[str, dict[str, Any], int, dict[str, Any], int, str]] = [
    # Ready: max(0, (ready - offset) - pending), input ignored
    ("Ready", {}, 0, record(ready=100, pending=10), 90, "Ready:in=0,activated=100,offset=0,pending=10,ret=90"),
    ("Ready", {"sched.ready.offset": 4}, 7, record(ready=100, pending=10), 86,
     "Ready:in=7,activated=100,offset=4,pending=10,ret=86"),
    ("Ready", {}, 0, record(ready=3, pending=10), 0, "Ready:in=0,activated=3,offset=0,pending=10,ret=0"),
    ("Ready", {}, -4, record(ready=0, pending=0), 0, "Ready:in=-4,activated=0,offset=0,pending=0,ret=0"),
    ("Ready", {}, 0, record(ready=5, pending=0, batch={"held": 50}), 5,
     "Ready:in=0,activated=5,offset=0,pending=0,ret=5"),
    ("Ready", {}, 5, NO_BATCH, 0, "Ready:comment=Invalid wmsinfo or batchinfo"),
    ("Ready", {}, 5, NO_WMS, 0, "Ready:comment=Invalid wmsinfo or batchinfo"),
    ("Ready", {}, 5, NO_WMS_PLUGIN, 0, "Ready:comment=Invalid wmsinfo or batchinfo"),
    # Fillactivated / WeightedActivated (broken in APF): their evident formulas
    ("Fillactivated", {}, 3, record(ready=20, pending=5, running=7), 15,
     "Fillactivated:in=3,activated=20,pending=5,running=7,ret=15"),
    ("Fillactivated", {}, 0, record(ready=2, pending=5), 0, "Fillactivated:in=0,activated=2,pending=5,running=0,ret=0"),
    ("Fillactivated", {"sched.fillactivated.default": 9}, 3, NO_WMS, 0,
     "Fillactivated:comment=Invalid wmsinfo or batchinfo,in=3,ret=0"),
    ("WeightedActivated", {"sched.weightedactivated.activated": 0.5, "sched.weightedactivated.pending": 2},
     0, record(ready=25, pending=3), 6,
     "WeightedActivated:in=0,activated=25,weightedactivated=12,pending=3,weightedpending=6,ret=6"),
    ("WeightedActivated", {}, 0, record(ready=1, pending=3), 0,
     "WeightedActivated:in=0,activated=1,weightedactivated=1,pending=3,weightedpending=3,ret=0"),
    ("WeightedActivated", {}, 4, NO_BATCH, 0, "WeightedActivated:comment=Invalid wmsinfo or batchinfo,in=4,ret=0"),
    # Fixed
    ("Fixed", {"sched.fixed.pilotspercycle": 7}, 100, record(), 7, "Fixed:in=100,ret=7"),
    ("Fixed", {}, 100, record(), 0, "Fixed:comment=nosetup,in=100,ret=0"),
    ("Fixed", {"sched.fixed.pilotspercycle": 0}, 3, record(), 0, "Fixed:comment=nosetup,in=3,ret=0"),
    ("Fixed", {"sched.fixed.pilotspercycle": "None"}, 3, record(), 0, "Fixed:comment=nosetup,in=3,ret=0"),
    # Null
    ("Null", {}, 42, record(), 0, "Null:in=42,out=0"),
    # Scale: ceil(n * factor)
    ("Scale", {"sched.scale.factor": 0.5}, 86, record(), 43, "Scale:in=86,factor=0.5,ret=43"),
    ("Scale", {"sched.scale.factor": 0.5}, 5, record(), 3, "Scale:in=5,factor=0.5,ret=3"),
    ("Scale", {"sched.scale.factor": 0.5}, -5, record(), -2, "Scale:in=-5,factor=0.5,ret=-2"),
    ("Scale", {}, 9, record(), 9, "Scale:in=9,factor=1.0,ret=9"),
    ("Scale", {"sched.scale.factor": 2}, 9, record(), 18, "Scale:in=9,factor=2.0,ret=18"),
    # MaxPerCycle / MinPerCycle
    ("MaxPerCycle", {"sched.maxpercycle.maximum": 100}, 43, record(), 43, "MaxPerCycle:in=43,maxpercycle=100,ret=43"),
    ("MaxPerCycle", {"sched.maxpercycle.maximum": 10}, 43, record(), 10, "MaxPerCycle:in=43,maxpercycle=10,ret=10"),
    ("MaxPerCycle", {"sched.maxpercycle.maximum": 10}, -43, record(), -43,
     "MaxPerCycle:in=-43,maxpercycle=10,ret=-43"),
    ("MaxPerCycle", {}, 43, record(), 43, "MaxPerCycle:comment=Not set,in=43"),
    ("MinPerCycle", {"sched.minpercycle.minimum": 0}, 43, record(), 43, "MinPerCycle:in=43,minpercycle=0,ret=43"),
    ("MinPerCycle", {"sched.minpercycle.minimum": 2}, -3, record(), 2, "MinPerCycle:in=-3,minpercycle=2,ret=2"),
    ("MinPerCycle", {}, -3, record(), -3, "MinPerCycle:comment=Not set"),
    # MaxPending
    ("MaxPending", {"sched.maxpending.maximum": 25}, 43, record(pending=10), 15,
     "MaxPending:in=43,pending=10,maxpending=25,ret=15"),
    ("MaxPending", {"sched.maxpending.maximum": 25}, 43, record(pending=0), 43,
     "MaxPending:in=43,pending=0,maxpending=25,ret=43"),
    ("MaxPending", {"sched.maxpending.maximum": 25}, 5, record(pending=30), -5,
     "MaxPending:in=5,pending=30,maxpending=25,ret=-5"),
    ("MaxPending", {"sched.maxpending.maximum": 25, "sched.maxpending.allow_negative": "False"}, 5,
     record(pending=30), 0, "MaxPending:in=5,pending=30,maxpending=25,ret=0"),
    ("MaxPending", {}, 5, record(pending=30), 5, "MaxPending:in=5,pending=30,maxpending=None,ret=5"),
    ("MaxPending", {"sched.maxpending.maximum": 25}, 5, NO_BATCH, 5, "MaxPending:comment=No queueinfo."),
    # MinPending
    ("MinPending", {"sched.minpending.minimum": 10}, 2, record(pending=3), 7,
     "MinPending:in=2,minpending=10,pending=3,ret=7"),
    ("MinPending", {"sched.minpending.minimum": 10}, 20, record(pending=3), 20,
     "MinPending:in=20,minpending=10,pending=3,ret=20"),
    ("MinPending", {}, 2, record(pending=3), 2, "MinPending:comment=not set,in=2,pending=3,ret=2"),
    ("MinPending", {"sched.minpending.minimum": 10}, 2, NO_BATCH, 2, "MinPending:comment=No queueinfo.,in=2,ret=2"),
    # MaxToRun
    ("MaxToRun", {"sched.maxtorun.maximum": 50}, 30, record(pending=10, running=20), 20,
     "MaxToRun:in=30,maxtorun=50,pending=10,running=20,ret=20"),
    ("MaxToRun", {"sched.maxtorun.maximum": 20}, 30, record(pending=10, running=20), -10,
     "MaxToRun:in=30,maxtorun=20,pending=10,running=20,ret=-10"),
    ("MaxToRun", {}, 30, record(pending=10, running=20), 30, ""),   # APF's MaxToRun sent no message when unset
    ("MaxToRun", {"sched.maxtorun.maximum": 50}, 30, NO_BATCH, 0, "MaxToRun:comment=No batchinfo,in=30"),
    # KeepNRunning
    ("KeepNRunning", {"sched.keepnrunning.keep_running": 10}, 99, record(pending=2, running=5), 3,
     "KeepNRunning:in=99,keep=10,running=5,pending=2,retiring=0,ret=3"),
    ("KeepNRunning", {"sched.keepnrunning.keep_running": 0}, 99, record(pending=2, running=5), -7,
     "KeepNRunning:in=99,keep=0,running=5,pending=2,retiring=0,ret=-7"),
    ("KeepNRunning", {}, 20, record(pending=2, running=5, batch={"retiring": 4}), 13,
     "KeepNRunning:in=20,keep=None,running=5,pending=2,retiring=4,ret=13"),
    ("KeepNRunning", {}, 20, NO_BATCH, 0, "KeepNRunning:comment=Invalid queueinfo"),
    # KeepNQueueLife (broken in APF): every pilot in the batch queue counts
    ("KeepNQueueLife", {"sched.keepnqueuelife.njobs": 10}, 0,
     record(pending=1, running=2, batch={"held": 3, "exiting": 1}), 3,
     "KeepNQueueLife:in=0,keep=10,jobsinqueue=7,ret=3"),
    ("KeepNQueueLife", {}, 5, record(pending=4, running=4), -3, "KeepNQueueLife:in=5,keep=None,jobsinqueue=8,ret=-3"),
    ("KeepNQueueLife", {}, 5, NO_BATCH, 0, "KeepNQueueLife:comment=Invalid queueinfo"),
    # StatusTest / StatusOffline
    ("StatusTest", {"sched.statustest.pilots": 3}, 43, record(status="online"), 43,
     "StatusTest:comment=not test,in=43,ret=43"),
    ("StatusTest", {"sched.statustest.pilots": 3}, 43, record(status="test"), 3, "StatusTest:comment=test,in=43,out=3"),
    ("StatusTest", {}, 43, record(status="test"), 0, "StatusTest:comment=test,in=43,out=0"),
    ("StatusTest", {"sched.statustest.pilots": 3}, 43, record(status=None), 0,
     "StatusTest:comment=no wms/batch/siteinfo,in=43,ret=0"),
    ("StatusTest", {"sched.statustest.pilots": 3}, 43, NO_BATCH, 0,
     "StatusTest:comment=no wms/batch/siteinfo,in=43,ret=0"),
    ("StatusOffline", {"sched.statusoffline.pilots": 1}, 43, record(status="online"), 43,
     "StatusOffline:comment=not offline,in=43,ret=43"),
    ("StatusOffline", {"sched.statusoffline.pilots": 1}, 43, record(status="offline"), 1,
     "StatusOffline:comment=offline,in=43,ret=1"),
    ("StatusOffline", {}, -5, record(status="offline"), 0, "StatusOffline:comment=offline,in=-5,ret=0"),
    ("StatusOffline", {"sched.statusoffline.pilots": 1}, 43, record(status=None), 0,
     "StatusOffline:comment=no wms/site/batchinfo,in=43,ret=0"),
    ("StatusOffline", {}, 43, NO_WMS, 0, "StatusOffline:comment=no wms/site/batchinfo,in=43,ret=0"),
    # Throttle
    ("Throttle", {}, 20, record(batch={"recent": {"interval": 3600, "maxtime": 10, "total": 10, "short": 6}}), 1,
     "Throttle:in=20,total=10,short=6,ratio=0.5,submit=1,ret=1"),
    ("Throttle", {}, 20, record(batch={"recent": {"interval": 3600, "maxtime": 10, "total": 10, "short": 5}}), 20,
     "Throttle:in=20,total=10,short=5,ratio=0.5,submit=1,ret=20"),
    ("Throttle", {"sched.throttle.ratio": 0.2, "sched.throttle.submit": 3}, 0,
     record(batch={"recent": {"interval": 600, "maxtime": 60, "total": 4, "short": 1}}), 3,
     "Throttle:in=0,total=4,short=1,ratio=0.2,submit=3,ret=3"),
    ("Throttle", {}, 20, record(batch={"recent": {"interval": 3600, "maxtime": 10, "total": 0, "short": 0}}), 20,
     "Throttle:in=20,ret=20"),
    ("Throttle", {}, 20, record(), 20, "Throttle:in=20,ret=20"),
    ("Throttle", {}, -2, NO_BATCH, -2, "Throttle:in=-2,ret=-2"),
    # MaxToSubmit / MinToSubmit (empty in APF): over the queue's submitted history
    ("MaxToSubmit", {"sched.maxtosubmit.maximum": 100}, 30, record(batch={"submitted_total": 90}), 10,
     "MaxToSubmit:in=30,submitted=90,maxtosubmit=100,ret=10"),
    ("MaxToSubmit", {"sched.maxtosubmit.maximum": 100}, 30, record(batch={"submitted_total": 120}), 0,
     "MaxToSubmit:in=30,submitted=120,maxtosubmit=100,ret=0"),
    ("MaxToSubmit", {"sched.maxtosubmit.maximum": 100}, -3, record(batch={"submitted_total": 120}), -3,
     "MaxToSubmit:in=-3,submitted=120,maxtosubmit=100,ret=-3"),
    ("MaxToSubmit", {"sched.maxtosubmit.maximum": 100}, 30, record(), 0,
     "MaxToSubmit:comment=no submitted total,in=30,maxtosubmit=100,ret=0"),
    ("MaxToSubmit", {}, 30, record(), 30, "MaxToSubmit:comment=Not set,in=30,ret=30"),
    ("MinToSubmit", {"sched.mintosubmit.minimum": 5}, 0, record(batch={"submitted_total": 2}), 3,
     "MinToSubmit:in=0,submitted=2,mintosubmit=5,ret=3"),
    ("MinToSubmit", {"sched.mintosubmit.minimum": 5}, 0, record(batch={"submitted_total": 9}), 0,
     "MinToSubmit:in=0,submitted=9,mintosubmit=5,ret=0"),
    ("MinToSubmit", {"sched.mintosubmit.minimum": 5}, 0, record(), 0,
     "MinToSubmit:comment=no submitted total,in=0,mintosubmit=5,ret=0"),
    ("MinToSubmit", {}, 4, record(), 4, "MinToSubmit:comment=Not set,in=4,ret=4"),
    # HeldGuard
    ("HeldGuard", {}, 10, record(pending=5, running=5, batch={"held": 2}), 10,
     "HeldGuard:comment=ok,in=10,held=2,pilots=12,maximum=None,ratio=0.5,ret=10"),
    ("HeldGuard", {}, 10, record(pending=1, running=1, batch={"held": 3}), 0,
     "HeldGuard:comment=held fraction above ratio,in=10,held=3,pilots=5,maximum=None,ratio=0.5,ret=0"),
    ("HeldGuard", {"sched.heldguard.maximum": 2}, 10, record(pending=50, running=50, batch={"held": 3}), 0,
     "HeldGuard:comment=held above maximum,in=10,held=3,pilots=103,maximum=2,ratio=0.5,ret=0"),
    ("HeldGuard", {"sched.heldguard.maximum": 2}, -4, record(pending=50, batch={"held": 3}), -4,
     "HeldGuard:comment=held above maximum,in=-4,held=3,pilots=53,maximum=2,ratio=0.5,ret=-4"),
    ("HeldGuard", {}, 10, record(), 10, "HeldGuard:comment=ok,in=10,held=0,pilots=0,maximum=None,ratio=0.5,ret=10"),
    ("HeldGuard", {}, 10, NO_BATCH, 0, "HeldGuard:comment=no batchinfo,in=10,ret=0"),
    # CircuitBreaker
    ("CircuitBreaker", {}, 10, record(batch={"done_1h": 1, "fault_1h": 5}), 10,
     "CircuitBreaker:comment=closed,reason=too few finished pilots,in=10,done=1,fault=5,faultfraction=0.83,"
     "ratio=0.5,minimum=10,probe=1,pending=0,ret=10"),
    ("CircuitBreaker", {}, 10, record(batch={"done_1h": 6, "fault_1h": 6}), 10,
     "CircuitBreaker:comment=closed,reason=fault fraction within ratio,in=10,done=6,fault=6,faultfraction=0.50,"
     "ratio=0.5,minimum=10,probe=1,pending=0,ret=10"),
    ("CircuitBreaker", {"sched.circuitbreaker.probe": 2}, 10, record(pending=1, batch={"done_1h": 2, "fault_1h": 18}),
     1, "CircuitBreaker:comment=half-open,reason=fault fraction above ratio so probing,in=10,done=2,fault=18,"
     "faultfraction=0.90,ratio=0.5,minimum=10,probe=2,pending=1,ret=1"),
    ("CircuitBreaker", {}, 10, record(pending=1, batch={"done_1h": 2, "fault_1h": 18}), 0,
     "CircuitBreaker:comment=open,reason=fault fraction above ratio and probes pending,in=10,done=2,fault=18,"
     "faultfraction=0.90,ratio=0.5,minimum=10,probe=1,pending=1,ret=0"),
    ("CircuitBreaker", {}, -3, record(pending=1, batch={"done_1h": 2, "fault_1h": 18}), -3,
     "CircuitBreaker:comment=open,reason=fault fraction above ratio and probes pending,in=-3,done=2,fault=18,"
     "faultfraction=0.90,ratio=0.5,minimum=10,probe=1,pending=1,ret=-3"),
    ("CircuitBreaker", {}, 10, NO_BATCH, 0, "CircuitBreaker:comment=open,reason=no batchinfo,in=10,ret=0"),
    # RampUp
    ("RampUp", {}, 30, record(pending=0), 10,
     "RampUp:in=30,attenuation=3.0,pending=0,curbs=none,crossed=0,ret=10"),
    ("RampUp", {"sched.rampup.curbs": "20, 5", "sched.rampup.attenuation": 2}, 40, record(pending=5), 10,
     "RampUp:in=40,attenuation=2.0,pending=5,curbs=5/20,crossed=1,ret=10"),
    ("RampUp", {"sched.rampup.curbs": "5,20"}, 30, record(pending=25), 2,
     "RampUp:in=30,attenuation=3.0,pending=25,curbs=5/20,crossed=2,ret=2"),
    ("RampUp", {"sched.rampup.curbs": "5,20"}, 1, record(pending=25), 1,
     "RampUp:in=1,attenuation=3.0,pending=25,curbs=5/20,crossed=2,ret=1"),
    ("RampUp", {}, -6, record(), -6, "RampUp:in=-6,attenuation=3.0,pending=0,curbs=none,crossed=0,ret=-6"),
    ("RampUp", {}, 6, NO_BATCH, 0, "RampUp:comment=no batchinfo,in=6,ret=0"),
    # CredentialLifetime
    ("CredentialLifetime", {}, 10, record(batch={"credential": {"lifetime": 200000.5}}), 10,
     "CredentialLifetime:comment=ok,in=10,lifetime=200000,walltime=86400,margin=3600,minimum=90000,ret=10"),
    ("CredentialLifetime", {"sched.credentiallifetime.walltime": 3600, "sched.credentiallifetime.margin": 600}, 10,
     record(batch={"credential": {"lifetime": 4000}}), 0,
     "CredentialLifetime:comment=expiring,in=10,lifetime=4000,walltime=3600,margin=600,minimum=4200,ret=0"),
    ("CredentialLifetime", {}, -2, record(batch={"credential": {"lifetime": 0}}), -2,
     "CredentialLifetime:comment=expiring,in=-2,lifetime=0,walltime=86400,margin=3600,minimum=90000,ret=-2"),
    ("CredentialLifetime", {}, 10, record(), 0,
     "CredentialLifetime:comment=unknown lifetime,reason=not reported,in=10,minimum=90000,ret=0"),
    ("CredentialLifetime", {}, 10,
     record(batch={"credential": {"lifetime": None, "error": "voms-proxy-info: no proxy, found"}}), 0,
     "CredentialLifetime:comment=unknown lifetime,reason=voms-proxy-info no proxy found,in=10,minimum=90000,ret=0"),
    # a credential error blocks even when the lifetime is known (a token of another audience)
    ("CredentialLifetime", {}, 10,
     record(batch={"credential": {"kind": "token", "lifetime": 3000, "error": "token audience lacks 'ce:9619'"}}), 0,
     "CredentialLifetime:comment=error,reason=token audience lacks 'ce 9619',in=10,lifetime=3000,ret=0"),
    ("CredentialLifetime", {"sched.credentiallifetime.unknown": "pass"}, 10,
     record(batch={"credential": {"lifetime": None, "error": "no token yet"}}), 0,
     "CredentialLifetime:comment=unknown lifetime,reason=no token yet,in=10,minimum=90000,ret=0"),
    # a token only has to outlive its next refresh (the status stage's error), not the walltime
    ("CredentialLifetime", {}, 10, record(batch={"credential": {"kind": "token", "lifetime": 3000, "error": None}}),
     10, "CredentialLifetime:comment=ok,in=10,lifetime=3000,kind=token,ret=10"),
    ("CredentialLifetime", {"sched.credentiallifetime.unknown": "Pass"}, 10, record(), 10,
     "CredentialLifetime:comment=unknown lifetime,reason=not reported,in=10,minimum=90000,ret=10"),
    ("CredentialLifetime", {}, 10, NO_BATCH, 0,
     "CredentialLifetime:comment=unknown lifetime,reason=no batchinfo,in=10,minimum=90000,ret=0"),
]


@pytest.mark.parametrize(("name", "keys", "n", "rec", "expected", "message"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule(name: str, keys: dict[str, Any], n: int, rec: dict[str, Any], expected: int, message: str) -> None:
    out, msg = rule(name, keys)(n, rec)
    assert (out, msg) == (expected, message)
    assert type(out) is int
    if message:   # an empty message: the rule says nothing (APF's MaxToRun when unset)
        assert parse_message(msg)[0] == name


@pytest.mark.parametrize(("maximum", "total", "n", "expected", "message"), [
    (100, 80, 10, 10, "MaxPerFactory:in=10,total=80,maxperfactory=100,ret=10"),
    (100, 95, 10, 5, "MaxPerFactory:in=10,total=95,maxperfactory=100,ret=5"),
    (100, 100, 10, 0, "MaxPerFactory:in=10,total=100,maxperfactory=100,ret=0"),
    (100, 130, 10, 0, "MaxPerFactory:in=10,total=130,maxperfactory=100,ret=0"),
    (100, 130, -4, 0, "MaxPerFactory:in=-4,total=130,maxperfactory=100,ret=0"),
    (100, 20, -4, -4, "MaxPerFactory:in=-4,total=20,maxperfactory=100,ret=-4"),
])
def test_max_per_factory(maximum: int, total: int, n: int, expected: int, message: str) -> None:
    factory = context(**{"maxperfactory.maximum": maximum})
    rec = record(batch={"factory_total": total})
    assert rule("MaxPerFactory", factory=factory)(n, rec) == (expected, message)


def test_max_per_factory_without_maximum_passes() -> None:
    """APF compared ``int > None`` (always 0 in Python 2); the evident intent is no limit."""
    assert rule("MaxPerFactory")(7, record(batch={"factory_total": 10**6})) == (
        7, "MaxPerFactory:comment=Not set,in=7,ret=7")


def test_max_per_factory_without_total_refuses_new_pilots() -> None:
    factory = context(**{"maxperfactory.maximum": 100})
    check = rule("MaxPerFactory", factory=factory)
    assert check(7, record()) == (0, "MaxPerFactory:comment=no factory total,in=7,maxperfactory=100,ret=0")
    assert check(-7, NO_BATCH)[0] == -7


def test_throttle_asks_for_its_history_window() -> None:
    throttle = plugins.find("sched", "Throttle")
    assert throttle.history_window(section("Q", {})) == (3600, 10)
    assert throttle.history_window(section("Q", {"sched.throttle.interval": 600, "sched.throttle.maxtime": 60})) == (
        600, 60)
    assert plugins.find("sched", "Ready").history_window(section("Q", {})) is None


@pytest.mark.parametrize(("name", "keys", "key", "value"), [
    ("MaxPerCycle", {"sched.maxpercycle.maximum": "ten"}, "sched.maxpercycle.maximum", "ten"),
    ("Scale", {"sched.scale.factor": "half"}, "sched.scale.factor", "half"),
    ("Throttle", {"sched.throttle.ratio": "1.5"}, "sched.throttle.ratio", "1.5"),
    ("CircuitBreaker", {"sched.circuitbreaker.ratio": "-0.1"}, "sched.circuitbreaker.ratio", "-0.1"),
    ("HeldGuard", {"sched.heldguard.ratio": "2"}, "sched.heldguard.ratio", "2"),
    ("MaxPending", {"sched.maxpending.allow_negative": "maybe"}, "sched.maxpending.allow_negative", "maybe"),
    ("RampUp", {"sched.rampup.curbs": "5,lots"}, "sched.rampup.curbs", "5,lots"),
    ("RampUp", {"sched.rampup.attenuation": "0.5"}, "sched.rampup.attenuation", "0.5"),
    ("CredentialLifetime", {"sched.credentiallifetime.unknown": "maybe"}, "sched.credentiallifetime.unknown",
     "maybe"),
])
def test_bad_values_name_queue_key_and_value(name: str, keys: dict[str, Any], key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rule(name, keys)
    text = str(caught.value)
    assert "[Q]" in text and key in text and repr(value) in text


def test_max_per_factory_bad_factory_value() -> None:
    with pytest.raises(ConfigError, match=r"\[Factory\] maxperfactory.maximum = 'many'"):
        rule("MaxPerFactory", factory=context(**{"maxperfactory.maximum": "many"}))


@pytest.mark.parametrize("name", plugins.names("sched"))
def test_rule_declares_its_keys_under_its_own_name(name: str) -> None:
    """APF's layout: every key a rule reads is ``sched.<rule>.*`` (MaxPerFactory's is in [Factory])."""
    cls = plugins.find("sched", name)
    assert cls.__doc__ and cls.__doc__.strip()
    assert all(key.startswith(f"sched.{name.lower()}.") for key in cls.KEYS), sorted(cls.KEYS)
    assert all(spec.doc for spec in cls.KEYS.values())


def test_every_apf_rule_and_the_new_ones_are_registered() -> None:
    apf = {"Ready", "Fillactivated", "WeightedActivated", "Fixed", "Null", "Scale", "MaxPerCycle", "MinPerCycle",
           "MaxPending", "MinPending", "MaxToRun", "MaxPerFactory", "KeepNRunning", "KeepNQueueLife", "StatusTest",
           "StatusOffline", "Throttle", "MaxToSubmit", "MinToSubmit"}
    new = {"HeldGuard", "CircuitBreaker", "RampUp", "CredentialLifetime"}
    assert apf | new <= set(plugins.names("sched"))
    assert plugins.find("sched", "maxpending") is plugins.find("sched", "MaxPending")
