"""APFMon against a real local HTTP server: every request's method, path and body; hangs; errors; retries."""

from __future__ import annotations

import json
import re
import threading
import time
from urllib.parse import parse_qs

import pytest
from apfctl_apfmon.calls import merge
from apfctl_apfmon.plugin import APFMon
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apfctl import __version__
from apfctl.config.loader import load
from apfctl.outbox import Call
from apfctl.stages.publish import publish
from tests.monitor.monitor_helpers import MSG, record, write_factory

FACTORY = "test-factory"


class Apfmon:
    """A recording apfmon: answers like apfmon (201/200) unless told to fail or hang."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.requests: list[tuple[str, str, object]] = []
        self.status = 201
        self.hang = threading.Event()        # set: requests block until released
        self.released = threading.Event()
        server.expect_request(re.compile("^/api/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if self.hang.is_set():
            self.released.wait(30)
        body: object
        if request.mimetype == "application/json":
            body = json.loads(request.get_data())
        else:
            body = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        self.requests.append((request.method, request.path, body))
        return Response("ok", status=self.status)


@pytest.fixture
def apfmon(httpserver: HTTPServer):
    server = Apfmon(httpserver)
    yield server
    server.released.set()


@pytest.fixture
def threaded_httpserver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def make_factory(tmp_path, url, **settings):
    settings = {"monitorplugin": "APF", "monitorURL": url, "apfmon.timeout": "1", "apfmon.budget": "2", **settings}
    config = write_factory(tmp_path / "conf", {
        "BNL_1": {"monitorsection": "apfmon-test"}, "CERN_1": {"monitorsection": "apfmon-test"},
        "QUIET": {}}, monitor_conf="[apfmon-test]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    return load(str(config), str(tmp_path / "state"))


def outbox_calls(loaded):
    folder = loaded.context.state_dir / "apfmon" / "apfmon-test"
    if not folder.exists():
        return []
    return [Call.from_dict(item) for path in sorted(folder.iterdir()) for item in json.loads(path.read_text())]


def test_a_cycle_sends_factory_labels_jobs_and_messages_in_apfmons_formats(tmp_path, apfmon, httpserver):
    loaded = make_factory(tmp_path, httpserver.url_for("/api/"), **{"apfmon.batchsize": "2"})
    records = [record("BNL_1", submitted=3, ids=["101.0", "101.1", "101.2"]), record("CERN_1", submitted=0, ids=[]),
               record("QUIET", submitted=1)]
    publish(loaded, records)
    assert apfmon.requests == [
        ("PUT", f"/api/factories/{FACTORY}",
         {"version": f"apfctl-{__version__}", "email": "ops@example.org", "url": "http://logs.example.org/apf"}),
        ("PUT", "/api/labels", [
            {"name": "BNL_1", "factory": FACTORY, "wmsqueue": "BNL_1", "batchqueue": "", "resource": "",
             "localqueue": ""},
            {"name": "CERN_1", "factory": FACTORY, "wmsqueue": "CERN_1", "batchqueue": "", "resource": "",
             "localqueue": ""}]),
        ("PUT", "/api/jobs", [{"cid": "101.0", "label": "BNL_1", "factory": FACTORY},
                              {"cid": "101.1", "label": "BNL_1", "factory": FACTORY}]),
        ("PUT", "/api/jobs", [{"cid": "101.2", "label": "BNL_1", "factory": FACTORY}]),
        ("POST", f"/api/labels/{FACTORY}:BNL_1", {"status": MSG}),
        ("POST", f"/api/labels/{FACTORY}:CERN_1", {"status": MSG}),
    ]                                    # QUIET names no monitorsection: not published
    assert outbox_calls(loaded) == []


def test_the_plugin_made_directly_and_dry_run_records(tmp_path, apfmon, httpserver):
    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    dry = record("BNL_1", submitted=2)
    dry["submission"]["dry_run"] = True
    plugin = APFMon("apfmon-test", loaded.context.monitor_sections["apfmon-test"], loaded.context)
    plugin.publish([dry])
    assert apfmon.requests == []                          # a dry run sends nothing
    plugin.publish([dry, record("CERN_1", submitted=0, ids=[])])
    assert [path for _, path, _ in apfmon.requests] == [
        f"/api/factories/{FACTORY}", "/api/labels", f"/api/labels/{FACTORY}:CERN_1"]


def test_a_hanging_apfmon_costs_at_most_the_budget_and_calls_wait_for_the_next_cycle(
        tmp_path, threaded_httpserver):
    apfmon = Apfmon(threaded_httpserver)
    apfmon.hang.set()
    loaded = make_factory(tmp_path, threaded_httpserver.url_for("/api"),
                          **{"apfmon.timeout": "30", "apfmon.budget": "1"})
    try:
        started = time.monotonic()
        publish(loaded, [record("BNL_1", submitted=2, ids=["7.0", "7.1"])])
        took = time.monotonic() - started
        assert not apfmon.released.is_set() and took < 30      # returned while apfmon still hangs
        queued = outbox_calls(loaded)
        assert [(c.method, c.path) for c in queued] == [
            ("PUT", f"/factories/{FACTORY}"), ("PUT", "/labels"), ("PUT", "/jobs"),
            ("POST", f"/labels/{FACTORY}:BNL_1")]
        assert all(c.queued for c in queued)
    finally:
        apfmon.released.set()
    # apfmon is back: the queued calls go first, merged with the new cycle's
    apfmon.hang.clear()
    apfmon.requests.clear()
    publish(loaded, [record("BNL_1", submitted=1, ids=["8.0"], msg="Ready:new")])
    sent = [(method, path, body) for method, path, body in apfmon.requests if path != f"/api/factories/{FACTORY}"
            or method != "PUT"]
    jobs = [body for method, path, body in sent if path == "/api/jobs"]
    assert jobs == [[{"cid": "7.0", "label": "BNL_1", "factory": FACTORY},
                     {"cid": "7.1", "label": "BNL_1", "factory": FACTORY}],
                    [{"cid": "8.0", "label": "BNL_1", "factory": FACTORY}]]
    statuses = [body for method, path, body in sent if method == "POST"]
    assert statuses == [{"status": "Ready:new"}]       # only the newest message of a label
    assert outbox_calls(loaded) == []


def test_an_apfmon_answering_500_is_retried_next_cycle(tmp_path, apfmon, httpserver):
    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    apfmon.status = 500
    publish(loaded, [record("BNL_1", submitted=1, ids=["9.0"])])
    assert len(apfmon.requests) == 1                      # the first failure stops this cycle's sending
    assert len(outbox_calls(loaded)) == 4
    apfmon.status = 201
    apfmon.requests.clear()
    publish(loaded, [record("CERN_1", submitted=0, ids=[])])
    assert [(method, path) for method, path, _ in apfmon.requests] == [
        ("PUT", f"/api/factories/{FACTORY}"), ("PUT", "/api/labels"), ("PUT", "/api/jobs"),
        ("POST", f"/api/labels/{FACTORY}:BNL_1"), ("PUT", "/api/labels"), ("POST", f"/api/labels/{FACTORY}:CERN_1")]
    assert apfmon.requests[2][2] == [{"cid": "9.0", "label": "BNL_1", "factory": FACTORY}]
    assert outbox_calls(loaded) == []


def test_a_call_refused_for_good_is_dropped_not_retried(tmp_path, apfmon, httpserver, caplog):
    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    apfmon.status = 400
    publish(loaded, [record("BNL_1", submitted=1, ids=["9.0"])])
    assert len(apfmon.requests) == 4 and outbox_calls(loaded) == []
    assert "not retried" in caplog.text


def test_a_dead_apfmon_never_raises(tmp_path, caplog):
    import socket

    with socket.socket() as sock:            # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loaded = make_factory(tmp_path, f"http://127.0.0.1:{port}/api")
    publish(loaded, [record("BNL_1")])
    assert len(outbox_calls(loaded)) == 4
    assert "retried next cycle" in caplog.text


def test_old_queued_calls_expire(tmp_path, apfmon, httpserver):
    loaded = make_factory(tmp_path, httpserver.url_for("/api"), **{"apfmon.keep": "1"})
    folder = loaded.context.state_dir / "apfmon" / "apfmon-test"
    folder.mkdir(parents=True)
    old = Call("PUT", "/jobs", json=[{"cid": "1.0", "label": "BNL_1", "factory": FACTORY}], queued=time.time() - 7200)
    (folder / "00000000000000000001-1.json").write_text(json.dumps([old.to_dict()]))
    publish(loaded, [record("CERN_1", submitted=0, ids=[])])
    assert "/api/jobs" not in [path for _, path, _ in apfmon.requests]
    assert outbox_calls(loaded) == []


def test_a_section_without_monitor_url_is_reported_not_raised(tmp_path, caplog):
    config = write_factory(tmp_path / "conf", {"BNL_1": {"monitorsection": "broken"}},
                           monitor_conf="[broken]\nmonitorplugin = APFMon\n")
    publish(load(str(config), str(tmp_path / "state")), [record("BNL_1")])
    assert "monitorURL is required" in caplog.text


def test_merge_keeps_the_first_place_and_the_newest_body():
    old = [Call("PUT", "/factories/f", json={"v": 1}, key="factory", queued=5.0),
           Call("PUT", "/jobs", json=[1]), Call("POST", "/labels/f:A", form={"status": "old"}, key="status:A")]
    new = [Call("PUT", "/factories/f", json={"v": 2}, key="factory"), Call("PUT", "/jobs", json=[2]),
           Call("POST", "/labels/f:A", form={"status": "new"}, key="status:A")]
    merged = merge(old, new)
    assert [(c.path, c.json or c.form) for c in merged] == [
        ("/factories/f", {"v": 2}), ("/jobs", [1]), ("/labels/f:A", {"status": "new"}), ("/jobs", [2])]
    assert merged[0].queued == 5.0


def test_the_outbox_gives_each_queued_file_to_one_publisher_and_takes_over_dead_claims(tmp_path):
    import os

    from apfctl.outbox import STALE_CLAIM, Outbox

    first, second = Outbox(tmp_path / "box"), Outbox(tmp_path / "box")
    first.put([Call("PUT", "/jobs", json=[1], queued=1.0)])
    assert [c.json for c in second.claim()] == [[1]]
    assert first.claim() == []                          # claimed by the other publisher
    (claimed,) = list((tmp_path / "box").iterdir())
    old = time.time() - STALE_CLAIM - 60
    os.utime(claimed, (old, old))                       # its publisher died long ago
    assert [c.json for c in first.claim()] == [[1]]
    first.put([])                                       # all sent: the claim goes away
    assert list((tmp_path / "box").iterdir()) == []


def test_factory_and_labels_are_sent_when_new_or_changed_not_every_cycle(tmp_path, apfmon, httpserver):
    """apfmon mails its managers on every label PUT and resets the factory's start on every factory PUT."""
    from apfctl.ledger import Ledger

    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    Ledger(loaded.context.state_dir).close()                     # the cycle's ledger, where registrations go

    def cycle(*records):
        apfmon.requests.clear()
        publish(loaded, list(records))
        return [(method, path) for method, path, _ in apfmon.requests]

    first = cycle(record("BNL_1", submitted=1, ids=["1.0"]), record("CERN_1", submitted=0, ids=[]))
    assert first[:2] == [("PUT", f"/api/factories/{FACTORY}"), ("PUT", "/api/labels")]
    again = cycle(record("BNL_1", submitted=1, ids=["2.0"]), record("CERN_1", submitted=0, ids=[]))
    assert again == [("PUT", "/api/jobs"), ("POST", f"/api/labels/{FACTORY}:BNL_1"),
                     ("POST", f"/api/labels/{FACTORY}:CERN_1")]   # pilots and messages only
    moved = record("CERN_1", submitted=0, ids=[])
    moved["wms"]["queue"] = "CERN_NEW_PANDA_QUEUE"
    assert cycle(record("BNL_1", submitted=0, ids=[]), moved)[0] == ("PUT", "/api/labels")
    assert apfmon.requests[0][2] == [{"name": "CERN_1", "factory": FACTORY, "wmsqueue": "CERN_NEW_PANDA_QUEUE",
                                      "batchqueue": "", "resource": "", "localqueue": ""}]   # the changed one only
    with Ledger(loaded.context.state_dir, create=False) as ledger:
        kept = ledger.actions(kind="apfmon.registered")
    assert [action["detail"]["key"] for action in kept] == ["factory", "label:BNL_1", "label:CERN_1", "label:CERN_1"]

    # a new process (the next cron cycle) reads the same ledger: still nothing to register
    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    assert ("PUT", "/api/labels") not in cycle(record("BNL_1", submitted=0, ids=[]), moved)


def test_labels_apfmon_refused_or_never_got_are_sent_again(tmp_path, apfmon, httpserver):
    from apfctl.ledger import Ledger

    loaded = make_factory(tmp_path, httpserver.url_for("/api"))
    Ledger(loaded.context.state_dir).close()
    apfmon.status = 400
    publish(loaded, [record("BNL_1", submitted=0, ids=[])])
    apfmon.status = 201
    apfmon.requests.clear()
    publish(loaded, [record("BNL_1", submitted=0, ids=[])])
    assert [path for _, path, _ in apfmon.requests][:2] == [f"/api/factories/{FACTORY}", "/api/labels"]
