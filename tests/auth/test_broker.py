"""The token broker against a real local OIDC issuer on 127.0.0.1: one token per CE, refresh, failures."""

from __future__ import annotations

import json
import logging
import multiprocessing
import stat
from pathlib import Path

import pytest

from apfctl.auth import broker, manager, profiles, token
from apfctl.errors import ConfigError
from tests.auth.oidc_issuer import Issuer

CE_A, CE_B = "ce-a.example.org:9619", "ce-b.example.org:9619"


@pytest.fixture
def issuer():
    server = Issuer(lifetime=1200).start()
    yield server
    server.stop()


@pytest.fixture
def secret_file(tmp_path: Path, issuer: Issuer) -> Path:
    path = tmp_path / "client.secret"
    path.write_text(issuer.secret + "\n")
    path.chmod(0o600)
    return path


def broker_profile(write_auth, issuer: Issuer, secret_file: Path, extra: str = "") -> profiles.Profile:
    text = (f"[wlcg]\nplugin = Token\ntoken.issuer = {issuer.url}\ntoken.client_id = {issuer.client_id}\n"
            f"token.client_secret_file = {secret_file}\ntoken.scope = compute.create, compute.read\n"
            f"token.groups = /atlas\ntoken.timeout = 2\ntoken.refresh.interval = 200\ntoken.margin = 100\n{extra}")
    auth = profiles.load(write_auth(text))
    assert not auth.errors, auth.errors
    return auth.profiles["wlcg"]


class Clock:
    """A controlled clock shared by the issuer and the broker."""

    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_one_private_token_file_per_ce_with_its_audience(tmp_path, write_auth, issuer, secret_file, caplog):
    caplog.set_level(logging.DEBUG)
    profile = broker_profile(write_auth, issuer, secret_file)
    state_dir = tmp_path / "state"
    a = broker.ensure(profile, CE_A, state_dir)
    b = broker.ensure(profile, CE_B, state_dir)
    assert a.state == b.state == "ok" and a.renewed and b.renewed, (a, b)
    assert a.file != b.file and Path(a.file) == broker.token_path(state_dir, "wlcg", CE_A)
    assert Path(a.file).parent == state_dir / "tokens" / "wlcg"
    for state, ce in ((a, CE_A), (b, CE_B)):
        assert stat.S_IMODE(Path(state.file).stat().st_mode) == 0o600
        assert state.audience == [ce] and state.ce == ce
        assert state.scopes == ["compute.create", "compute.read"] and state.groups == ["/atlas"]
        assert state.issuer == issuer.url and isinstance(state.lifetime, int) and 1100 < state.lifetime <= 1200
        assert state.next_refresh == issuer.issued[-1 if ce == CE_B else 0]["iat"] + 600
    # secrets appear nowhere: not in logs, not in the state the CLI prints
    tokens = [Path(state.file).read_text().strip() for state in (a, b)]
    for text in (caplog.text, json.dumps(a.as_dict()), json.dumps(b.as_dict())):
        assert issuer.secret not in text and not any(t in text for t in tokens)
    # nothing is due: no request, the same file
    before = len(issuer.issued)
    again = broker.ensure(profile, CE_A, state_dir)
    assert again.state == "ok" and not again.renewed and len(issuer.issued) == before


def test_refresh_at_half_lifetime_with_a_controlled_clock(tmp_path, write_auth, issuer, secret_file):
    clock = Clock()
    issuer.clock = clock
    profile = broker_profile(write_auth, issuer, secret_file)
    state_dir = tmp_path / "state"
    first = broker.ensure(profile, CE_A, state_dir, now=clock())
    assert first.renewed and first.next_refresh == int(clock.now) + 600
    clock.now += 599
    assert not broker.ensure(profile, CE_A, state_dir, now=clock()).renewed
    assert len(issuer.issued) == 1
    clock.now += 1
    second = broker.ensure(profile, CE_A, state_dir, now=clock())
    assert second.renewed and len(issuer.issued) == 2 and second.next_refresh == int(clock.now) + 600
    assert second.lifetime == 1200


@pytest.mark.parametrize("mode, reason", [
    ("fail", "answered HTTP 500"),
    ("badjson", "did not answer a JSON object"),
    ("noexp", "token has no exp claim"),
    ("wrongaud", "lacks 'ce-a.example.org:9619'"),
    ("expired", "already expired"),
    ("slow", "unreachable: ReadTimeout"),
])
def test_issuer_failure_keeps_the_previous_token_while_it_lasts(tmp_path, write_auth, issuer, secret_file, mode,
                                                                reason, caplog):
    clock = Clock()
    issuer.clock = clock
    issuer.delay = 3.0
    profile = broker_profile(write_auth, issuer, secret_file)
    state_dir = tmp_path / "state"
    good = broker.ensure(profile, CE_A, state_dir, now=clock())
    kept = Path(good.file).read_text()
    issuer.mode = mode
    clock.now += 700                     # past half its lifetime: due
    state = broker.ensure(profile, CE_A, state_dir, now=clock())
    assert state.state == "ok" and state.error is None and not state.renewed
    assert reason in state.warning and "the previous token is kept (500 s left)" in state.warning
    assert Path(good.file).read_text() == kept
    assert state.record_field()["error"] is None
    # once the previous token is inside the refresh window (200 + 100 s), the gate takes over
    clock.now += 400
    late = broker.ensure(profile, CE_A, state_dir, now=clock())
    assert late.state == "error" and "within token.refresh.interval + token.margin" in late.error
    assert reason in late.error and late.record_field()["error"] == late.error
    assert issuer.secret not in caplog.text + late.error and kept.strip() not in caplog.text + late.error


