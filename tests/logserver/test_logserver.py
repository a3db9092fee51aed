"""The pilot log server (Starlette under a real uvicorn) under real HTTP requests, traversal attempts included."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from apfctl.serve.app import build_app
from apfctl.serve.logs import ServeRules, port_of
from tests.support import serving


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """baseLogDir with a day folder, secrets outside it, and tempting links and files inside."""
    root = tmp_path / "logs"
    queue = root / "2026-11-25" / "BNL_ATLAS_1"
    queue.mkdir(parents=True)
    (queue / "1234.5.out").write_text("pilot output\n")
    (queue / "1234.5.err").write_text("")
    (queue / "1234.5.log").write_bytes(b"x" * 5000)
    (root / ".hidden").write_text("hidden")
    (tmp_path / "secret.txt").write_text("outside the log folder")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "dir-link-out")
    os.symlink(queue / "1234.5.out", root / "link-in.out")
    (root / "x509up_u1000").write_text("proxy")
    (root / "hostkey.pem").write_text("key")
    (root / "state").mkdir()
    (root / "state" / "ledger.sqlite").write_text("ledger")
    (root / "named-credential").write_text("token")
    return root


def serve(rules: ServeRules) -> Iterator[int]:
    with serving(build_app(rules, footer="apfctl test")) as port:
        yield port


@pytest.fixture
def port(tree: Path) -> Iterator[int]:
    rules = ServeRules.build(tree, index=True, allow_robots=False, state_dir=tree / "state",
                             secret_files=[tree / "named-credential"])
    yield from serve(rules)


def get(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None,
        ) -> tuple[int, str, Message]:
    """A raw request: the path is sent exactly as given (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace"), response.headers
    finally:
        connection.close()


def test_serves_pilot_logs_as_text(port):
    status, body, headers = get(port, "/2026-11-25/BNL_ATLAS_1/1234.5.out")
    assert status == 200 and body == "pilot output\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Server"] is None                        # the tests' uvicorn is configured as apfctl's
    status, body, headers = get(port, "/2026-11-25/BNL_ATLAS_1/1234.5.out", method="HEAD")
    assert status == 200 and body == "" and headers["Content-Length"] == "13"
    assert get(port, "/link-in.out")[0] == 200            # a link that stays inside is fine


@pytest.mark.parametrize("path", [
    "/../../etc/passwd",
    "/2026-11-25/../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/2026-11-25/%2E%2E/%2E%2E/secret.txt",
    "/..%2f..%2fetc/passwd",
    "/2026-11-25\\..\\..\\etc\\passwd",
])
def test_traversal_is_refused(port, path):
    status, body, _ = get(port, path)
    assert status == 403 and "refused:" in body and "outside baseLogDir" in body
    assert "root:" not in body


@pytest.mark.parametrize("path, reason", [
    ("/link-out.txt", "leads outside baseLogDir"),
    ("/dir-link-out/secret.txt", "leads outside baseLogDir"),
    ("/.hidden", "hidden files are not served"),
    ("/x509up_u1000", "is a credential file"),
    ("/hostkey.pem", "is a credential file"),
    ("/named-credential", "is a credential file"),
    ("/state/ledger.sqlite", "is in the state folder"),
    ("/state/", "is in the state folder"),
])
def test_links_out_secrets_and_state_are_refused(port, path, reason):
    status, body, _ = get(port, path)
    assert status == 403 and reason in body


def test_listing_hides_what_is_refused(port):
    status, body, _ = get(port, "/")
    assert status == 200 and "Index of /" in body and "2026-11-25/" in body
    refused = ("link-out.txt", "dir-link-out", ".hidden", "x509up_u1000", "hostkey.pem", "state/", "named-credential")
    for name in refused:
        assert name not in body
    status, body, _ = get(port, "/2026-11-25/BNL_ATLAS_1/")
    assert status == 200 and "1234.5.out" in body and "Parent Directory" in body and "4.9K" in body
    status, _, headers = get(port, "/2026-11-25")
    assert status == 301 and headers["Location"] == "/2026-11-25/"
    assert get(port, "/2026-11-25/nothing-here.out")[0] == 404
    assert get(port, "/", method="POST")[0] == 405
    assert get(port, "/2026-11-25/BNL_ATLAS_1/1234.5.out", method="PUT")[0] == 405


def test_robots_denied_by_default(port):
    status, body, _ = get(port, "/robots.txt")
    assert status == 200 and body == "User-agent: *\nDisallow: /\n"


