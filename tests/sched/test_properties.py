"""Property tests (hypothesis) over every registered rule and random chains."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apfctl import plugins
from apfctl.config.keys import Key
from apfctl.config.loader import Loaded
from apfctl.stages.decide import Decider
from tests.sched.sched_helpers import context, parse_message, section

RULES = plugins.names("sched")
counts = st.integers(min_value=0, max_value=500)
n_values = st.integers(min_value=-1000, max_value=1000)


def value_for(key: Key) -> st.SearchStrategy[str]:
    low = int(key.minimum) if key.minimum is not None else -50
    if key.choices:
        return st.sampled_from(key.choices)
    if key.type == "int":
        return st.integers(min_value=low, max_value=500).map(str)
    if key.type == "float":
        return st.floats(min_value=max(low, -5), max_value=10, allow_nan=False).map(lambda x: f"{x:.3f}")
    if key.type == "ratio":
        return st.floats(min_value=0, max_value=1).map(lambda x: f"{x:.3f}")
    if key.type == "bool":
        return st.sampled_from(["True", "False"])
    if key.type == "list":
        return st.lists(st.integers(0, 200), max_size=4).map(lambda xs: ", ".join(map(str, xs)) or "None")
    raise AssertionError(f"no strategy for key type {key.type}")


@st.composite
def rule_keys(draw: st.DrawFn, name: str) -> dict[str, str]:
    keys = plugins.find("sched", name).KEYS
    chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True)) if keys else []
    return {key: draw(value_for(keys[key])) for key in chosen}


@st.composite
def records(draw: st.DrawFn, usable: bool | None = None) -> dict[str, Any]:
    wms_kind = draw(st.sampled_from(["ok", "ok", "failed", "missing", "noplugin"]))
    batch_kind = draw(st.sampled_from(["ok", "ok", "failed", "missing"]))
    if usable is True:
        wms_kind, batch_kind = "ok", "ok"
    elif usable is False and wms_kind in ("ok", "noplugin") and batch_kind == "ok":
        batch_kind = draw(st.sampled_from(["failed", "missing"]))
    rec: dict[str, Any] = {"apfctl": 1, "queue": "Q", "cycle": "c1"}
    if wms_kind in ("ok", "noplugin"):
        rec["wms"] = {"plugin": "File" if wms_kind == "ok" else None, "ok": True, "queue": "Q",
                      "ready": draw(counts), "notready": 0, "running": draw(counts), "done": 0, "failed": 0,
                      "status": draw(st.sampled_from(["online", "test", "offline", "brokeroff", None])),
                      "error": None}
    elif wms_kind == "failed":
        rec["wms"] = {"plugin": "File", "ok": False, "error": "down"}
    if batch_kind == "ok":
        batch = {"plugin": "Local", "ok": True, "error": None, "pending": draw(counts), "held": draw(counts),
                 "running": draw(counts), "exiting": draw(counts), "done_1h": draw(counts), "fault_1h": draw(counts)}
        if draw(st.booleans()):
            batch["factory_total"] = draw(st.integers(0, 5000))
        if draw(st.booleans()):
            total = draw(counts)
            batch["recent"] = {"interval": 3600, "maxtime": 10, "total": total, "short": draw(st.integers(0, total))}
        if draw(st.booleans()):
            batch["credential"] = draw(st.sampled_from([
                {"lifetime": None, "error": "proxy, unreadable: =;"}, {"lifetime": 10.0}, {"lifetime": 400000.0}, {}]))
        if draw(st.booleans()):
            batch["submitted_total"] = draw(st.integers(0, 5000))
        rec["batch"] = batch
    elif batch_kind == "failed":
        rec["batch"] = {"plugin": "Local", "ok": False, "error": "down"}
    return rec


@st.composite
def chains(draw: st.DrawFn) -> list[tuple[str, dict[str, str]]]:
    names = draw(st.lists(st.sampled_from(RULES), min_size=1, max_size=7))
    return [(name, draw(rule_keys(name))) for name in names]


def loaded_for(chain: list[tuple[str, dict[str, str]]], factory_max: int | None) -> Loaded:
    values: dict[str, Any] = {"schedplugin": ", ".join(name for name, _ in chain)}
    for _, keys in chain:
        values.update(keys)
    factory = context(**({"maxperfactory.maximum": factory_max} if factory_max is not None else {}))
    return Loaded(path=Path("/nonexistent"), is_demo=False, factory=factory.config,
                  queues={"Q": section("Q", values)}, context=factory)


def build(name: str, keys: dict[str, str]):
    return plugins.find("sched", name)(section("Q", keys), context(**{"maxperfactory.maximum": 1000}))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_message_parses_as_name_key_value(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(RULES))
    rule = build(name, data.draw(rule_keys(name)))
    n, rec = data.draw(n_values), data.draw(records())
    out, msg = rule(n, rec)
    assert type(out) is int
    if name == "MaxToRun" and rule.maximum is None and rec.get("batch", {}).get("ok"):
        assert msg == "" and out == n   # APF's MaxToRun said nothing when unset
    else:
        assert parse_message(msg)[0] == name


@settings(max_examples=200, deadline=None)
@given(st.integers(-1000, 1000) | st.none(), n_values, records())
def test_max_per_cycle_never_raises(maximum: int | None, n: int, rec: dict[str, Any]) -> None:
    keys = {} if maximum is None else {"sched.maxpercycle.maximum": str(maximum)}
    assert build("MaxPerCycle", keys)(n, rec)[0] <= n


@settings(max_examples=200, deadline=None)
@given(st.integers(-1000, 1000) | st.none(), n_values, records())
def test_min_per_cycle_never_lowers(minimum: int | None, n: int, rec: dict[str, Any]) -> None:
    keys = {} if minimum is None else {"sched.minpercycle.minimum": str(minimum)}
    assert build("MinPerCycle", keys)(n, rec)[0] >= n


GUARDS = ["HeldGuard", "CircuitBreaker", "RampUp", "CredentialLifetime", "MaxToSubmit"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_guards_never_raise_n(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(GUARDS))
    n = data.draw(n_values)
    out, _ = build(name, data.draw(rule_keys(name)))(n, data.draw(records()))
    assert out <= max(n, 0) and (n > 0 or out == n or out == min(n, 0))


@settings(max_examples=150, deadline=None)
@given(chains(), records(), st.integers(0, 2000) | st.none())
def test_chain_is_deterministic_and_leaves_status_alone(chain, rec, factory_max) -> None:
    loaded = loaded_for(chain, factory_max)
    first = Decider(loaded).decide(copy.deepcopy(rec))
    second = Decider(loaded).decide(copy.deepcopy(rec))
    again = Decider(loaded)
    assert first == second == again.decide(copy.deepcopy(rec)) == again.decide(copy.deepcopy(rec))
    assert {k: v for k, v in first.items() if k != "decision"} == rec
    steps = first["decision"]["trace"]
    assert first["decision"]["msg"] == ";".join(step["msg"] for step in steps if step["msg"])
    for before, after in itertools.pairwise(steps):
        assert after["in"] == before["out"]


@settings(max_examples=150, deadline=None)
@given(chains(), records(usable=False), st.integers(0, 2000) | st.none())
def test_unknown_status_never_yields_pilots(chain, rec, factory_max) -> None:
    decision = Decider(loaded_for(chain, factory_max)).decide(rec)["decision"]
    assert decision["pilots"] == 0
    assert parse_message(decision["msg"])[0] == "Status"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_unknown_site_status_never_yields_pilots(data: st.DataObject) -> None:
    """A chain ending in StatusTest or StatusOffline gives 0 when the WMS reports no site status."""
    rec = data.draw(records(usable=True))
    rec["wms"]["status"] = None
    chain = [*data.draw(chains()), (data.draw(st.sampled_from(["StatusTest", "StatusOffline"])), {})]
    assert Decider(loaded_for(chain, 100)).decide(rec)["decision"]["pilots"] == 0
