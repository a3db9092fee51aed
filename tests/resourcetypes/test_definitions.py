"""Resource type definitions, a queue's types and size, and the pilot size per type."""

from __future__ import annotations

import pytest

from apfctl.errors import ConfigError
from apfctl.resourcetypes.check import factory_types, queue_settings
from apfctl.resourcetypes.definitions import ATLAS_DEFAULTS, ResourceType, from_factory
from apfctl.resourcetypes.queueconf import queue_resources
from apfctl.resourcetypes.sizing import PilotSize, QueueSize, pilot_size

TYPES = ATLAS_DEFAULTS


def test_atlas_defaults_are_shipped(section):
    types = from_factory(section("Factory", {}))
    assert set(types) == {"SCORE", "MCORE", "SCORE_HIMEM", "MCORE_HIMEM"}
    assert types["SCORE"].single_core and not types["MCORE"].single_core
    assert (types["MCORE_HIMEM"].mincore, types["MCORE_HIMEM"].maxcore) == (2, None)
    assert types["SCORE_HIMEM"].minrampercore == 2001


def test_factory_overrides_a_field_and_defines_a_new_type(section):
    types = from_factory(section("Factory", {"resourcetype.MCORE.maxcore": "8",
                                             "resourcetype.SCORE.maxrampercore": "None",
                                             "resourcetype.GPU_4.mincore": "4", "resourcetype.GPU_4.maxcore": "4"}))
    assert types["MCORE"] == ResourceType("MCORE", mincore=2, maxcore=8, minrampercore=0, maxrampercore=2000)
    assert types["SCORE"].maxrampercore is None
    assert types["GPU_4"] == ResourceType("GPU_4", mincore=4, maxcore=4)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("resourcetype.MCORE.maxcores", "8", "unknown resource type field 'maxcores'"),
    ("resourcetype.mcore.maxcore", "8", "upper-case"),
    ("resourcetype.MCORE", "8", "resourcetype.<NAME>.<field>"),
    ("resourcetype.MCORE.maxcore", "eight", "not an integer"),
    ("resourcetype.MCORE.maxcore", "-1", "between 0 and 1024"),
    ("resourcetype.SCORE.mincore", "4", "mincore (4) is above maxcore (1)"),
    ("resourcetype.MCORE.maxcore", "0", "mincore (2) is above maxcore (0)"),
    ("resourcetype.NEW.maxcore", "0", "maxcore 0 leaves no pilot size"),
])
def test_bad_definitions_name_key_and_value(key, value, words, section):
    with pytest.raises(ConfigError) as caught:
        from_factory(section("Factory", {key: value}))
    text = str(caught.value)
    assert words in text
    assert "queues.conf:2 [Factory]" in text and key in text


# --- pilot size: worked examples, each checked by hand against resource_type_mapper.py -------------
UCORE_8 = QueueSize(corecount=8, maxrss=16000, unified=True)


@pytest.mark.parametrize(("rt", "size", "expected"), [
    ("SCORE", UCORE_8, PilotSize(1, 2000)),                 # min(1, 8) cores; min(2000*1, 16000/8*1)
    ("MCORE", UCORE_8, PilotSize(8, 16000)),                # no maxcore: 8; min(2000*8, 2000*8)
    ("MCORE", QueueSize(8, 20000, True), PilotSize(8, 16000)),   # maxrampercore bounds: min(16000, 20000)
    ("SCORE_HIMEM", QueueSize(8, 32000, True), PilotSize(1, 4000)),   # no maxrampercore: 32000/8*1
    ("MCORE_HIMEM", QueueSize(8, 32000, True), PilotSize(8, 32000)),
    ("SCORE", QueueSize(3, 5000, True), PilotSize(1, 1667)),          # ceil(min(2000, 1666.67))
    ("MCORE", QueueSize(8, 16000, False), PilotSize(8, 16000)),       # not unified: the queue's own
    ("SCORE", QueueSize(4, None, True), PilotSize(1, 2000)),          # no maxrss: maxrampercore alone
])
def test_pilot_size_worked_examples(rt, size, expected):
    assert pilot_size(TYPES[rt], size) == expected


