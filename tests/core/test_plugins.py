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


def test_every_installed_plugin_is_of_its_groups_interface() -> None:
    from apfctl import interfaces

    expected = {"wmsstatus": interfaces.WMSStatusPlugin, "batchstatus": interfaces.BatchStatusPlugin,
                "sched": interfaces.SchedRule, "batchsubmit": interfaces.BatchSubmitPlugin,
                "config": interfaces.QueuesConfigPlugin, "monitor": interfaces.MonitorPlugin}
    for kind, interface in expected.items():
        for name in plugins.names(kind):
            found = plugins.find(kind, name, allow_refused=True)
            assert issubclass(found, interface) or found.REFUSED, (kind, name)


def test_a_registration_of_something_else_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    index = dict(plugins._index("apfctl.sched"))
    index["notarule"] = plugins.EntryPoint("NotARule", "apfctl.errors:PluginError")
    monkeypatch.setattr(plugins, "_index", lambda group: index if group == "apfctl.sched" else {})
    with pytest.raises(PluginError, match=r"sched plugin 'NotARule' \(apfctl.errors:PluginError\) is not a "
                                          r"apfctl.interfaces.SchedRule"):
        plugins.find("sched", "NotARule")
