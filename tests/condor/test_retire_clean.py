"""Retirement (negative decisions), the hold policy, stale idle pilots, old log folders, apfctl clean."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from click.testing import CliRunner

from apfctl.cleanup.logs import clean_logs
from tests.condor.condor_helpers import factory_file, loaded, queue_section, submit_plugin

FID = "test-factory"


def pilot(queue: str, status: int, qdate: int, **attrs):
    return {"MATCH_APF_QUEUE": queue, "ApfctlFactory": FID, "JobStatus": status, "QDate": qdate, **attrs}


def fill(schedd):
    """Idle pilots 1-3 (oldest first), running pilots 4-5, and pilots of others."""
    for cluster, (status, qdate) in enumerate([(1, 100), (1, 300), (1, 200), (2, 50), (2, 400)], start=1):
        schedd.add_job(pilot("BNL", status, qdate), cluster=cluster)
    schedd.add_job(pilot("CERN", 1, 500), cluster=10)
    schedd.add_job({**pilot("BNL", 1, 600), "ApfctlFactory": "other"}, cluster=11)


@pytest.mark.parametrize("order, n, expected", [
    ("newest", 2, ["2.0", "3.0"]), ("oldest", 2, ["1.0", "3.0"]), ("newest", 10, ["2.0", "3.0", "1.0"])])
def test_peaceful_retirement_removes_idle_pilots_only(tmp_path, pool, order, n, expected):
    ld = loaded(tmp_path, queue_section("BNL", body=f"batchsubmit.condorlocal.overlay.killorder = {order}\n"))
    schedd = pool.schedd()
    fill(schedd)
    result = submit_plugin(ld, "BNL").retire(n)
    assert result.ids == expected
    assert schedd.calls == ["query", "act"]
    assert all(ad["RemoveReason"].startswith("apfctl retire") for ad in schedd.history_ads)
    assert {f"{c}.{p}" for c, p in schedd.jobs} == {"1.0", "2.0", "3.0", "4.0", "5.0", "10.0", "11.0"} - set(expected)


def test_retirement_takes_running_pilots_when_not_peaceful(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="batchsubmit.condorlocal.overlay.peaceful = False\n"))
    fill(pool.schedd())
    assert submit_plugin(ld, "BNL").retire(4).ids == ["2.0", "3.0", "1.0", "5.0"]


def test_apf24_key_names_for_peaceful_and_killorder(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="batchsubmit.condorlocal.peaceful = False\n"
                                                     "batchsubmit.condorlocal.killorder = oldest\n"))
    fill(pool.schedd())
    assert submit_plugin(ld, "BNL").retire(4).ids == ["1.0", "3.0", "2.0", "4.0"]


def test_retire_dry_run_removes_nothing(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    fill(pool.schedd())
    result = submit_plugin(ld, "BNL").retire(1, dry_run=True)
    assert result.ids == ["2.0"] and result.description == "remove 2.0"
    assert "act" not in pool.schedd().calls


def test_retired_pilots_count_as_removed_not_fault(tmp_path, pool):
    from apfctl_condor.batchstatus import CondorBatchStatus

    ld = loaded(tmp_path, queue_section("BNL"))
    fill(pool.schedd())
    submit_plugin(ld, "BNL").retire(2)
    plugin = CondorBatchStatus(CondorBatchStatus.endpoint(ld.queue("BNL"), ld.context), ld.context)
    finished = plugin.query([ld.queue("BNL")], 0)["BNL"].finished
    assert [f.outcome for f in finished] == ["removed", "removed"]


def held(code: int, subcode: int, reason: str, holds: int = 1, **attrs):
    now = int(time.time())
    return pilot("BNL", 5, now, HoldReasonCode=code, HoldReasonSubCode=subcode, HoldReason=reason,
                 NumHolds=holds, **attrs)


def test_hold_policy_releases_matching_pilots_a_few_times_and_removes_the_rest(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="""
        batchsubmit.condorlocal.clean.held.release = 13:2, /proxy .*expired/
        batchsubmit.condorlocal.clean.held.maxreleases = 2
        batchsubmit.condorlocal.clean.stale.idle = 3600
        """))
    schedd = pool.schedd()
    now = int(time.time())
    schedd.add_job(held(13, 2, "Transfer input files failure"), cluster=1)
    schedd.add_job(held(13, 2, "Transfer input files failure", holds=3), cluster=2)
    schedd.add_job(held(26, 0, "the proxy has expired"), cluster=3)
    schedd.add_job(held(13, 1, "some other transfer problem"), cluster=4)
    schedd.add_job(pilot("BNL", 1, now - 7200, EnteredCurrentStatus=now - 7200), cluster=5)
    schedd.add_job(pilot("BNL", 1, now, EnteredCurrentStatus=now), cluster=6)

    actions = submit_plugin(ld, "BNL").clean(dry_run=False)

    by_kind = {a["what"]: a["ids"] for a in actions}
    assert by_kind == {"release": ["1.0", "3.0"], "remove_held": ["2.0", "4.0"], "remove_stale": ["5.0"]}
    assert schedd.jobs[(1, 0)]["JobStatus"] == 1 and schedd.jobs[(3, 0)]["JobStatus"] == 1
    assert set(schedd.jobs) == {(1, 0), (3, 0), (6, 0)}
    reasons = {ad["ClusterId"]: ad["RemoveReason"] for ad in schedd.history_ads}
    assert reasons[5].startswith("apfctl clean")          # the factory's own: neither done nor fault
    assert not reasons[2].startswith("apfctl")            # a held pilot removed is a fault
    assert schedd.calls == ["query", "act", "act", "act"]


def test_clean_dry_run_changes_nothing(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    pool.schedd().add_job(held(12, 0, "no such file"), cluster=1)
    actions = submit_plugin(ld, "BNL").clean(dry_run=True)
    assert actions == [{"queue": "BNL", "action": "remove", "what": "remove_held", "ids": ["1.0"],
                        "reason": "held pilot removed by apfctl clean (hold policy of queue BNL)", "dry_run": True}]
    assert pool.schedd().jobs[(1, 0)]["JobStatus"] == 5


def make_logs(base, days_ago: int, queue: str):
    day = dt.date(2026, 11, 25) - dt.timedelta(days=days_ago)
    folder = base / f"{day:%Y-%m-%d}" / queue
    folder.mkdir(parents=True)
    (folder / "1.0.out").write_text("pilot output")
    return folder


def test_log_folders_older_than_keepdays_are_removed(tmp_path):
    base = tmp_path / "logs"
    old_default = make_logs(base, 20, "BNL%2F1")
    young = make_logs(base, 3, "BNL%2F1")
    old_short = make_logs(base, 3, "CERN")
    kept_long = make_logs(base, 25, "LONG")
    outside = tmp_path / "precious"
    outside.mkdir()
    (base / "2026-11-01").mkdir()
    (base / "2026-11-01" / "LINK").symlink_to(outside)
    today = dt.date(2026, 11, 25)
    queue_days = {"BNL/1": None, "CERN": 2, "LONG": 30}

    planned = clean_logs(base, 14, queue_days, today=today, dry_run=True)
    assert sorted(a["path"] for a in planned) == sorted([str(old_default), str(old_short)])
    assert old_default.exists()

    clean_logs(base, 14, queue_days, today=today)
    assert not old_default.exists() and not old_short.exists()
    assert young.exists() and kept_long.exists() and outside.exists()
    assert not (base / "2026-11-05").exists()   # the emptied date folder went too


def test_apfctl_clean_command_records_its_actions_in_the_ledger(tmp_path, pool, state):
    from apfctl.cli import cli
    from apfctl.ledger import Ledger

    config = factory_file(tmp_path, queue_section("BNL"))
    pool.schedd().add_job(held(12, 0, "no such file"), cluster=1)
    old = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
    (tmp_path / "logs" / f"{old:%Y-%m-%d}" / "BNL").mkdir(parents=True)

    runner = CliRunner()
    dry = runner.invoke(cli, ["clean", "--config", str(config), "--dry-run"], standalone_mode=False)
    assert dry.exception is None, dry.output
    assert [json.loads(line)["action"] for line in dry.output.splitlines()] == ["remove", "remove_logs"]
    assert pool.schedd().jobs

    real = runner.invoke(cli, ["clean", "--config", str(config)], standalone_mode=False)
    assert real.exception is None and real.return_value == 0, real.output
    assert not pool.schedd().jobs
    with Ledger(state) as ledger:
        kinds = [(a["kind"], a["queue"]) for a in ledger.actions("clean")]
    assert kinds == [("clean", "BNL"), ("clean", "BNL")]


def test_apfctl_clean_reports_an_unreachable_schedd_and_exits_1(tmp_path, pool, state):
    from apfctl.cli import cli

    config = factory_file(tmp_path, queue_section("BNL"))
    pool.schedd().fail("query", "unreachable")
    result = CliRunner().invoke(cli, ["clean", "--config", str(config), "--no-logs"], standalone_mode=False)
    assert result.exception is None
    assert result.return_value == 1


def test_a_partial_removal_reports_only_what_the_schedd_removed(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    fill(pool.schedd())
    pool.schedd().fail("act", "partial")
    assert len(submit_plugin(ld, "BNL").retire(2).ids) == 1
    assert len(pool.schedd().history_ads) == 1
