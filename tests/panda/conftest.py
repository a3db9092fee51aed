from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _state_and_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test gets its own state folder and no factory config from the machine."""
    monkeypatch.setenv("APFCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("APFCTL_CONFIG", str(tmp_path / "missing-apfctl.conf"))
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
