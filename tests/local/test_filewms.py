"""The File WMS status plugin: a JSON document from a file or a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from apfctl_local.filewms import FileWMSStatus
from pytest_httpserver import HTTPServer
from werkzeug import Response

from apfctl import plugins
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import FactoryContext

DOCUMENT = {
    "SITE_A": {"ready": 12, "notready": 2, "running": 3, "done": 40, "failed": 1, "status": "online"},
    "SITE_B": {"ready": 4, "status": "test"},
    "SITE_BAD": {"ready": -1},
    "SITE_LIST": [1, 2],
}


def ask(factory: FactoryContext, queues: Sequence[QueueConfig]) -> dict[str, object]:
    """What the status stage does: one instance per endpoint, one query for its queues."""
    endpoints = {FileWMSStatus.endpoint(queue, factory) for queue in queues}
    assert len(endpoints) == 1
    return dict(FileWMSStatus(endpoints.pop(), factory).query(queues))


@pytest.fixture
def wms_file(conf_file: Path) -> Path:
    path = conf_file.parent / "wms.json"
    path.write_text(json.dumps(DOCUMENT))
    return path


def test_the_entry_point_names_this_class() -> None:
    assert plugins.find("wmsstatus", "file") is FileWMSStatus


def test_counts_per_wmsqueue_from_a_file_relative_to_the_config_file(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], wms_file: Path,
) -> None:
    queues = [make_queue("A", wmsqueue="SITE_A", wmsstatus__file__path="wms.json"),
              make_queue("SITE_B", wmsstatus__file__path="wms.json")]

    assert FileWMSStatus.endpoint(queues[0], factory) == str(wms_file)
    result = ask(factory, queues)

    assert result["A"] == {"queue": "SITE_A", "ready": 12, "notready": 2, "running": 3, "done": 40, "failed": 1,
                           "status": "online"}
    assert result["SITE_B"] == {"queue": "SITE_B", "ready": 4, "notready": 0, "running": 0, "done": 0, "failed": 0,
                                "status": "test"}


def test_one_http_fetch_answers_every_queue(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/wms.json", headers={"Accept": "application/json"}).respond_with_json(DOCUMENT)
    url = httpserver.url_for("/wms.json")
    queues = [make_queue(name, wmsstatus__file__path=url) for name in ("SITE_A", "SITE_B", "SITE_MISSING")]

    result = ask(factory, queues)

    assert len(httpserver.log) == 1
    assert result["SITE_A"]["ready"] == 12  # type: ignore[index]
    assert result["SITE_B"]["status"] == "test"  # type: ignore[index]
    assert isinstance(result["SITE_MISSING"], BackendError)
    assert str(result["SITE_MISSING"]) == f"File WMS: {url} has no entry for WMS queue 'SITE_MISSING'"


def test_an_http_error_fails_every_queue_of_the_url(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/wms.json").respond_with_data("down", status=503)
    url = httpserver.url_for("/wms.json")
    with pytest.raises(BackendError, match=r"File WMS: .*/wms.json: HTTP 503"):
        ask(factory, [make_queue("SITE_A", wmsstatus__file__path=url)])


def test_a_silent_server_times_out(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], httpserver: HTTPServer,
) -> None:
    answered = threading.Event()

    def slow(request: object) -> object:
        answered.wait(5)
        return Response("{}")

    httpserver.expect_request("/wms.json").respond_with_handler(slow)
    url = httpserver.url_for("/wms.json")
    try:
        with pytest.raises(BackendError, match=r"/wms.json: no answer within 0.2 s$"):
            ask(factory, [make_queue("SITE_A", wmsstatus__file__path=url, wmsstatus__file__timeout="0.2")])
    finally:
        answered.set()


def test_a_missing_file_is_named(factory: FactoryContext, make_queue: Callable[..., QueueConfig],
                                 conf_file: Path) -> None:
    with pytest.raises(BackendError) as caught:
        ask(factory, [make_queue("SITE_A", wmsstatus__file__path="absent.json")])
    assert str(caught.value) == f"File WMS: {conf_file.parent / 'absent.json'}: no such file"


@pytest.mark.parametrize(("text", "problem"), [
    ('{"SITE_A": {"ready": 1,}}', "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    ("[1, 2]", "expected a JSON object keyed by WMS queue name, found list"),
    ("", "not valid JSON: Expecting value at line 1 column 1"),
])
def test_a_malformed_document_is_named_with_what_is_wrong(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], wms_file: Path, text: str, problem: str,
) -> None:
    wms_file.write_text(text)
    with pytest.raises(BackendError) as caught:
        ask(factory, [make_queue("SITE_A", wmsstatus__file__path=str(wms_file))])
    assert str(caught.value).startswith(f"File WMS: {wms_file}: {problem}")


def test_a_bad_entry_fails_only_its_queue(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], wms_file: Path,
) -> None:
    queues = [make_queue(name, wmsstatus__file__path=str(wms_file)) for name in ("SITE_A", "SITE_BAD", "SITE_LIST")]
    result = ask(factory, queues)
    assert result["SITE_A"]["ready"] == 12  # type: ignore[index]
    assert str(result["SITE_BAD"]) == (f"File WMS: {wms_file}: SITE_BAD.ready = -1 is not a count "
                                       "(a whole number from 0 to 1000000000)")
    assert str(result["SITE_LIST"]) == f"File WMS: {wms_file}: 'SITE_LIST' must be an object of counts, found list"


def test_the_path_is_required(factory: FactoryContext, make_queue: Callable[..., QueueConfig]) -> None:
    with pytest.raises(ConfigError, match=r"wmsstatus\.file\.path: required key is missing"):
        FileWMSStatus.endpoint(make_queue("SITE_A"), factory)


def test_the_demo_document_has_the_demo_queues(factory: FactoryContext, make_queue: Callable[..., QueueConfig]) -> None:
    demo = Path(__file__).resolve().parents[2] / "apfctl" / "demo" / "wms.json"
    names = ("DEMO_SITE_A", "DEMO_SITE_B", "DEMO_SITE_C")
    queues = [make_queue(name, wmsstatus__file__path=str(demo)) for name in names]
    result = ask(factory, queues)
    assert all(isinstance(counts, dict) and counts["ready"] > 0 for counts in result.values()), result
    assert result["DEMO_SITE_B"]["status"] == "test"  # type: ignore[index]