def test_index_off_and_robots_allowed(tree):
    (tree / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    rules = ServeRules.build(tree, index=False, allow_robots=True)
    for port in serve(rules):
        status, body, _ = get(port, "/2026-11-25/")
        assert status == 403 and "directory listing is disabled" in body
        assert get(port, "/robots.txt")[1] == "User-agent: *\nAllow: /\n"
        assert get(port, "/2026-11-25/BNL_ATLAS_1/1234.5.out")[0] == 200


def test_rules_refuse_bad_roots(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        ServeRules.build(tmp_path / "absent", index=True, allow_robots=False)
    with pytest.raises(ValueError, match="is the state folder"):
        ServeRules.build(tmp_path, index=True, allow_robots=False, state_dir=tmp_path)


def test_port_of_base_log_dir_url():
    assert port_of("http://factory.example.org:25880/logs") == 25880
    assert port_of("http://factory.example.org/logs") == 80
    assert port_of("https://factory.example.org/logs") == 443
    assert port_of(None) == 80
    with pytest.raises(ValueError, match="bad port"):
        port_of("http://factory.example.org:99999/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_serves_base_log_dir_on_the_port_of_its_url(tree, tmp_path):
    port = free_port()
    (tmp_path / "queues.conf").write_text("")
    (tmp_path / "proxy.pem").write_text("outside anyway")
    (tmp_path / "auth.conf").write_text(f"[p]\nplugin = X509\nx509.proxyfile = {tree}/named-credential\n"
                                        "x509.renew = False\n")
    config = tmp_path / "apfctl.conf"
    config.write_text(textwrap.dedent(f"""
        [Factory]
        factoryId = logs-test
        baseLogDir = {tree}
        baseLogDirUrl = http://localhost:{port}
        queueConf = queues.conf
        authConf = auth.conf
        logserver.index = False
        """))
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(tmp_path / "state"))
    process = subprocess.Popen([sys.executable, "-m", "apfctl", "logserver", "--host", "127.0.0.1"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body, _ = get(port, "/2026-11-25/BNL_ATLAS_1/1234.5.out")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
                time.sleep(0.1)
        assert status == 200 and body == "pilot output\n"
        assert get(port, "/2026-11-25/")[0] == 403                          # logserver.index = False
        assert "is a credential file" in get(port, "/named-credential")[1]  # named by auth.conf
        assert get(port, "/../../etc/passwd")[0] == 403
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"serving {tree}" in stderr and "refused /../../etc/passwd" in stderr


def test_command_refuses_a_port_in_use(tree, tmp_path):
    (tmp_path / "queues.conf").write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        config = tmp_path / "apfctl.conf"
        config.write_text(f"[Factory]\nbaseLogDir = {tree}\nqueueConf = queues.conf\n"
                          f"baseLogDirUrl = http://localhost:{busy.getsockname()[1]}/\n")
        env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(tmp_path / "state"))
        result = subprocess.run([sys.executable, "-m", "apfctl", "logserver", "--host", "127.0.0.1"], env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "cannot listen on 127.0.0.1:" in result.stderr


def test_escaped_queue_folders_are_listed_and_served(tree, port):
    escaped = tree / "2026-11-25" / "BNL%2F1"            # safe_name("BNL/1")
    escaped.mkdir()
    (escaped / "1.out").write_text("escaped queue\n")
    status, body, _ = get(port, "/2026-11-25/")
    assert status == 200 and 'href="BNL%252F1/"' in body and "BNL_ATLAS_1/" in body
    status, body, _ = get(port, "/2026-11-25/BNL%252F1/")
    assert status == 200 and 'href="1.out"' in body
    assert get(port, "/2026-11-25/BNL%252F1/1.out")[1] == "escaped queue\n"
    status, _, headers = get(port, "/2026-11-25/BNL%252F1")
    assert status == 301 and headers["Location"] == "/2026-11-25/BNL%252F1/"


def test_links_to_hidden_files_inside_are_refused_and_not_listed(tree, port):
    (tree / ".hidden-dir").mkdir()
    (tree / ".hidden-dir" / "s.txt").write_text("hidden inside")
    os.symlink("../../.hidden-dir/s.txt", tree / "2026-11-25" / "BNL_ATLAS_1" / "link.out")
    status, body, _ = get(port, "/2026-11-25/BNL_ATLAS_1/link.out")
    assert status == 403 and "leads to a hidden file" in body and "hidden inside" not in body
    assert "link.out" not in get(port, "/2026-11-25/BNL_ATLAS_1/")[1]


def test_a_fifo_is_refused_without_being_opened(tree, port):
    os.mkfifo(tree / "2026-11-25" / "BNL_ATLAS_1" / "pipe.out")
    status, body, _ = get(port, "/2026-11-25/BNL_ATLAS_1/pipe.out")      # would block forever if opened
    assert status == 403 and "is not a regular file" in body
    status, body, _ = get(port, "/2026-11-25/BNL_ATLAS_1/")
    assert status == 200 and "pipe.out" not in body and "1234.5.out" in body


def test_folder_redirects_never_leave_the_host(tree, port):
    (tree / "evil.example").mkdir()
    for path in ("//evil.example", "///evil.example", "/./evil.example"):
        status, _, headers = get(port, path)
        assert status == 301 and headers["Location"] == "/evil.example/", path


def test_entries_removed_while_listing_are_skipped(tree):
    from apfctl.serve.logs import listing

    rules = ServeRules.build(tree, index=True, allow_robots=False)
    folder = tree / "2026-11-25" / "BNL_ATLAS_1"

    class Vanishing(type(folder)):
        def iterdir(self):
            entries = list(super().iterdir())
            (folder / "1234.5.err").unlink()                 # apfctl clean, between iterdir and stat
            return iter(entries)

    body = listing(rules, Vanishing(folder), ["2026-11-25", "BNL_ATLAS_1"], "footer")
    assert "1234.5.out" in body and "1234.5.err" not in body
