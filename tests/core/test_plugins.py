"""The entry-point registry: the same view as importlib.metadata, case-insensitive names."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from apfctl import plugins
from apfctl.errors import PluginError


@pytest.mark.parametrize("group", sorted(plugins.GROUPS.values()))
def test_registry_agrees_with_importlib_metadata(group: str) -> None:
    mine = sorted((ep.name, ep.value) for ep in plugins._index(group).values())
    assert mine == sorted((ep.name, ep.value) for ep in entry_points(group=group))


def test_names_match_case_insensitively() -> None:
    assert plugins.find("sched", "maxpercycle") is plugins.find("sched", "MaxPerCycle")
    assert plugins.canonical("sched", "maxpercycle") == "MaxPerCycle"


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(PluginError, match="did you mean MaxPending"):
        plugins.find("sched", "MaxPendng")


def test_own_plugins_are_found_through_entry_points() -> None:
    assert {"Local"} <= set(plugins.names("batchsubmit"))
    assert {"File"} <= set(plugins.names("wmsstatus")) and {"File"} <= set(plugins.names("config"))
    assert {"Ready", "Fixed", "MaxPerCycle", "MinPerCycle", "MaxPending"} <= set(plugins.names("sched"))
