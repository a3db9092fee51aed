
import pytest
from apfctl_condor.schedd import use_schedd_factory
from apfctl_condor.testing import FakePool


@pytest.fixture
def pool():
    """A fake HTCondor pool swapped in through the plugins' seam."""
    fake = FakePool()
    with use_schedd_factory(fake):
        yield fake


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("APFCTL_STATE_DIR", str(folder))
    return folder
