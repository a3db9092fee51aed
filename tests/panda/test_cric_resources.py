"""CRIC queues' capability, size, resource types and Harvester params in their generated sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apfctl_panda.testkit import cric_ce, cric_queue

from apfctl.config.loader import load
from apfctl.config.validate import check
from apfctl.resourcetypes.check import queue_settings
from apfctl.resourcetypes.sizing import PilotSize


def loaded_from(tmp_path: Path, queues: dict, local: str = "[DEFAULT]\n", factory_extra: str = ""):
    doc = tmp_path / "cric.json"
    doc.write_text(json.dumps(queues))
    (tmp_path / "queues.conf").write_text(local)
    factory = tmp_path / "apfctl.conf"
    factory.write_text(f"[Factory]\nfactoryId = test\nqueueConf = queues.conf\nconfig.queues.plugin = CRIC, File\n"
                       f"config.queues.cric.url = {doc}\n{factory_extra}")
    return load(str(factory), tmp_path / "state")


def one(name: str, **fields):
    return {name: cric_queue(name, [cric_ce(f"ce.{name.lower()}.org:9619")], **fields)}


def section_of(loaded, name: str):
    return loaded.queue(f"{name}-ce.{name.lower()}.org")


def test_unified_queue_serves_every_type_that_fits(tmp_path: Path):
    loaded = loaded_from(tmp_path, {**one("BIG", corecount=8, maxrss=32000), **one("SMALL", corecount=1)})
    big = section_of(loaded, "BIG")
    assert (big.get("capability"), big.get("resourcetypes")) == ("ucore", "SCORE, MCORE, SCORE_HIMEM, MCORE_HIMEM")
    resources, _ = queue_settings(big, loaded.factory)
    assert resources.pilots == {"SCORE": PilotSize(1, 2000), "MCORE": PilotSize(8, 16000),
                                "SCORE_HIMEM": PilotSize(1, 4000), "MCORE_HIMEM": PilotSize(8, 32000)}
    assert section_of(loaded, "SMALL").get("resourcetypes") == "SCORE"   # 1 core, 2000 MB: no MCORE, no HIMEM


@pytest.mark.parametrize(("corecount", "maxrss", "expected"), [
    (1, 2000, "SCORE"), (8, 16000, "MCORE"), (1, 4000, "SCORE_HIMEM"), (8, 32000, "MCORE_HIMEM"), (8, None, None),
])
def test_non_unified_queue_gets_the_type_its_size_matches(tmp_path: Path, corecount, maxrss, expected):
    loaded = loaded_from(tmp_path, one("PQ", capability="mcore" if corecount > 1 else "score", corecount=corecount,
                                       maxrss=maxrss, maxmemory=None, memory=None))
    pq = section_of(loaded, "PQ")
    assert pq.get("resourcetype") == expected and pq.get("resourcetypes") is None
    assert pq.get("corecount") == str(corecount)
    resources, _ = queue_settings(pq, loaded.factory)
    assert resources.size.unified is False


def test_factory_type_definitions_are_used_for_cric_queues(tmp_path: Path):
    loaded = loaded_from(tmp_path, one("PQ", corecount=8, maxrss=16000),
                         factory_extra="resourcetype.MCORE.mincore = 16\n")
    assert section_of(loaded, "PQ").get("resourcetypes") == "SCORE"   # MCORE now needs 16 cores


def test_harvester_params_become_limit_keys_sanitised_with_warnings(tmp_path: Path):
    params = {"maxWorkers": 100, "nQueueLimitWorker": 300, "nQueueLimitWorkerRatio": "50",
              "maxNewWorkersPerCycle": -3, "noPilotsWhenNoActiveJobs": True, "activateWorkerFactor": 0.5,
              "nQueueLimitWorkerCores": [1], "unified_dispatch": True, "pilot_args": "--x"}
    loaded = loaded_from(tmp_path, one("PQ", corecount=8, maxrss=16000, params=params))
    pq = section_of(loaded, "PQ")
    assert {key: pq.get(key) for key in ("maxWorkers", "nQueueLimitWorker", "maxNewWorkersPerCycle",
                                         "noPilotsWhenNoActiveJobs", "activateWorkerFactor")} == {
        "maxWorkers": "100", "nQueueLimitWorker": "100", "maxNewWorkersPerCycle": "0",
        "noPilotsWhenNoActiveJobs": "True", "activateWorkerFactor": "0.5"}
    assert "nQueueLimitWorkerRatio" not in pq and "nQueueLimitWorkerCores" not in pq
    assert "CRIC queue PQ params: nQueueLimitWorkerRatio = '50' is not an integer; ignored" in loaded.warnings
    assert "CRIC queue PQ params: nQueueLimitWorkerCores = [1] is not an integer; ignored" in loaded.warnings
    assert not [w for w in loaded.warnings if "pilot_args" in w or "unified_dispatch" in w]
    _, limits = queue_settings(pq, loaded.factory)
    assert (limits.maxWorkers, limits.nQueueLimitWorker, limits.activateWorkerFactor) == (100, 100, 0.5)


def test_local_file_overrides_a_cric_limit(tmp_path: Path):
    loaded = loaded_from(tmp_path, one("PQ", corecount=8, maxrss=16000, params={"maxWorkers": 100}),
                         local="[PQ-ce.pq.org]\nmaxWorkers = 10\n")
    assert section_of(loaded, "PQ").get("maxWorkers") == "10"


def test_params_that_are_not_an_object_are_ignored_with_a_warning(tmp_path: Path):
    loaded = loaded_from(tmp_path, one("PQ", params=["maxWorkers", 3]))
    assert "CRIC queue PQ params is not an object; ignored" in loaded.warnings
    assert "maxWorkers" not in section_of(loaded, "PQ")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("corecount", 5000, "CRIC queue PQ corecount 5000 is not an integer between 0 and 1024"),
    ("corecount", "eight", "CRIC queue PQ corecount 'eight' is not an integer"),
    ("maxrss", -1, "CRIC queue PQ maxrss -1 is not an integer between 0 and"),
    ("capability", "u core;", "CRIC queue PQ capability 'u core;' is not a plain word"),
])
def test_values_outside_sane_ranges_skip_the_queue_naming_queue_and_field(tmp_path: Path, field, value, words):
    loaded = loaded_from(tmp_path, {**one("PQ", **{field: value}), **one("OK")})
    assert sorted(loaded.queues) == ["OK-ce.ok.org"]
    assert any(words in w for w in loaded.warnings), loaded.warnings


def test_generated_sections_pass_the_config_check(tmp_path: Path):
    loaded = loaded_from(tmp_path, {**one("BIG", corecount=8, maxrss=32000, params={"maxWorkers": 50}),
                                    **one("PQ", capability="score")})
    report = check(loaded, list(loaded.queues))
    assert not [e for e in report.errors if e.key in ("resourcetypes", "resourcetype", "corecount", "maxrss",
                                                       "maxWorkers", "capability")]
