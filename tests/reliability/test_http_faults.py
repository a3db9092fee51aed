"""Remote services on 127.0.0.1 that are down, slow, trickling, wrong-shaped, enormous or lying.

Each gives that queue (or that config source) a failure naming what was wrong, never a
traceback, never a hang past apfctl's own deadline, and never a cached CRIC copy replaced.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apfctl_panda import testkit
from apfctl_panda.cric_source import CricSource
from apfctl_panda.http import HttpOptions, JsonClient

from apfctl.errors import BackendError
from tests.reliability.reliability_helpers import Factory, no_traceback


class RawServer:
    """A TCP server on a free port of 127.0.0.1 that runs ``behaviour(connection)`` per client."""

    def __init__(self, behaviour) -> None:  # type: ignore[no-untyped-def]
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/doc.json"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        try:
            connection.recv(65536)
            self.behaviour(connection, self.stop)
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def raw_server() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.close()


def _trickle(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
    while not stop.wait(0.05):
        connection.sendall(b" ")   # a byte every 50 ms: no socket read ever times out


def _silent(connection: socket.socket, stop: threading.Event) -> None:
    stop.wait(30)


def _enormous(connection: socket.socket, stop: threading.Event) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
    chunk = b"0," * 32768
    while not stop.is_set():
        connection.sendall(chunk)


def test_a_trickling_server_is_cut_off_at_the_fetch_deadline(raw_server: list[RawServer]) -> None:
    server = RawServer(_trickle)
    raw_server.append(server)
    client = JsonClient(HttpOptions(timeout=0.5, retries=0, backoff=0.0))
    with pytest.raises(BackendError, match=r"no whole answer from .*/doc.json within 0.5 s"):
        client.get_json(server.url)


def test_a_silent_server_times_out(raw_server: list[RawServer]) -> None:
    server = RawServer(_silent)
    raw_server.append(server)
    with pytest.raises(BackendError, match=r"within 0.3 s"):
        JsonClient(HttpOptions(timeout=0.3, retries=0, backoff=0.0)).get_json(server.url)


def test_an_enormous_body_stops_at_the_size_limit(raw_server: list[RawServer], monkeypatch: pytest.MonkeyPatch) -> None:
    import apfctl_panda.http as http

    monkeypatch.setattr(http, "MAX_DOCUMENT_BYTES", 1_000_000)
    server = RawServer(_enormous)
    raw_server.append(server)
    with pytest.raises(BackendError, match=r"is larger than the limit of 1000000 bytes"):
        JsonClient(HttpOptions(timeout=5, retries=0)).get_json(server.url)


def test_a_server_that_is_down_is_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with pytest.raises(BackendError, match=r"cannot connect to 127.0.0.1:\d+"):
        JsonClient(HttpOptions(timeout=1, retries=0)).get_json(f"http://127.0.0.1:{port}/x")


def _panda_factory(tmp_path: Path, url: str) -> Factory:
    return Factory(tmp_path, {"RQ_A": {"wmsstatusplugin": "Panda", "wmsstatus.panda.baseurl": url,
                                       "wmsstatus.panda.retries": "0", "wmsstatus.panda.timeout": "2",
                                       "wmsqueue": "BNL_PROD"}})


@pytest.mark.parametrize(("lie", "said"), [
    (2**70, "not a count"), (-4, "not a count"), (1.5, "not a count"), ("12", "not a count"),
])
def test_a_panda_server_that_lies_about_counts_fails_the_queue(tmp_path: Path, httpserver, lie: object,
                                                               said: str) -> None:
    from apfctl_panda import api

    statuses = {"activated": lie, "running": 1}
    httpserver.expect_request(api.JOB_STATS).respond_with_json(testkit.envelope({"BNL_PROD": statuses}))
    httpserver.expect_request(api.DETAILED_JOB_STATS).respond_with_json(
        testkit.envelope({"BNL_PROD": {"SCORE": {"managed": statuses}}}))
    httpserver.expect_request(api.SITE_SPECS).respond_with_json(
        testkit.envelope(testkit.site_specs({"BNL_PROD": "online"})))
    factory = _panda_factory(tmp_path, httpserver.url_for("").rstrip("/"))
    result = factory.run("cycle", "--all")
    no_traceback(result)
    record = json.loads(result.stdout)
    assert result.returncode == 1 and record["wms"]["ok"] is False
    assert "activated" in record["wms"]["error"] and said in record["wms"]["error"]
    assert "queue RQ_A: status: wms status failed" in result.stderr
    assert not factory.pilots()


@pytest.mark.parametrize("body", [[1, 2], {"success": True, "data": [1]}, {"success": True, "data": {"BNL_PROD": 7}},
                                  "not json"])
def test_a_panda_answer_of_the_wrong_shape_fails_the_queue(tmp_path: Path, httpserver, body: object) -> None:
    from apfctl_panda import api

    for path in (api.JOB_STATS, api.DETAILED_JOB_STATS, api.SITE_SPECS):
        if body == "not json":
            httpserver.expect_request(path).respond_with_data("<html>maintenance</html>", content_type="text/html")
        else:
            httpserver.expect_request(path).respond_with_json(body)
    factory = _panda_factory(tmp_path, httpserver.url_for("").rstrip("/"))
    result = factory.run("cycle", "--all")
    no_traceback(result)
    assert result.returncode == 1 and json.loads(result.stdout)["wms"]["ok"] is False
    assert not factory.pilots()


@pytest.mark.parametrize("wrong", [{"detail": "Authentication credentials were not provided."},
                                   {"BNL": {"unrelated": 1}}, [{"name": "BNL"}]])
def test_a_cric_answer_of_the_wrong_shape_never_replaces_the_good_cache(tmp_path: Path, httpserver,
                                                                        wrong: object) -> None:
    good = {"BNL": testkit.cric_queue("BNL", [testkit.cric_ce("ce.example.org:9619")])}
    httpserver.expect_ordered_request("/cric").respond_with_json(good)
    httpserver.expect_ordered_request("/cric").respond_with_json(wrong)
    source = CricSource(httpserver.url_for("/cric"), tmp_path / "state", 0, HttpOptions(retries=0))
    warnings: list[str] = []
    first = source.load(warnings, now=time.time() - 10)
    assert first is not None and not first.from_cache
    cached = source.cache_path.read_bytes()
    second = source.load(warnings)
    assert second is not None and second.from_cache and second.content == good
    assert "not CRIC's object of PanDA queues" in warnings[-1]
    assert source.cache_path.read_bytes() == cached
