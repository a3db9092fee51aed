"""Fuzzed records and configurations (hypothesis): no traceback, no pilot for a rejected record.

The commands run in-process (click's test runner), so a traceback shows as an exception that
is not one of apfctl's expected errors. The number of examples is bounded for CI.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apfctl.cli import cli
from apfctl.errors import ApfctlError
from tests.reliability.reliability_helpers import Factory

FIXED = {"schedplugin": "Fixed, MaxPerCycle", "sched.fixed.pilotspercycle": "2", "sched.maxpercycle.maximum": "3"}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)
PATHS = [("queue",), ("cycle",), ("apfctl",), ("decision",), ("decision", "pilots"), ("decision", "trace"),
         ("decision", "msg"), ("wms",), ("wms", "ok"), ("wms", "ready"), ("batch",), ("batch", "ok"),
         ("batch", "pending"), ("batch", "submitted_total"), ("batch", "factory_total"), ("extra",)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Factory, dict[str, Any]]:
    factory = Factory(tmp_path_factory.mktemp("fuzz"), {"RQ_A": dict(FIXED)})
    record = json.loads(factory.run("decide", stdin=factory.run("status", "-q", "RQ_A").stdout).stdout)
    return factory, record


def invoke(factory: Factory, *args: str, stdin: str = "") -> Any:
    result = CliRunner().invoke(cli, list(args), input=stdin, env=factory.env(), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, (ApfctlError, SystemExit)):
        raise AssertionError(f"apfctl {' '.join(args)} raised {result.exception!r}") from result.exception
    return result


def exit_code(result: Any) -> int:
    """The code ``apfctl`` would exit with (run_cli turns an ApfctlError into its exit_code)."""
    if isinstance(result.exception, ApfctlError):
        return result.exception.exit_code
    return result.exit_code


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=JSON_VALUES, cycle=st.integers(0, 10**6))
def test_fuzzed_records_never_crash_submit_nor_start_pilots_they_should_not(site, path, value, cycle) -> None:
    factory, base = site
    record = copy.deepcopy(base)
    record["cycle"] = f"20261201T000000Z-fz{cycle}"
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    before = sum(factory.pilots().values())
    result = invoke(factory, "submit", stdin=json.dumps(record) + "\n")
    added = sum(factory.pilots().values()) - before
    if exit_code(result) == 2:   # rejected: nothing submitted
        assert added == 0, result.output
    else:
        pilots = record["decision"]["pilots"]
        assert added <= max(0, min(pilots, 3))   # never past the queue's own caps (MaxPerCycle 3)


KEYS = ["schedplugin", "sched.fixed.pilotspercycle", "sched.maxpercycle.maximum", "slurm.timeout", "submit.maximum",
        "wmsstatus.file.path", "apfqueue.sleep", "enabled", "executable.arguments", "batchsubmitplugin",
        "batchstatusplugin", "wmsstatusplugin", "slurm.sbatch", "batchstatus.slurm.history", "wmsqueue"]
VALUES = st.one_of(st.sampled_from(["", "None", "0", "-1", "1e400", "True", "/dev/zero", "%(x)s", "%", "Fixed,",
                                    "GT2", "'", "\\", "99999999999999999999", "nan", "Slurm", "a b"]),
                   st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=4))
def test_fuzzed_configurations_are_errors_never_tracebacks(tmp_path_factory: pytest.TempPathFactory,
                                                           changes: dict[str, str]) -> None:
    factory = Factory(tmp_path_factory.mktemp("conf"), {"RQ_A": {**FIXED, **changes}})
    invoke(factory, "config", "check")
    invoke(factory, "cycle", "--all", "--dry-run")
    invoke(factory, "status", "--all")
