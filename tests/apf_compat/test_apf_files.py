"""APF's own files, as APF shipped them, load and run unchanged.

``files/`` holds an ``autopyfactory.conf``, ``queues.conf``, ``auth.conf`` and
``monitor.conf`` in APF's shipped shape: CondorOSGCE queues fed by PanDA, templates such
as ``periodic_hold`` used through interpolation, keys of dead plugins (CondorGT2,
CondorCREAM) in ``[DEFAULT]``, a disabled queue on a dead plugin. The only local
addition is ``site-overrides.conf`` (a later queue file), which points the PanDA plugin at
a local server, as a site would override a value without touching the shared file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apfctl_condor.schedd import use_schedd_factory
from apfctl_condor.testing import FakePool
from apfctl_panda.testkit import serve_panda

from apfctl.config.loader import load
from apfctl.config.validate import check
from apfctl.stages.cycle import run_cycle

FILES = Path(__file__).parent / "files"
QUEUE = "BNL_ATLAS_1-gridgk01"


@pytest.fixture
def factory(tmp_path: Path) -> Path:
    for path in FILES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    proxy = tmp_path / "atlasProxy"
    proxy.write_text("-----BEGIN CERTIFICATE-----\n")
    auth = tmp_path / "auth.conf"
    auth.write_text(auth.read_text().replace("/tmp/atlasProxy", str(proxy)))
    (tmp_path / "site-overrides.conf").write_text("")
    return tmp_path / "autopyfactory.conf"


def test_apf_files_pass_config_check_with_no_warning(factory: Path, tmp_path: Path) -> None:
    loaded = load(str(factory), tmp_path / "state")
    assert loaded.enabled_queues() == [QUEUE]
    report = check(loaded)
    assert report.errors == [] and report.warnings == []


def test_disabled_dead_plugin_queue_is_refused_when_asked_for(factory: Path, tmp_path: Path) -> None:
    report = check(load(str(factory), tmp_path / "state"), ["OLD_GRAM"])
    assert any("CondorGT2" in str(e) and "CondorCE" in str(e) for e in report.errors)


def test_apf_queue_cycles_unchanged(factory: Path, tmp_path: Path, httpserver) -> None:
    serve_panda(httpserver, detailed={"BNL_ATLAS_1": {"SCORE": {"managed": {"activated": 30, "running": 4}}}},
                statuses={"BNL_ATLAS_1": "online"})
    (tmp_path / "site-overrides.conf").write_text(
        f"[{QUEUE}]\nwmsstatus.panda.baseurl = {httpserver.url_for('/').rstrip('/')}\n")
    loaded = load(str(factory), tmp_path / "state")
    assert check(loaded).errors == []
    pool = FakePool()
    with use_schedd_factory(pool):
        (record,) = run_cycle(loaded, [QUEUE]).records
    assert record["wms"]["ready"] == 30 and record["wms"]["status"] == "online"
    assert record["decision"]["msg"] == (
        "Ready:in=0,activated=30,offset=0,pending=0,ret=30;"
        "MinPerCycle:in=30,minpercycle=10,ret=30;"
        "MaxPerCycle:in=30,maxpercycle=20,ret=20;"
        "MaxPending:in=20,pending=0,maxpending=50,ret=20")
    assert record["submission"]["submitted"] == 20 and record["submission"]["error"] is None
    (job, *_) = pool.schedd().query(f'MATCH_APF_QUEUE == "{QUEUE}"')
    assert job["GridResource"] == "condor gridgk01.racf.bnl.gov gridgk01.racf.bnl.gov:9619"
    assert job["x509userproxy"] == str(tmp_path / "atlasProxy")
    assert "--wrapperwmsqueue=BNL_ATLAS_1 --wrapperbatchqueue=BNL_ATLAS_1" in job["Args"]
    environment = job["Environment"]
    assert "PANDA_JSID=MYSITE-hostname-sysadminname" in environment
    assert "APFMON" not in environment                # the queue's monitor is APF's Dummy, not apfmon
    assert job["Err"].startswith(str(tmp_path / "logs"))   # baseLogDir is relative to the factory file
