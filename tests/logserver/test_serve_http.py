"""``apfctl serve`` / ``logserver`` as real processes: Range, HEAD, 200 clients at once, clients that go away."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CLIENTS = 200


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path, subprocess.Popen[str]]]:
    """``apfctl serve`` on an OS-assigned port, with a small and a large log file."""
    root = tmp_path / "logs"
    queue = root / "2026-11-25" / "Q1"
    queue.mkdir(parents=True)
    (queue / "small.out").write_text("0123456789")
    (queue / "big.log").write_bytes(bytes(range(256)) * 4096)        # 1 MiB
    (tmp_path / "queues.conf").write_text("[Q1]\nenabled = True\nbatchstatusplugin = Local\nbatchsubmitplugin = Local\n"
                                          "wmsstatusplugin = None\nschedplugin = Ready\n")
    config = tmp_path / "apfctl.conf"
    config.write_text(textwrap.dedent(f"""
        [Factory]
        factoryId = serve-test
        baseLogDir = {root}
        baseLogDirUrl = http://localhost:0/
        queueConf = queues.conf
        """))
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(tmp_path / "state"))
    process = subprocess.Popen([sys.executable, "-m", "apfctl", "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "on http://127.0.0.1:" in line, line                     # 127.0.0.1 unless --host says otherwise
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    try:
        yield port, root, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=30)


def request(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            ) -> tuple[int, bytes, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.headers
    finally:
        connection.close()


def test_range_and_head(served):
    port, _, _ = served
    status, body, headers = request(port, "/2026-11-25/Q1/big.log", headers={"Range": "bytes=256-511"})
    assert status == 206 and body == bytes(range(256))
    assert headers["Content-Range"] == f"bytes 256-511/{256 * 4096}"
    assert request(port, "/2026-11-25/Q1/big.log", headers={"Range": "bytes=-3"})[1] == bytes([253, 254, 255])
    status, body, headers = request(port, "/2026-11-25/Q1/small.out", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == "10"
    assert headers["Accept-Ranges"] == "bytes"
    assert request(port, "/2026-11-25/Q1/small.out", headers={"Range": "bytes=50-60"})[0] == 416


def test_two_hundred_clients_at_once_without_a_time_out(served):
    port, _, _ = served

    def fetch(index: int) -> tuple[int, bytes]:
        path = "/2026-11-25/Q1/small.out" if index % 2 else "/-/api/view"
        status, body, _ = request(port, path)
        return status, body

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(fetch, range(CLIENTS)))       # each request bounded by its 30 s time-out
    assert [status for status, _ in answers] == [200] * CLIENTS
    assert {body for status, body in answers[1::2]} == {b"0123456789"}
    assert all(b'"queues"' in body for _, body in answers[::2])


def test_a_client_that_goes_away_is_not_a_traceback(served):
    port, _, process = served
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /2026-11-25/Q1/big.log HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(1024)                                   # the answer started; hang up in the middle
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert request(port, "/2026-11-25/Q1/small.out")[0] == 200   # still serving
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


def test_metrics_answer_the_format_the_scraper_asks_for(served):
    port, _, _ = served
    status, body, headers = request(port, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# EOF" not in body
    status, body, headers = request(port, "/metrics", headers={
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"})
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_a_port_in_use_is_one_clear_line(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "queues.conf").write_text("")
    config = tmp_path / "apfctl.conf"
    config.write_text(f"[Factory]\nbaseLogDir = {tmp_path / 'logs'}\nqueueConf = queues.conf\n")
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(tmp_path / "state"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        for command in ("serve", "logserver"):
            result = subprocess.run([sys.executable, "-m", "apfctl", command, "--port", str(busy.getsockname()[1])],
                                    env=env, capture_output=True, text=True, timeout=60)
            assert result.returncode == 2
            port = busy.getsockname()[1]
            assert result.stderr == f"apfctl: error: cannot listen on 127.0.0.1:{port}: the port is in use\n"


def test_the_server_libraries_are_not_imported_by_other_commands():
    code = ("import sys; from apfctl.cli import main; sys.argv=['apfctl','--help']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_page_its_assets_and_its_api_and_the_logs_beside_them(served):
    port, _, _ = served
    status, body, headers = request(port, "/")
    assert status == 200 and b"<table id=\"queues\">" in body and headers["Content-Type"].startswith("text/html")
    status, body, _ = request(port, "/?logs")
    assert status == 200 and b"Index of /" in body and b"2026-11-25/" in body
    status, body, headers = request(port, "/-/static/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"/-/api/view" in body
    assert request(port, "/-/static/nothing.js")[0] == 404
    assert request(port, "/-/static/..%2fapp.py")[0] == 403           # not an asset: a log path, refused
    status, body, _ = request(port, "/-/api/queue/Q1?hours=6")
    assert status == 200 and b'"cycles":[]' in body and b'"queue":"Q1"' in body
    assert request(port, "/-/api/queue/NOPE")[0] == 404
    for hours in ("abc", "0", "-1", "100000", "nan"):
        status, body, _ = request(port, f"/-/api/queue/Q1?hours={hours}")
        assert status == 400 and b"hours must be" in body, hours
    assert request(port, "/-/api/view", method="POST")[0] == 405