def test_no_previous_token_and_a_failing_issuer_is_an_error(tmp_path, write_auth, issuer, secret_file):
    issuer.mode = "fail"
    profile = broker_profile(write_auth, issuer, secret_file)
    state = broker.ensure(profile, CE_A, tmp_path / "state")
    assert state.state == "error" and "profile wlcg: no token for ce-a.example.org:9619: " in state.error
    assert "answered HTTP 500" in state.error and not Path(state.file).exists()


def test_wrong_client_secret_names_the_issuer_not_the_secret(tmp_path, write_auth, issuer):
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-secret-at-all\n")
    wrong.chmod(0o600)
    state = broker.ensure(broker_profile(write_auth, issuer, wrong), CE_A, tmp_path / "state")
    assert state.state == "error" and "answered HTTP 401 (invalid_client)" in state.error
    assert "not-the-secret-at-all" not in state.error


def test_unreachable_issuer(tmp_path, write_auth, issuer, secret_file):
    profile = broker_profile(write_auth, issuer, secret_file)
    issuer.stop()
    state = broker.ensure(profile, CE_A, tmp_path / "state")
    assert state.state == "error" and "unreachable: ConnectionError" in state.error


def test_secret_file_readable_by_others_is_refused_when_used(tmp_path, write_auth, issuer, secret_file):
    profile = broker_profile(write_auth, issuer, secret_file)
    secret_file.chmod(0o640)
    state = broker.ensure(profile, CE_A, tmp_path / "state")
    assert state.state == "error" and "readable or writable by others (mode 0640; chmod 600)" in state.error
    assert issuer.requests == []


@pytest.mark.parametrize("lines, key, message", [
    (["token.client_id = f", "token.client_secret_file = {secret}"], "token.issuer", "required key is missing"),
    (["token.issuer = https://iam.example.org/", "token.client_secret_file = {secret}"], "token.client_id",
     "required key is missing"),
    (["token.issuer = https://iam.example.org/", "token.client_id = f", "token.client_secret_file = {tmp}/none"],
     "token.client_secret_file", "does not exist"),
    (["token.issuer = https://iam.example.org/", "token.client_id = f", "token.client_secret_file = {open}"],
     "token.client_secret_file", "readable or writable by others"),
    (["token.issuer = http://iam.example.org/", "token.client_id = f", "token.client_secret_file = {secret}"],
     "token.issuer", "not an https URL"),
    (["token.issuer = https://iam.example.org/", "token.client_id = f", "token.client_secret_file = {secret}",
      "token.file = /tmp/x"], "token.file", "not used with token.issuer"),
    (["token.file = /tmp/x", 'token.scope = compute.create, "compute read"'], "token.scope", "is not a scope"),
    (["token.file = /tmp/x", "token.groups = atlas"], "token.groups", "is not a group"),
    ([], "token.file", "required key is missing"),
])
def test_bad_token_profiles_name_file_section_and_key(tmp_path, write_auth, lines, key, message):
    secret = tmp_path / "ok.secret"
    secret.write_text("x\n")
    secret.chmod(0o600)
    too_open = tmp_path / "open.secret"
    too_open.write_text("x\n")
    too_open.chmod(0o644)
    body = "\n".join(line.format(secret=secret, tmp=tmp_path, open=too_open) for line in lines)
    path = write_auth(f"[wlcg]\nplugin = Token\n{body}\n")
    error = profiles.load(path).errors["wlcg"]
    assert isinstance(error, ConfigError)
    assert error.file == str(path) and error.section == "wlcg" and error.key == key and message in str(error)


def _refresher(profile_text: str, auth_path: str, state_dir: str, rounds: int) -> None:
    auth = profiles.load(auth_path)
    for _ in range(rounds):
        broker.ensure(auth.profiles["wlcg"], CE_A, Path(state_dir), force=True)


def test_parallel_refreshes_never_show_a_half_written_token(tmp_path, write_auth, issuer, secret_file):
    profile = broker_profile(write_auth, issuer, secret_file)
    state_dir = tmp_path / "state"
    path = Path(broker.ensure(profile, CE_A, state_dir).file)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_refresher, args=("", str(tmp_path / "auth.conf"), str(state_dir), 15))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    reads = 0
    while any(worker.is_alive() for worker in workers) or reads < 50:
        info = token.read_token(path)     # raises on a partial file
        assert info.audience == [CE_A]
        reads += 1
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(issuer.issued) == 31 and not list(path.parent.glob(".*.jwt.*"))
    assert manager.check(profile, CE_A, state_dir).state == "ok"


def test_an_obtained_token_made_readable_by_others_is_refused_and_replaced(tmp_path, write_auth, issuer, secret_file):
    profile = broker_profile(write_auth, issuer, secret_file)
    state_dir = tmp_path / "state"
    path = Path(broker.ensure(profile, CE_A, state_dir).file)
    path.chmod(0o644)
    checked = manager.check(profile, CE_A, state_dir)
    assert checked.state == "error" and "readable or writable by others" in checked.error
    again = broker.ensure(profile, CE_A, state_dir)     # unusable, so obtained again: private
    assert again.state == "ok" and again.renewed and stat.S_IMODE(path.stat().st_mode) == 0o600
