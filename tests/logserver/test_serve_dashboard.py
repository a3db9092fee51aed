"""The data behind ``apfctl serve``'s page: a queue page reads its own queue, never the factory's whole view."""

from __future__ import annotations

import datetime as dt

import pytest

from apfctl.cli.serve import dashboard
from apfctl.config.loader import load
from apfctl.ledger import Ledger
from tests.monitor.monitor_helpers import record, write_factory


@pytest.fixture
def loaded(tmp_path):
    config = write_factory(tmp_path / "conf", {"Q1": {}, "FRESH": {}})
    state = tmp_path / "state"
    now = dt.datetime.now(dt.UTC)
    with Ledger(state) as ledger:
        ledger.store([record("Q1", 5, now=now), record("GONE", 60 * 30, now=now)])   # GONE: no longer configured
    return load(str(config), str(state))


def test_a_queue_page_does_not_build_the_factory_view(loaded, monkeypatch):
    from apfctl.dashboard import source

    def whole_view(*args, **kwargs):
        raise AssertionError("a queue page built the whole factory's view")

    monkeypatch.setattr(source, "snapshot", whole_view)
    pages = dashboard(loaded)
    assert len(pages.queue_page("Q1", 1.0)["cycles"]) == 1
    assert pages.queue_page("FRESH", 1.0)["cycles"] == []            # configured, no cycle yet
    assert pages.queue_page("GONE", 1.0)["queue"] == "GONE"          # only in the ledger
    assert pages.queue_page("NOPE", 1.0) is None                     # neither: the page answers 404


def test_a_queue_known_only_from_older_records_still_has_a_page(loaded):
    from apfctl.dashboard.source import queue_page

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)          # every record is out of the window
    state = loaded.context.state_dir
    assert queue_page(state, "GONE", 1.0, later)["cycles"] == []
    assert queue_page(state, "FRESH", 1.0, later, configured=loaded.queues)["cycles"] == []
    assert queue_page(state, "NOPE", 1.0, later, configured=loaded.queues) is None
