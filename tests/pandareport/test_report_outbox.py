"""PandaReport in-process against the Harvester API stand-in: outages, bad answers, the bounded outbox, auth."""

from __future__ import annotations

import json
import logging
import ssl
import threading
from pathlib import Path

import pytest
from apfctl_pandareport.testkit import HarvesterStandIn
from pytest_httpserver import HTTPServer

from apfctl.config.loader import load
from apfctl.ledger import Ledger
from apfctl.outbox import Call
from apfctl.stages.publish import publish
from apfctl.workers import WorkerLedger
from tests.panda.panda_helpers import make_ca, make_server_cert

HARVESTER = "test-factory"


def make_factory(tmp_path: Path, url: str, auth_conf: str | None = None, **settings: str):
    folder = tmp_path / "conf"
    folder.mkdir(exist_ok=True)
    settings = {"monitorplugin": "PandaReport", "pandareport.baseurl": url, "pandareport.timeout": "1",
                "pandareport.budget": "3", **settings}
    (folder / "monitor.conf").write_text("[panda]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    queues = ""
    for name, site in (("Q1", "SITE_A"), ("Q2", "SITE_A"), ("Q3", "SITE_B")):
        queues += (f"[{name}]\nenabled = True\nwmsqueue = {site}\nbatchstatusplugin = Local\n"
                   "batchsubmitplugin = Local\nwmsstatusplugin = None\nschedplugin = Ready\nmonitorsection = panda\n\n")
    (folder / "queues.conf").write_text(queues)
    extra = f"authConf = {auth_conf}\n" if auth_conf else ""
    (folder / "apfctl.conf").write_text(f"[Factory]\nfactoryId = {HARVESTER}\nqueueConf = queues.conf\n"
                                        f"monitorConf = monitor.conf\n{extra}")
    return load(str(folder / "apfctl.conf"), str(tmp_path / "state"))


def submit(loaded, queue: str, n: int, cycle: str = "20261201T120000Z-0001") -> list[int]:
    """Pilots of a queue in the ledger as the submit stage stores them; their worker ids."""
    with Ledger(loaded.context.state_dir) as ledger:
        workers = WorkerLedger(ledger)
        block = workers.allocate(HARVESTER, n)
        workers.record(queue, cycle, None, {f"{queue}-{i}": worker for i, worker in enumerate(block.ids())})
    return list(block.ids())


def record(queue: str) -> dict:
    return {"apfctl": 1, "queue": queue, "cycle": "20261201T120000Z-0001",
            "submission": {"plugin": "Local", "requested": 1, "submitted": 1, "ids": [], "dry_run": False}}


def outbox(loaded) -> list[Call]:
    folder = loaded.context.state_dir / "pandareport" / "panda"
    if not folder.exists():
        return []
    return [Call.from_dict(item) for path in sorted(folder.iterdir()) for item in json.loads(path.read_text())]


def sent_workers(standin: HarvesterStandIn) -> list[int]:
    return [w["workerID"] for body in standin.bodies("update_workers") for w in body["workers"]]


@pytest.fixture
def standin(httpserver: HTTPServer):
    server = HarvesterStandIn(httpserver)
    yield server
    server.released.set()


def test_calls_wait_in_the_outbox_through_an_outage_and_go_first_in_order(tmp_path, standin, caplog):
    loaded = make_factory(tmp_path, standin.url(), **{"pandareport.batchsize": "2"})
    first = submit(loaded, "Q1", 3)
    standin.mode = "down"
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])                     # PanDA is down: nothing taken, nothing raised
    assert standin.calls == []
    kept = outbox(loaded)
    assert [c.path.rsplit("/", 1)[-1] for c in kept] == ["heartbeat", "update_workers", "update_workers",
                                                         "report_worker_statistics"]
    assert "heartbeat: HTTP 503" in caplog.text and "4 of 4 calls kept in the outbox" in caplog.text
    second = submit(loaded, "Q1", 1, cycle="20261201T121000Z-0002")
    standin.mode = None
    publish(loaded, [record("Q1")])
    # the old calls first, in order; the heartbeat and the queue's statistics once, newest
    assert standin.names() == ["update_workers", "update_workers", "heartbeat", "update_workers",
                               "report_worker_statistics"]
    assert sent_workers(standin) == first + second
    assert outbox(loaded) == []
    stats = json.loads(standin.bodies("report_worker_statistics")[0]["statistics"])
    assert stats == {"ANY": {"ANY": {"submitted": 4, "running": 0}}}