def test_untyped_pilot_is_the_queues_size():
    assert pilot_size(None, UCORE_8) == PilotSize(8, 16000)


# --- a queue's types and size -----------------------------------------------------------------
def test_unified_queue_sizes_each_type(queue):
    res = queue_resources(queue("BNL", resourcetypes="SCORE, MCORE", corecount="8", maxrss="16000"), TYPES)
    assert res.types == ("SCORE", "MCORE") and res.size.unified
    assert res.pilots == {"SCORE": PilotSize(1, 2000), "MCORE": PilotSize(8, 16000)}


def test_apf_style_section_with_one_type_uses_its_own_size(queue):
    res = queue_resources(queue("BNL-MCORE", resourcetype="MCORE", corecount="8", maxrss="16000",
                                wmsqueue="BNL"), TYPES)
    assert res.types == ("MCORE",) and not res.size.unified
    assert res.pilots == {"MCORE": PilotSize(8, 16000)}


def test_queue_without_types_is_untyped(queue):
    res = queue_resources(queue("PLAIN"), TYPES)
    assert not res.typed and res.size == QueueSize(1, None, False)


@pytest.mark.parametrize(("values", "key", "words"), [
    ({"resourcetypes": "SCORE, XCORE"}, "resourcetypes", "unknown resource type 'XCORE'"),
    ({"resourcetype": "MCORE8"}, "resourcetype", "unknown resource type 'MCORE8'"),
    ({"resourcetypes": "SCORE, SCORE"}, "resourcetypes", "listed twice"),
    ({"resourcetypes": "SCORE", "resourcetype": "SCORE"}, "resourcetype", "not both"),
    ({"resourcetypes": "SCORE", "corecount": "0"}, "corecount", "positive integer"),
    ({"resourcetypes": "SCORE", "corecount": "-8"}, "corecount", "positive integer"),
    ({"resourcetypes": "SCORE", "corecount": "8.5"}, "corecount", "not an integer"),
    ({"resourcetypes": "SCORE", "maxrss": "lots"}, "maxrss", "not an integer"),
    ({"resourcetypes": "SCORE", "maxrss": "0"}, "maxrss", "positive integer"),
    ({"resourcetypes": "SCORE, MCORE", "corecount": "1"}, "resourcetypes", "MCORE needs at least 2 cores"),
    ({"resourcetypes": "SCORE_HIMEM", "corecount": "8", "maxrss": "16000"}, "resourcetypes",
     "needs at least 2001 MB per core"),
    ({"resourcetypes": "SCORE_HIMEM"}, "resourcetypes", "no maxrss"),
    ({"resourcetype": "MCORE", "capability": "ucore"}, "capability", "resourcetypes"),
])
def test_bad_queue_settings_name_queue_key_and_value(values, key, words, queue):
    with pytest.raises(ConfigError) as caught:
        queue_resources(queue("BNL_UCORE", **values), TYPES)
    error = caught.value
    assert words in str(error)
    assert (error.section, error.key, error.file) == ("BNL_UCORE", key, "queues.conf")
    assert error.value == values[key]


def test_type_defined_only_in_the_factory_is_accepted_and_sized(section, queue):
    factory = section("Factory", {"resourcetype.MCORE4.mincore": "4", "resourcetype.MCORE4.maxcore": "4",
                                  "resourcetype.MCORE4.maxrampercore": "3000"})
    res, _ = queue_settings(queue("Q", resourcetypes="MCORE4", corecount="8", maxrss="32000"), factory)
    assert res.pilots == {"MCORE4": PilotSize(4, 12000)}   # min(3000*4, 4000*4)
    assert factory_types(factory) is factory_types(factory)   # read once per factory section
