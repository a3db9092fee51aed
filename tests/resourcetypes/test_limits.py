"""Harvester's limits: worked examples checked by hand from Harvester's code, and properties.

Each example names the Harvester code it follows: queue_config_mapper.py (sanitising),
db_proxy.py get_worker_limits (evaluation), worker_adjuster.py define_num_workers (new
workers per type and the UCORE trim). Where apfctl differs on purpose the row says so.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apfctl.errors import ConfigError
from apfctl.resourcetypes.limits import INT_LIMITS, Evaluated, Limits, Running, evaluate, from_queue, sanitise
from apfctl.resourcetypes.newpilots import (
    QueueState,
    TypeState,
    queue_cap,
    queue_new_pilots,
    queued_target,
    trim,
    type_new_pilots,
)
from apfctl.resourcetypes.sizing import PilotSize

SCORE, MCORE = PilotSize(1, 2000), PilotSize(8, 16000)


def limits(**values):
    warnings: list[str] = []
    return sanitise(values, "Q", warnings)


# --- sanitising (queue_config_mapper.py) --------------------------------------------------------
def test_sanitise_caps_limit_by_its_max_and_maxworkers():
    got = limits(nQueueLimitWorker=500, nQueueLimitWorkerMax=300, maxWorkers=200, nQueueLimitWorkerMin=250)
    assert (got.nQueueLimitWorker, got.nQueueLimitWorkerMax, got.nQueueLimitWorkerMin) == (200, 200, 200)


def test_sanitise_max_alone_becomes_the_limit():
    got = limits(nQueueLimitWorkerMax=40, maxWorkers=100)
    assert (got.nQueueLimitWorker, got.nQueueLimitWorkerMax) == (40, 40)


def test_sanitise_non_integers_unset_negatives_zero_with_warnings():
    warnings: list[str] = []
    got = sanitise({"nQueueLimitWorker": "50", "maxWorkers": -5, "nQueueLimitWorkerRatio": 12.5,
                    "maxNewWorkersPerCycle": True, "nQueueLimitWorkerCores": 64.0,
                    "noPilotsWhenNoActiveJobs": "yes", "activateWorkerFactor": -1, "unrelated": "x"},
                   "CRIC queue BNL params", warnings)
    assert got.nQueueLimitWorker is None and got.maxWorkers == 0 and got.nQueueLimitWorkerRatio is None
    assert got.maxNewWorkersPerCycle is None and got.nQueueLimitWorkerCores == 64
    assert got.noPilotsWhenNoActiveJobs is False and got.activateWorkerFactor == 1.0
    assert len(warnings) == 5
    assert "CRIC queue BNL params: nQueueLimitWorker = '50' is not an integer; ignored" in warnings
    assert all("unrelated" not in w for w in warnings)


def test_sanitise_caps_cores_and_memory_min_by_their_limit():
    got = limits(nQueueLimitWorkerCores=100, nQueueLimitWorkerCoresMin=300,
                 nQueueLimitWorkerMemory=1000, nQueueLimitWorkerMemoryMin=50)
    assert (got.nQueueLimitWorkerCoresMin, got.nQueueLimitWorkerMemoryMin) == (100, 50)


# --- evaluation (get_worker_limits) ------------------------------------------------------------------
@pytest.mark.parametrize(("static", "running", "n_types", "expected"), [
    # Ratio 50 of 100 running = 50 >= Min 20: min(100, 50); per type the same.
    (dict(nQueueLimitWorker=100, nQueueLimitWorkerRatio=50, nQueueLimitWorkerMin=20), Running(100), 4,
     Evaluated(None, 50, 50, None, None)),
    # 10 running: by ratio 5 < Min 20: min(100, 20); per type min(100, ceil(20 / 4)) = 5.
    (dict(nQueueLimitWorker=100, nQueueLimitWorkerRatio=50, nQueueLimitWorkerMin=20), Running(10), 4,
     Evaluated(None, 20, 5, None, None)),
    # no nQueueLimitWorker: maxWorkers is the limit; nothing running and no Min: 0 may queue.
    (dict(maxWorkers=1000, nQueueLimitWorkerRatio=20), Running(0), 1, Evaluated(1000, 0, 0, None, None)),
    # cores: min(1000, 400 * 50 / 100) = 200.
    (dict(nQueueLimitWorkerCores=1000, nQueueLimitWorkerCoresRatio=50), Running(10, 400, 0), 1,
     Evaluated(None, None, None, 200, None)),
    # cores Min raised to nQueueLimitWorkerMin x 1 = 300 > 200 by ratio: min(1000, 300).
    (dict(nQueueLimitWorkerCores=1000, nQueueLimitWorkerCoresRatio=50, nQueueLimitWorkerMin=300),
     Running(10, 400, 0), 1, Evaluated(None, None, None, 300, None)),
    # memory: Min 5 workers x 1000 MB = 5000 <= 10% of 100000: no static limit, 10000.
    (dict(nQueueLimitWorkerMemoryRatio=10, nQueueLimitWorkerMin=5), Running(10, 10, 100000), 1,
     Evaluated(None, None, None, None, 10000)),
    # memory below its floor: the floor, 5000.
    (dict(nQueueLimitWorkerMemoryRatio=10, nQueueLimitWorkerMin=5), Running(10, 10, 20000), 1,
     Evaluated(None, None, None, None, 5000)),
    # static limits only.
    (dict(nQueueLimitWorker=30, maxWorkers=100, nQueueLimitWorkerCores=64), Running(50, 50, 0), 2,
     Evaluated(100, 30, 30, 64, None)),
])
def test_evaluate_worked_examples(static, running, n_types, expected):
    assert evaluate(limits(**static), running, n_types) == expected


# --- new pilots of one type (define_num_workers, pull mode) -------------------------------------------
NO_QUEUE = QueueState(0, 0, 0, 0)


@pytest.mark.parametrize(("static", "state", "queue", "expected"), [
    # target min(50 activated, 10) - 3 queued.
    (dict(nQueueLimitWorker=10), TypeState(3, 0, 50, SCORE), NO_QUEUE, 7),
    # no activated job: a target of 1 ...
    (dict(nQueueLimitWorker=10), TypeState(0, 0, 0, SCORE), NO_QUEUE, 1),
    # ... or 0 with noPilotsWhenNoActiveJobs.
    (dict(nQueueLimitWorker=10, noPilotsWhenNoActiveJobs=True), TypeState(0, 0, 0, SCORE), NO_QUEUE, 0),
    # factor 0.5: int(5 * 0.5) = 2.
    (dict(nQueueLimitWorker=10, activateWorkerFactor=0.5), TypeState(0, 0, 5, SCORE), NO_QUEUE, 2),
    # factor 0.5 of 1 job: 0.5 > 0, so at least 1.
    (dict(nQueueLimitWorker=10, activateWorkerFactor=0.5), TypeState(0, 0, 1, SCORE), NO_QUEUE, 1),
    # queued already at the limit.
    (dict(nQueueLimitWorker=10), TypeState(10, 0, 50, SCORE), NO_QUEUE, 0),
    # 5 + 14 = 19 < maxWorkers 20: target 10 - 5 = 5, capped by the headroom 1.
    (dict(nQueueLimitWorker=10, maxWorkers=20), TypeState(5, 14, 50, SCORE), NO_QUEUE, 1),
    # 20 queued+running reach maxWorkers 20.
    (dict(nQueueLimitWorker=30, maxWorkers=20), TypeState(5, 15, 50, SCORE), NO_QUEUE, 0),
    # cores headroom 100 - 90 = 10, MCORE pilots of 8 cores: 1 (Harvester: ceil, 2).
    (dict(nQueueLimitWorker=10, nQueueLimitWorkerCores=100), TypeState(0, 0, 50, MCORE),
     QueueState(5, 0, 90, 0), 1),
    # memory headroom 40000 - 0 over 16000 MB pilots: 2.
    (dict(nQueueLimitWorker=10, nQueueLimitWorkerMemory=40000), TypeState(0, 0, 50, MCORE), NO_QUEUE, 2),
    # queued cores at the limit.
    (dict(nQueueLimitWorker=10, nQueueLimitWorkerCores=90), TypeState(0, 0, 50, SCORE),
     QueueState(5, 0, 90, 0), 0),
    # maxNewWorkersPerCycle.
    (dict(nQueueLimitWorker=100, maxNewWorkersPerCycle=3), TypeState(0, 0, 50, SCORE), NO_QUEUE, 3),
    # no limit at all: the activated jobs.
    ({}, TypeState(2, 0, 50, SCORE), NO_QUEUE, 48),
])
def test_type_new_pilots_worked_examples(static, state, queue, expected):
    got = limits(**static)
    assert type_new_pilots(got, evaluate(got, Running()), state, queue)[0] == expected


def test_type_new_pilots_says_why():
    got = limits(nQueueLimitWorker=10, maxWorkers=20)
    assert type_new_pilots(got, evaluate(got, Running()), TypeState(5, 14, 50, SCORE), NO_QUEUE) == (
        1, "capped by maxWorkers to 1")


# --- the UCORE trim (define_num_workers, after the per-type loop) ---------------------------------------
@pytest.mark.parametrize(("wanted", "cap", "expected"), [
    # 10*7/15 = 4 r 10, 5*7/15 = 2 r 5: the one left goes to the larger remainder.
    ({"SCORE": 10, "MCORE": 5}, 7, {"SCORE": 5, "MCORE": 2}),
    ({"SCORE": 3, "MCORE": 3}, 4, {"SCORE": 2, "MCORE": 2}),
    # equal remainders and requests: the order given.
    ({"SCORE": 3, "MCORE": 3}, 5, {"SCORE": 3, "MCORE": 2}),
    # equal remainders: the smaller request first.
    ({"SCORE": 4, "MCORE": 2, "SCORE_HIMEM": 0}, 3, {"SCORE": 2, "MCORE": 1, "SCORE_HIMEM": 0}),
    ({"SCORE": 10, "MCORE": 5}, 0, {"SCORE": 0, "MCORE": 0}),
    ({"SCORE": 10, "MCORE": 5}, 20, {"SCORE": 10, "MCORE": 5}),
    ({"SCORE": 10, "MCORE": 5}, None, {"SCORE": 10, "MCORE": 5}),
])
def test_trim_worked_examples(wanted, cap, expected):
    assert trim(wanted, cap) == expected


def test_queue_wide_limit_trims_the_sum_of_the_types():
    # nQueueLimitWorker 20, 12 queued: 8 for the queue; SCORE wants 10 and MCORE 6 -> 5 and 3.
    got = limits(nQueueLimitWorker=20)
    ev = evaluate(got, Running(), 2)
    queue = QueueState(12, 0, 12, 0)
    assert queue_cap(got, ev, queue) == 8
    assert queue_new_pilots(got, ev, {"SCORE": 10, "MCORE": 6}, {"SCORE": SCORE, "MCORE": MCORE}, queue) == {
        "SCORE": 5, "MCORE": 3}


def test_queue_wide_cores_keep_the_sum_within_the_headroom():
    # 40 cores free: SCORE 10 x 1 + MCORE 5 x 8 = 50 wanted -> SCORE 8 + MCORE 4 x 8 = 40.
    got = limits(nQueueLimitWorkerCores=40)
    ev = evaluate(got, Running(), 2)
    out = queue_new_pilots(got, ev, {"SCORE": 10, "MCORE": 5}, {"SCORE": SCORE, "MCORE": MCORE}, NO_QUEUE)
    assert out == {"SCORE": 8, "MCORE": 4}


# --- queue keys ----------------------------------------------------------------------------------
def test_from_queue_reads_harvester_keys(queue):
    got = from_queue(queue("Q", maxWorkers="100", nQueueLimitWorker="300", noPilotsWhenNoActiveJobs="True",
                           activateWorkerFactor="0.5"))
    assert (got.maxWorkers, got.nQueueLimitWorker, got.noPilotsWhenNoActiveJobs, got.activateWorkerFactor) == (
        100, 100, True, 0.5)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("maxWorkers", "many", "not an integer"), ("nQueueLimitWorker", "-1", "at least 0"),
    ("activateWorkerFactor", "0", "above 0"), ("nQueueLimitWorkerRatio", "2000000000", "at most"),
    ("noPilotsWhenNoActiveJobs", "maybe", "not a boolean"),
])
def test_bad_limit_keys_name_queue_key_and_value(queue, key, value, words):
    with pytest.raises(ConfigError) as caught:
        from_queue(queue("BNL", **{key: value}))
    assert words in str(caught.value) and (caught.value.section, caught.value.key, caught.value.value) == (
        "BNL", key, value)


# --- properties --------------------------------------------------------------------------------------
maybe = st.one_of(st.none(), st.integers(-5, 400))
raw_value = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=5),
                      st.booleans())
static = st.fixed_dictionaries({}, optional={name: maybe for name in INT_LIMITS})
running = st.builds(Running, st.integers(0, 2000), st.integers(0, 20000), st.integers(0, 10**7))
size = st.builds(PilotSize, st.integers(1, 64), st.one_of(st.none(), st.integers(1, 256000)))
type_state = st.builds(TypeState, st.integers(0, 500), st.integers(0, 500), st.integers(0, 5000), size)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(INT_LIMITS), raw_value))
def test_sanitised_limits_are_none_or_non_negative_and_ordered(raw):
    warnings: list[str] = []
    got = sanitise(raw, "Q", warnings)
    for name in INT_LIMITS:
        value = getattr(got, name)
        assert value is None or (type(value) is int and value >= 0)
    if got.nQueueLimitWorker is not None:
        assert got.nQueueLimitWorkerMax is None or got.nQueueLimitWorker <= got.nQueueLimitWorkerMax
        assert not got.maxWorkers or got.nQueueLimitWorker <= got.maxWorkers
        assert got.nQueueLimitWorkerMin is None or got.nQueueLimitWorkerMin <= got.nQueueLimitWorker


@settings(max_examples=300, deadline=None)
@given(static, running, st.integers(1, 4))
def test_evaluated_limits_never_exceed_the_static_ones(values, run, n_types):
    got = limits(**values)
    ev = evaluate(got, run, n_types)
    static_queued = got.nQueueLimitWorker if got.nQueueLimitWorker is not None else got.max_workers
    if static_queued is not None:
        assert ev.queued is not None and ev.queued <= static_queued
    if ev.queued is not None:
        assert ev.queued >= 0 and ev.queued_per_type is not None and ev.queued_per_type <= ev.queued
    if got.nQueueLimitWorkerRatio is not None and got.nQueueLimitWorkerMin is not None and ev.queued is not None:
        assert ev.queued >= min(got.nQueueLimitWorkerMin, static_queued if static_queued is not None else math.inf)
    for evaluated, limit in ((ev.cores, got.nQueueLimitWorkerCores), (ev.memory, got.nQueueLimitWorkerMemory)):
        if limit is not None:
            assert evaluated is not None and 0 <= evaluated <= limit


@settings(max_examples=500, deadline=None)
@given(static, running, type_state, st.integers(0, 5000), st.integers(0, 10**7), st.booleans(),
       st.sampled_from([0.25, 0.5, 1.0, 2.0]))
def test_type_new_pilots_never_exceed_a_limit(values, run, state, cores_q, mem_q, no_pilots, factor):
    got = Limits(**{**limits(**values).as_dict(), "noPilotsWhenNoActiveJobs": no_pilots,
                    "activateWorkerFactor": factor})
    ev = evaluate(got, run)
    queue = QueueState(state.queued, state.running, cores_q, mem_q)
    n, why = type_new_pilots(got, ev, state, queue)
    assert n >= 0 and why
    assert n <= max(queued_target(got, state.activated, ev.queued_per_type) - state.queued, 0)
    if ev.queued_per_type is not None:
        assert n == 0 or state.queued + n <= ev.queued_per_type
    if ev.max_workers is not None:
        assert n == 0 or state.queued + state.running + n <= ev.max_workers
    if ev.cores is not None:
        assert n == 0 or cores_q + n * state.size.cores <= ev.cores
    if ev.memory is not None and state.size.memory:
        assert n == 0 or mem_q + n * state.size.memory <= ev.memory
    if got.maxNewWorkersPerCycle:
        assert n <= got.maxNewWorkersPerCycle


wanted_map = st.dictionaries(st.sampled_from(["SCORE", "MCORE", "SCORE_HIMEM", "MCORE_HIMEM"]),
                             st.integers(0, 1000), min_size=1)


@settings(max_examples=500, deadline=None)
@given(wanted_map, st.one_of(st.none(), st.integers(-3, 3000)))
def test_trim_is_proportional_and_fills_the_cap(wanted, cap):
    out = trim(wanted, cap)
    total = sum(wanted.values())
    assert set(out) == set(wanted) and all(0 <= out[t] <= wanted[t] for t in wanted)
    if cap is None or total <= cap:
        assert out == wanted
        return
    if total == 0:
        assert out == wanted
        return
    assert sum(out.values()) == max(cap, 0)   # Harvester's trim hands out the whole cap
    for t, n in wanted.items():
        assert math.floor(n * max(cap, 0) / total) <= out[t] <= math.floor(n * max(cap, 0) / total) + 1


@settings(max_examples=500, deadline=None)
@given(static, running, st.dictionaries(st.sampled_from(["SCORE", "MCORE", "SCORE_HIMEM", "MCORE_HIMEM"]),
                                        st.tuples(st.integers(0, 300), size), min_size=1),
       st.integers(0, 100), st.integers(0, 100), st.integers(0, 400), st.integers(0, 10**5))
def test_queue_new_pilots_keep_every_queue_wide_limit(values, run, types, queued, running_now, cores_q, mem_q):
    got = limits(**values)
    ev = evaluate(got, run, len(types))
    wanted = {t: n for t, (n, _) in types.items()}
    sizes = {t: s for t, (_, s) in types.items()}
    queue = QueueState(queued, running_now, cores_q, mem_q)
    out = queue_new_pilots(got, ev, wanted, sizes, queue)
    total = sum(out.values())
    assert set(out) == set(wanted) and all(0 <= out[t] <= wanted[t] for t in wanted)
    cap = queue_cap(got, ev, queue)
    if total == 0:
        return
    if cap is not None:
        assert total <= cap
    if ev.queued is not None:
        assert queued + total <= ev.queued
    if ev.max_workers is not None:
        assert queued + running_now + total <= ev.max_workers
    if ev.cores is not None:
        assert cores_q + sum(out[t] * sizes[t].cores for t in out) <= ev.cores
    if ev.memory is not None:
        assert mem_q + sum(out[t] * (sizes[t].memory or 0) for t in out) <= ev.memory


def test_a_queue_is_limited_only_by_a_limit_that_is_set():
    assert not limits().limited and not limits(maxWorkers=0, maxNewWorkersPerCycle=0).limited
    assert limits(maxWorkers=5).limited and limits(nQueueLimitWorker=0).limited
    assert limits(nQueueLimitWorkerMemoryRatio=10).limited


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["SCORE", "MCORE"]), st.integers(0, 1000), min_size=1), running)
def test_an_unlimited_queue_is_never_trimmed(wanted, run):
    got = limits()
    ev = evaluate(got, run, len(wanted))
    sizes = dict.fromkeys(wanted, SCORE)
    assert queue_new_pilots(got, ev, wanted, sizes, QueueState(run.pilots, run.pilots, run.cores, run.memory)) == wanted