def test_statistics_of_a_panda_queue_sum_every_apfctl_queue_that_feeds_it(tmp_path, standin):
    loaded = make_factory(tmp_path, standin.url())
    submit(loaded, "Q1", 2)
    submit(loaded, "Q2", 3)
    submit(loaded, "Q3", 1)
    publish(loaded, [record("Q1")])          # only Q1 cycled, yet SITE_A's statistics count Q2's pilots too
    [stats] = standin.bodies("report_worker_statistics")
    assert stats["panda_queue"] == "SITE_A"
    assert json.loads(stats["statistics"]) == {"ANY": {"ANY": {"submitted": 5, "running": 0}}}
    assert sorted(sent_workers(standin)) == [1, 2]


@pytest.mark.parametrize("mode, says", [
    ("html", "is not JSON (text/html"),
    ("refuse", "success: false (database error in the PanDA server)"),
    ("shape", "not PanDA's {success, message, data} envelope"),
    ("huge", "larger than 1048576 bytes"),
    ("down", "HTTP 503"),
])
def test_a_bad_answer_is_a_warning_naming_the_call_and_the_calls_stay(tmp_path, standin, caplog, mode, says):
    loaded = make_factory(tmp_path, standin.url())
    submit(loaded, "Q1", 2)
    standin.mode = mode
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "heartbeat: " in warnings[0] and says in warnings[0], warnings
    assert not any(r.exc_info for r in caplog.records)
    assert len(outbox(loaded)) == 3
    standin.mode = None
    publish(loaded, [record("Q1")])
    assert sent_workers(standin) == [1, 2] and outbox(loaded) == []


def test_refused_update_workers_is_named_and_kept(tmp_path, standin, caplog):
    loaded = make_factory(tmp_path, standin.url())
    submit(loaded, "Q1", 1)
    with Ledger(loaded.context.state_dir) as ledger:    # a worker PanDA's type check refuses
        ledger.execute("UPDATE workers SET batch_id = '1' WHERE worker_id = 1")
    original = standin.update_workers
    standin.update_workers = lambda body: {"success": True, "message": "", "data": None}
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])
    assert "update_workers: PanDA's data 'None' does not confirm the 1 workers" in caplog.text
    assert [c.path.rsplit("/", 1)[-1] for c in outbox(loaded)] == ["update_workers", "report_worker_statistics"]
    standin.update_workers = original
    publish(loaded, [record("Q1")])
    assert outbox(loaded) == []


def test_a_hanging_panda_costs_the_budget_only(tmp_path, standin, caplog):
    loaded = make_factory(tmp_path, standin.url(), **{"pandareport.timeout": "30", "pandareport.budget": "1"})
    submit(loaded, "Q1", 1)
    standin.mode = "hang"
    done = threading.Event()

    def run():
        publish(loaded, [record("Q1")])
        done.set()

    worker = threading.Thread(target=run)
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        worker.start()
        finished = done.wait(20)    # far below the 30 s request timeout: the budget stopped it
        standin.released.set()
        worker.join(20)
    assert finished
    assert "not done within pandareport.budget = 1 s" in caplog.text
    assert len(outbox(loaded)) == 3


def test_the_outbox_is_bounded_drops_the_oldest_and_says_so(tmp_path, standin, caplog):
    loaded = make_factory(tmp_path, standin.url(), **{"pandareport.batchsize": "1", "pandareport.outbox": "4"})
    submit(loaded, "Q1", 5)
    standin.mode = "down"
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])
    assert "holds at most pandareport.outbox = 4 calls; dropped the 3 oldest" in caplog.text
    kept = outbox(loaded)
    assert len(kept) == 4
    assert [c.json["workers"][0]["workerID"] for c in kept if c.path.endswith("update_workers")] == [3, 4, 5]


