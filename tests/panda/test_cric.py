"""The CRIC queues-config plugin: selection, CE flavours, layering, cache, untrusted values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apfctl_panda.cric import CRIC
from apfctl_panda.testkit import cric_ce, cric_queue
from pytest_httpserver import HTTPServer

from apfctl import plugins
from apfctl.config.ini import parse_file
from apfctl.config.loader import load
from apfctl.config.model import FactoryConfig
from apfctl.errors import ConfigError, PluginError

CRIC_PATH = "/api/atlas/pandaqueue/query/"


def document() -> dict:
    """Realistic selection cases: each queue below is either in or out for one reason."""
    return {
        "BNL_PROD": cric_queue("BNL_PROD", [cric_ce("gridgk01.racf.bnl.gov:9619"),
                                            cric_ce("gridgk02.racf.bnl.gov:9619", queue_name="mcore")],
                               corecount=8, maxrss=16000),
        "NDGF_ARC": cric_queue("NDGF_ARC", [cric_ce("arc01.ndgf.org:443", flavour="arc-ce", queue_name="atlas")],
                               cloud="ND", corecount=4, maxrss=8000, maxtime=86400),
        "ANALY_MWT2": cric_queue("ANALY_MWT2", [cric_ce("osg-gk.mwt2.org:9619")], type="analysis"),
        "OLD_CREAM": cric_queue("OLD_CREAM", [cric_ce("cream.example.org:8443", flavour="cream-ce"),
                                              cric_ce("lcg.example.org:2119", flavour="lcg-ce")]),
        "HARVESTER_Q": cric_queue("HARVESTER_Q", [cric_ce("ce.harv.org:9619")], pilot_manager="Harvester"),
        "DISABLED_SITE": cric_queue("DISABLED_SITE", [cric_ce("ce.dis.org:9619")], site_state="DISABLED"),
        "CLOUD_RES": cric_queue("CLOUD_RES", [cric_ce("ce.cloud.org:9619")], resource_type="cloud"),
        "CE_STATES": cric_queue("CE_STATES", [cric_ce("down.ce.org:9619", ce_state="DISABLED"),
                                              cric_ce("test.ce.org:9619", ce_status="test"),
                                              cric_ce("qtest.ce.org:9619", ce_queue_status="test"),
                                              cric_ce("up.ce.org:9619", ce_queue_status="")]),
    }


def write_factory(tmp_path: Path, cric_url: str, *, order: str = "CRIC, File", extra: str = "",
                  queues: str = "") -> Path:
    (tmp_path / "queues.conf").write_text(queues or "[DEFAULT]\n")
    factory = tmp_path / "apfctl.conf"
    factory.write_text(f"[Factory]\nfactoryId = test\nqueueConf = queues.conf\nconfig.queues.plugin = {order}\n"
                       f"config.queues.cric.url = {cric_url}\n{extra}")
    return factory


def write_doc(tmp_path: Path, content: dict, name: str = "cric.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def loaded_from(tmp_path: Path, content: dict | None = None, **kwargs):
    doc = write_doc(tmp_path, document() if content is None else content)
    return load(str(write_factory(tmp_path, str(doc), **kwargs)), tmp_path / "state")


def test_one_section_per_selected_ce_with_apf_names_and_flavour_plugins(tmp_path: Path):
    loaded = loaded_from(tmp_path)
    assert sorted(loaded.queues) == [
        "ANALY_MWT2-osg-gk.mwt2.org", "BNL_PROD-gridgk01.racf.bnl.gov", "BNL_PROD-gridgk02.racf.bnl.gov",
        "CE_STATES-up.ce.org", "NDGF_ARC-arc01.ndgf.org"]
    ce = loaded.queue("BNL_PROD-gridgk01.racf.bnl.gov")
    assert ce.items() == {
        "enabled": "True", "batchqueue": "BNL_PROD", "wmsqueue": "BNL_PROD", "batchsubmitplugin": "CondorCE",
        "batchsubmit.condorce.gridresource": "gridgk01.racf.bnl.gov",
        "batchsubmit.condorce.condor_attributes":
            "periodic_remove = (JobStatus == 2 && (CurrentTime - EnteredCurrentStatus) > 604800)",
        "batchsubmit.condorce.condor_attributes.+maxMemory": "16000",
        "batchsubmit.condorce.condor_attributes.+xcount": "8",
        "batchsubmit.condorce.condor_attributes.+voactivity": '"production"',
        "batchsubmit.condorce.condor_attributes.+maxWallTime": "5760",
        "sched.scale.factor": "0.5",
    }
    assert loaded.queue("BNL_PROD-gridgk02.racf.bnl.gov").get(
        "batchsubmit.condorce.condor_attributes.+remote_queue") == '"mcore"'
    arc = loaded.queue("NDGF_ARC-arc01.ndgf.org")
    assert arc.get("batchsubmitplugin") == "CondorARC"
    assert {key: arc.get(key) for key in sorted(arc.keys()) if ".condorarc." in key} == {
        "batchsubmit.condorarc.gridresource": "arc01.ndgf.org",
        "batchsubmit.condorarc.arc_rte": "APPS/HEP/ATLAS-SITE-LCG,ENV/PROXY",
        "batchsubmit.condorarc.nordugridrsl.count": "4",
        "batchsubmit.condorarc.nordugridrsl.memory": "2000",
        "batchsubmit.condorarc.nordugridrsl.queue": "atlas",
        "batchsubmit.condorarc.nordugridrsl.addenv.RUCIO_ACCOUNT": "pilot",
        "batchsubmit.condorarc.condor_attributes.+remote_queue": '"atlas"',
    }
    assert arc.get("sched.scale.factor") == "1"
    assert [w for w in loaded.warnings if "cream" in w] == [
        "skipped CE cream.example.org of CRIC queue OLD_CREAM: flavour 'cream-ce' is not supported "
        "(supported: arc-ce, htcondor-ce)"]
    assert not any("lcg" in w for w in loaded.warnings)


def test_values_show_where_they_came_from(tmp_path: Path):
    loaded = loaded_from(tmp_path)
    doc = str(tmp_path / "cric.json")
    assert str(loaded.queue("ANALY_MWT2-osg-gk.mwt2.org").origin("wmsqueue")) == f"cric:{doc}"


def test_filters_and_scale_factor(tmp_path: Path):
    extra = ("config.queues.cric.clouds = US\nconfig.queues.cric.activities = production\n"
             "config.queues.cric.jobsperpilot = 1.5\nconfig.queues.cric.numfactories = 4\n")
    loaded = loaded_from(tmp_path, extra=extra)
    assert sorted(loaded.queues) == ["BNL_PROD-gridgk01.racf.bnl.gov", "BNL_PROD-gridgk02.racf.bnl.gov",
                                     "CE_STATES-up.ce.org"]
    # APF's example: 4 factories, 2 CEs, 1.5 jobs per pilot
    assert loaded.queue("BNL_PROD-gridgk01.racf.bnl.gov").get("sched.scale.factor") == "0.0833333"
    harvester = loaded_from(tmp_path, extra="config.queues.cric.pilotmanager = harvester\n")
    assert sorted(harvester.queues) == ["HARVESTER_Q-ce.harv.org"]
    anything = loaded_from(tmp_path, extra="config.queues.cric.pilotmanager = *\nconfig.queues.cric.vos = ATLAS\n")
    assert "HARVESTER_Q-ce.harv.org" in anything.queues and "BNL_PROD-gridgk01.racf.bnl.gov" in anything.queues


def test_parallel_groups_each_with_its_defaults_file(tmp_path: Path):
    (tmp_path / "prod.conf").write_text("[DEFAULT]\nschedplugin = Ready, Scale, MaxPerCycle\n"
                                        "sched.maxpercycle.maximum = 50\nbatchqueue = overridden-by-cric\n")
    (tmp_path / "analy.conf").write_text("[DEFAULT]\nschedplugin = Ready, MaxPerCycle\n"
                                         "sched.maxpercycle.maximum = 5\n")
    extra = ("config.queues.cric.activities = production, analysis\n"
             "config.queues.cric.defaultsfiles = prod.conf, analy.conf\n")
    loaded = loaded_from(tmp_path, extra=extra)
    prod = loaded.queue("BNL_PROD-gridgk01.racf.bnl.gov")
    analy = loaded.queue("ANALY_MWT2-osg-gk.mwt2.org")
    assert prod.get("sched.maxpercycle.maximum") == "50" and analy.get("sched.maxpercycle.maximum") == "5"
    assert str(prod.origin("sched.maxpercycle.maximum")) == f"{tmp_path / 'prod.conf'}:3"
    assert prod.get("batchqueue") == "BNL_PROD"   # CRIC-derived values come over the defaults


def test_parallel_lists_of_different_lengths_are_a_config_error(tmp_path: Path):
    extra = "config.queues.cric.activities = production, analysis\nconfig.queues.cric.clouds = US, DE, FR\n"
    with pytest.raises(ConfigError, match=r"config.queues.cric.(activities|clouds) .*parallel"):
        loaded_from(tmp_path, extra=extra)


def test_layering_defaults_then_cric_then_local_overrides(tmp_path: Path):
    (tmp_path / "defaults.conf").write_text("[DEFAULT]\nsched.maxpercycle.maximum = 50\nbatchstatusplugin = Condor\n")
    local = ("[DEFAULT]\nbatchstatusplugin = Local\n\n"
             "[BNL_PROD-gridgk01.racf.bnl.gov]\nsched.maxpercycle.maximum = 10\nsched.scale.factor = 1\n\n"
             "[LOCAL_ONLY]\nenabled = True\n")
    extra = "config.queues.cric.defaultsfiles = defaults.conf\n"
    loaded = loaded_from(tmp_path, extra=extra, queues=local)
    bnl = loaded.queue("BNL_PROD-gridgk01.racf.bnl.gov")
    assert bnl.get("sched.maxpercycle.maximum") == "10"
    assert str(bnl.origin("sched.maxpercycle.maximum")) == f"{tmp_path / 'queues.conf'}:5"
    assert bnl.get("sched.scale.factor") == "1"
    # the local file's [DEFAULT] applies to the local file's sections: the override section got it
    assert bnl.get("batchstatusplugin") == "Local"
    other = loaded.queue("BNL_PROD-gridgk02.racf.bnl.gov")
    assert other.get("batchstatusplugin") == "Condor" and other.get("sched.scale.factor") == "0.5"
    assert str(other.origin("batchstatusplugin")).startswith(str(tmp_path / "defaults.conf"))
    assert "LOCAL_ONLY" in loaded.queues
    assert not any("File before CRIC" in w for w in loaded.warnings)


def test_file_listed_before_cric_draws_a_warning(tmp_path: Path):
    local = "[BNL_PROD-gridgk01.racf.bnl.gov]\nsched.scale.factor = 1\n"
    loaded = loaded_from(tmp_path, order="File, CRIC", queues=local)
    assert loaded.queue("BNL_PROD-gridgk01.racf.bnl.gov").get("sched.scale.factor") == "0.5"
    assert any("lists File before CRIC" in w for w in loaded.warnings)


def test_two_ces_of_one_queue_on_one_host_get_distinct_sections(tmp_path: Path):
    content = {"MULTI": cric_queue("MULTI", [cric_ce("ce.example.org:9619", queue_name="short"),
                                             cric_ce("ce.example.org:9619", queue_name="long"),
                                             cric_ce("ce.example.org:9619", queue_name="long")])}
    loaded = loaded_from(tmp_path, content)
    assert sorted(loaded.queues) == ["MULTI-ce.example.org", "MULTI-ce.example.org-long"]
    assert any("second entry for section [MULTI-ce.example.org-long]" in w for w in loaded.warnings)
    assert loaded.queue("MULTI-ce.example.org").get("sched.scale.factor") == "0.5"


def test_untrusted_values_are_rejected_and_the_rest_loads(tmp_path: Path):
    content = {
        "../../etc/cron.d/x": cric_queue("../../etc/cron.d/x", [cric_ce("ce.evil.org:9619")]),
        "EVIL_RESOURCE": cric_queue("EVIL_RESOURCE", [cric_ce("ce.ok.org:9619")], panda_resource="a/../b"),
        "EVIL_CE": cric_queue("EVIL_CE", [cric_ce("ce.example.org:9619\nuniverse = local"),
                                          cric_ce("ce.example.org:96190"),
                                          cric_ce("https://ce.example.org/x"),
                                          cric_ce("fine.example.org:9619")]),
        "EVIL_QUEUE_NAME": cric_queue("EVIL_QUEUE_NAME", [cric_ce("ce2.example.org:9619",
                                                                  queue_name='atlas"\n+Owner = "root')]),
        "EVIL_NUMBERS": cric_queue("EVIL_NUMBERS", [cric_ce("ce3.example.org:9619")], maxrss="lots"),
        "EVIL_CORES": cric_queue("EVIL_CORES", [cric_ce("ce4.example.org:9619")], corecount=-8),
        "EVIL_TYPE": cric_queue("EVIL_TYPE", [cric_ce("ce5.example.org:9619")], type='production"'),
        "PERCENT": cric_queue("PERCENT", [cric_ce("ce6.example.org:9619", queue_name="%(executable)s")]),
        "GOOD": cric_queue("GOOD", [cric_ce("good.example.org:9619")]),
    }
    loaded = loaded_from(tmp_path, content)
    assert sorted(loaded.queues) == ["EVIL_CE-fine.example.org", "GOOD-good.example.org"]
    warnings = "\n".join(loaded.warnings)
    for fragment in ["CRIC queue name '../../etc/cron.d/x' is not a plain name",
                     "CRIC queue EVIL_RESOURCE panda_resource 'a/../b'",
                     "ce_endpoint 'ce.example.org:9619\\nuniverse = local'",
                     "ce_endpoint 'ce.example.org:96190' has no valid port",
                     "ce_endpoint 'https://ce.example.org/x'",
                     "ce_queue_name 'atlas\"\\n+Owner = \"root'",
                     "CRIC queue EVIL_NUMBERS maxrss 'lots' is not an integer",
                     "CRIC queue EVIL_CORES corecount -8",
                     "CRIC queue EVIL_TYPE type 'production\"'",
                     "ce_queue_name '%(executable)s'"]:
        assert fragment in warnings
    for queue in loaded.queues.values():
        for key in sorted(queue.keys()):
            assert "\n" not in queue.raw(key) and "%" not in queue.raw(key)
    assert not (tmp_path / "etc").exists()


# --- the document's source and its cache -------------------------------------------------
def cric_server(httpserver: HTTPServer, content=None, status: int = 200) -> str:
    body = json.dumps(document() if content is None else content)
    httpserver.expect_request(CRIC_PATH).respond_with_data(body, status=status, content_type="application/json")
    return httpserver.url_for(CRIC_PATH) + "?json"


def plugin(tmp_path: Path, url: str, extra: str = "") -> CRIC:
    """The plugin alone (the loader would run it once more)."""
    path = write_factory(tmp_path, url, extra="config.queues.cric.retries = 0\n" + extra)
    return CRIC(FactoryConfig("Factory", parse_file(path).sections["Factory"]), tmp_path / "state")


def sections(layers) -> list[str]:
    return sorted(name for layer in layers for name in layer.sections)


def warnings(layers) -> list[str]:
    """The warnings about the source (not about the document's entries)."""
    return [w for layer in layers for w in layer.warnings if w.startswith("CRIC:")]


def test_url_is_fetched_once_per_refresh_interval(httpserver: HTTPServer, tmp_path: Path):
    url = cric_server(httpserver)
    cric = plugin(tmp_path, url)
    first = cric.layers()
    assert len(sections(first)) == 5 and warnings(first) == []
    assert sections(cric.layers()) == sections(first)
    assert len(httpserver.log) == 1                         # the second run used the cache
    assert list((tmp_path / "state" / "cric").glob("*.json"))
    assert httpserver.log[0][0].headers["Accept"] == "application/json"


def test_stale_cache_is_refreshed(httpserver: HTTPServer, tmp_path: Path):
    url = cric_server(httpserver)
    plugin(tmp_path, url, "config.queues.cric.refresh = 0\n").layers()
    plugin(tmp_path, url, "config.queues.cric.refresh = 0\n").layers()
    assert len(httpserver.log) == 2


def age_cache(tmp_path: Path, seconds: float) -> None:
    (cache,) = (tmp_path / "state" / "cric").glob("*.json")
    content = json.loads(cache.read_text())
    content["fetched"] -= seconds
    cache.write_text(json.dumps(content))


@pytest.mark.parametrize("failure", ["500", "not json", "empty object", "down"])
def test_outage_falls_back_to_the_cache_with_its_age(tmp_path: Path, failure: str):
    server = HTTPServer(host="localhost", port=0)
    server.start()
    try:
        url = cric_server(server)
        good = sections(plugin(tmp_path, url).layers())
        age_cache(tmp_path, 2 * 3600 + 5 * 60 + 10)
        server.clear_all_handlers()
        if failure == "500":
            server.expect_request(CRIC_PATH).respond_with_data("CRIC is down", status=500)
        elif failure == "not json":
            server.expect_request(CRIC_PATH).respond_with_data("<html>login</html>", content_type="text/html")
        elif failure == "empty object":
            server.expect_request(CRIC_PATH).respond_with_json({})
        else:
            server.stop()
        layers = plugin(tmp_path, url).layers()
        assert sections(layers) == good
        (warning,) = warnings(layers)
        assert warning.startswith("CRIC: ") and "using the copy cached 2 h 05 min ago" in warning
        # the bad answer did not replace the good copy
        assert sections(plugin(tmp_path, url).layers()) == good
    finally:
        if server.is_running():
            server.stop()


def test_no_cric_and_no_cache_leaves_cric_queues_out_with_a_warning(tmp_path: Path):
    factory = write_factory(tmp_path, "http://localhost:1/cric?json",
                            extra="config.queues.cric.retries = 0\n",
                            queues="[LOCAL]\nenabled = True\n")
    loaded = load(str(factory), tmp_path / "state")
    assert list(loaded.queues) == ["LOCAL"]
    assert any(w.startswith("CRIC: cannot connect to localhost:1") and "no cached copy" in w
               for w in loaded.warnings)


def test_file_source_is_read_every_time_and_cached(tmp_path: Path):
    doc = write_doc(tmp_path, document())
    cric = plugin(tmp_path, str(doc))
    assert len(sections(cric.layers())) == 5
    doc.write_text(json.dumps({"GOOD": cric_queue("GOOD", [cric_ce("good.example.org:9619")])}))
    assert sections(cric.layers()) == ["GOOD-good.example.org"]
    os.remove(doc)
    layers = cric.layers()
    assert sections(layers) == ["GOOD-good.example.org"]
    assert "using the copy cached 0 min ago" in warnings(layers)[0]


def test_relative_file_url_is_taken_from_the_factory_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_doc(tmp_path, document(), "relative.json")
    monkeypatch.chdir("/")
    loaded = load(str(write_factory(tmp_path, "relative.json")), tmp_path / "state")
    assert len(loaded.queues) == 5


def test_agis_is_refused_with_the_replacement():
    with pytest.raises(PluginError, match="AGIS was replaced by CRIC"):
        plugins.find("config", "Agis")


def test_cache_age_text():
    from apfctl_panda.cric_source import age_text

    assert [age_text(s) for s in (59, 7 * 60, 3600 * 2 + 300, 86400 * 3 + 3600 * 4)] == \
        ["0 min", "7 min", "2 h 05 min", "3 d 4 h"]


def test_cric_sections_become_submit_descriptions(tmp_path: Path):
    """The keys CRIC writes are the ones CondorCE and CondorARC read (a dry run, no schedd)."""
    (tmp_path / "proxy").write_text("x")   # CE and ARC pilots need a credential (the site's defaults give it)
    (tmp_path / "defaults.conf").write_text("[DEFAULT]\nwmsstatusplugin = Panda\nbatchstatusplugin = Condor\n"
                                            "schedplugin = Ready\nexecutable = /bin/true\n"
                                            f"batchsubmit.condorbase.x509userproxy = {tmp_path / 'proxy'}\n")
    doc = write_doc(tmp_path, document())
    factory = write_factory(tmp_path, str(doc), extra="config.queues.cric.defaultsfiles = defaults.conf\n")
    records = "".join(json.dumps({"apfctl": 1, "queue": q, "cycle": "20261125T060000Z-beef",
                                  "decision": {"pilots": 2, "msg": "Fixed:in=0,ret=2", "trace": []}}) + "\n"
                      for q in ("BNL_PROD-gridgk02.racf.bnl.gov", "NDGF_ARC-arc01.ndgf.org"))
    env = {**os.environ, "APFCTL_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-m", "apfctl", "submit", "--dry-run", "--format", "json",
                             "--config", str(factory)], input=records, capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    described = {r["queue"]: r["submission"] for r in map(json.loads, result.stdout.splitlines())}
    ce = described["BNL_PROD-gridgk02.racf.bnl.gov"]
    assert ce["error"] is None
    for line in ("grid_resource = condor gridgk02.racf.bnl.gov gridgk02.racf.bnl.gov:9619",
                 '+remote_queue = "mcore"', "+xcount = 8", "+maxMemory = 16000", "queue 2"):
        assert line in ce["description"].splitlines()
    arc = described["NDGF_ARC-arc01.ndgf.org"]
    assert arc["error"] is None
    for line in ("grid_resource = arc arc01.ndgf.org", "arc_resources = <QueueName>atlas</QueueName>",
                 "request_cpus = 4", "request_memory = 2000"):
        assert line in arc["description"].splitlines()
    assert "RUCIO_ACCOUNT=pilot" in arc["description"]
