"""Settings every test shares: no real config or state of the machine leaks in."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
    monkeypatch.delenv("APFCTL_CONFIG", raising=False)
    monkeypatch.delenv("APFCTL_STATE_DIR", raising=False)
    monkeypatch.delenv("APFCTL_DEBUG", raising=False)