def test_a_dry_run_reports_nothing(tmp_path, standin):
    loaded = make_factory(tmp_path, standin.url())
    submit(loaded, "Q1", 1)
    dry = record("Q1")
    dry["submission"]["dry_run"] = True
    publish(loaded, [dry])
    assert standin.calls == [] and outbox(loaded) == []


def test_a_token_from_auth_conf_with_its_origin(tmp_path, httpserver):
    standin = HarvesterStandIn(httpserver, token="secret.jwt.value", origin="atlas")
    token = tmp_path / "token"
    token.write_text("secret.jwt.value\n")
    auth = tmp_path / "auth.conf"
    auth.write_text(f"[panda-token]\nplugin = Token\ntoken.file = {token}\n")
    loaded = make_factory(tmp_path, standin.url(), auth_conf=str(auth),
                          **{"pandareport.auth": "panda-token", "pandareport.origin": "atlas"})
    submit(loaded, "Q1", 1)
    publish(loaded, [record("Q1")])
    assert standin.names() == ["heartbeat", "update_workers", "report_worker_statistics"]
    assert all(h["Authorization"] == "Bearer secret.jwt.value" and h["Origin"] == "atlas" for h in standin.headers)


def test_a_wrong_token_is_refused_and_the_calls_wait(tmp_path, httpserver, caplog):
    standin = HarvesterStandIn(httpserver, token="the-right-one")
    token = tmp_path / "token"
    token.write_text("a-wrong-one\n")
    auth = tmp_path / "auth.conf"
    auth.write_text(f"[panda-token]\nplugin = Token\ntoken.file = {token}\n")
    loaded = make_factory(tmp_path, standin.url(), auth_conf=str(auth), **{"pandareport.auth": "panda-token"})
    submit(loaded, "Q1", 1)
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])
    assert "heartbeat: HTTP 403" in caplog.text and "Token authentication failed" in caplog.text
    assert len(outbox(loaded)) == 3


def client_proxy(folder: Path, ca_cert, ca_key) -> Path:
    """A proxy-like file: a CA-signed client certificate and its key in one PEM."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apfctl")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    path = folder / "x509up"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


def test_an_x509_proxy_from_auth_conf_over_https(tmp_path):
    ca, ca_cert, ca_key = make_ca(tmp_path, "test-ca")
    server_pem = make_server_cert(tmp_path, "server", ca_cert, ca_key)
    proxy = client_proxy(tmp_path, ca_cert, ca_key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem.cert, server_pem.key)
    context.load_verify_locations(ca.cert)
    context.verify_mode = ssl.CERT_REQUIRED          # no client certificate, no connection
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    try:
        standin = HarvesterStandIn(server)
        auth = tmp_path / "auth.conf"
        auth.write_text(f"[panda-proxy]\nplugin = X509\nx509.proxyfile = {proxy}\nx509.renew = False\n")
        loaded = make_factory(tmp_path, standin.url(), auth_conf=str(auth),
                              **{"pandareport.auth": "panda-proxy", "pandareport.verify": str(ca.cert)})
        submit(loaded, "Q1", 1)
        publish(loaded, [record("Q1")])
        assert standin.url().startswith("https://")
        assert standin.names() == ["heartbeat", "update_workers", "report_worker_statistics"]
    finally:
        server.clear()
        server.stop()


def test_a_missing_auth_profile_is_a_warning_and_the_workers_wait(tmp_path, standin, caplog):
    auth = tmp_path / "auth.conf"
    auth.write_text("[other]\nplugin = Token\ntoken.file = /nonexistent\n")
    loaded = make_factory(tmp_path, standin.url(), auth_conf=str(auth), **{"pandareport.auth": "panda-token"})
    submit(loaded, "Q1", 1)
    with caplog.at_level(logging.WARNING, "apfctl.pandareport"):
        publish(loaded, [record("Q1")])
    assert "pandareport.auth = 'panda-token' is not a usable auth.conf profile" in caplog.text
    assert standin.calls == []
    loaded = make_factory(tmp_path, standin.url())
    publish(loaded, [record("Q1")])                    # fixed: the worker was not lost
    assert sent_workers(standin) == [1]
