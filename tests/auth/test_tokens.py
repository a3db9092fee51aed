"""Token profiles: JWT expiry, audience and scope; renewal by a configured command."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apfctl.auth import manager, profiles
from tests.auth import pki


def token_profile(write_auth, token: Path, extra: str = "") -> profiles.Profile:
    lines = ["[ce-token]", "plugin = Token", f"token.file = {token}", "token.minlife = 1800", *extra.splitlines()]
    auth = profiles.load(write_auth("\n".join(lines) + "\n"))
    assert not auth.errors, auth.errors
    return auth.profiles["ce-token"]


def write_token(path: Path, exp: float | None, **claims) -> Path:
    path.write_text(pki.make_jwt(exp, **claims) + "\n")
    path.chmod(0o600)
    return path


def test_future_token_is_ok_with_its_claims(tmp_path, write_auth):
    token = write_token(tmp_path / "bt_u1000", time.time() + 7200)
    state = manager.check(token_profile(write_auth, token, "token.audience = https://ce.example.org\n"
                                                             "token.scope = compute.create"))
    assert state.state == "ok" and state.error is None
    assert 7100 < state.lifetime <= 7200
    assert state.audience == ["https://ce.example.org"] and "compute.create" in state.scopes
    assert state.subject == "pilot-factory" and state.kind == "token"


def test_past_and_near_expiry_tokens(tmp_path, write_auth):
    past = manager.check(token_profile(write_auth, write_token(tmp_path / "past", time.time() - 60)))
    assert past.state == "expired" and past.lifetime == 0
    near = manager.check(token_profile(write_auth, write_token(tmp_path / "near", time.time() + 1200)))
    assert near.state == "renew" and 900 < near.lifetime <= 1200 and near.error is None
    # within token.refresh.interval + token.margin (600 + 300 s): an error, which the gate blocks
    closer = manager.check(token_profile(write_auth, write_token(tmp_path / "closer", time.time() + 600)))
    assert closer.state == "error" and "within token.refresh.interval + token.margin (900 s)" in closer.error
    assert isinstance(closer.lifetime, int) and 0 < closer.lifetime <= 600


@pytest.mark.parametrize("text, reason", [
    ("not-a-jwt", "not a JWT"),
    ("a.b.c", "not base64url-encoded JSON"),
    ("eyJhbGciOiJub25lIn0.WzFd.c2ln", "not a JSON object"),
])
def test_malformed_token_is_an_error_naming_profile_and_file(tmp_path, write_auth, text, reason):
    token = tmp_path / "token"
    token.write_text(text)
    token.chmod(0o600)
    state = manager.check(token_profile(write_auth, token))
    assert state.state == "error" and "profile ce-token" in state.error and str(token) in state.error
    assert reason in state.error


def test_wrong_audience_or_missing_scope(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() + 7200, aud=["https://other.example.org"], scope="storage.read")
    wrong_aud = manager.check(token_profile(write_auth, token, "token.audience = https://ce.example.org"))
    assert wrong_aud.state == "error" and "lacks 'https://ce.example.org'" in wrong_aud.error
    no_scope = manager.check(token_profile(write_auth, token, "token.scope = compute.create, compute.read"))
    assert no_scope.state == "error" and "token scopes lack compute.create compute.read" in no_scope.error


def test_renewal_command_printing_the_token(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() - 60)
    fresh = pki.make_jwt(time.time() + 86400)
    command = tmp_path / "get-token"
    command.write_text(f"#!/bin/sh\necho {fresh}\n")
    command.chmod(0o755)
    profile = token_profile(write_auth, token, f"token.renew.command = {command} --account factory\n"
                                               "token.renew.output = stdout")
    state = manager.renew(profile)
    assert state.renewed and state.state == "ok" and state.lifetime > 86000
    assert token.read_text().strip() == fresh
    assert oct(token.stat().st_mode & 0o777) == "0o600"


def test_renewal_command_writing_the_file_gets_its_path(tmp_path, write_auth):
    token = tmp_path / "token"
    fresh = pki.make_jwt(time.time() + 3 * 3600)
    command = tmp_path / "htgettoken"
    command.write_text(f'#!/bin/sh\numask 077\necho {fresh} > "$BEARER_TOKEN_FILE"\n')
    command.chmod(0o755)
    state = manager.renew(token_profile(write_auth, token, f"token.renew.command = {command}"))
    assert state.renewed and state.state == "ok"


def test_failing_hanging_and_missing_renewal(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() - 60)
    failing = manager.renew(token_profile(write_auth, token, "token.renew.command = sh -c 'echo denied >&2; exit 4'"))
    assert failing.state == "error" and "failed with exit code 4: denied" in failing.error
    hanging = manager.renew(token_profile(write_auth, token, "token.renew.command = sleep 600\ntoken.timeout = 1"))
    assert hanging.state == "error" and "did not finish within 1 s" in hanging.error
    silent = manager.renew(token_profile(write_auth, token, "token.renew.command = true\n"
                                                            "token.renew.output = stdout"))
    assert silent.state == "error" and "printed no token" in silent.error
    unset = manager.renew(token_profile(write_auth, token))
    assert unset.state == "expired" and "renewal is not configured" in unset.error


def test_a_claim_of_the_wrong_type_is_an_error_not_a_crash(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() + 7200, aud=12345)
    state = manager.check(token_profile(write_auth, token))
    assert state.state == "error" and "aud claim is neither a string nor a list of strings" in state.error


def test_a_failing_renewal_that_prints_the_token_does_not_leak_it(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() - 60)
    command = tmp_path / "get-token"
    command.write_text("#!/bin/sh\necho eyJhbGciOi.SECRETTOKEN.sig\nexit 3\n")
    command.chmod(0o755)
    state = manager.renew(token_profile(write_auth, token, f"token.renew.command = {command}\n"
                                                           "token.renew.output = stdout"))
    assert state.state == "error" and "exit code 3" in state.error
    assert "SECRETTOKEN" not in state.error


def test_a_token_file_others_can_read_is_refused(tmp_path, write_auth):
    token = write_token(tmp_path / "token", time.time() + 7200)
    token.chmod(0o644)
    state = manager.check(token_profile(write_auth, token))
    assert state.state == "error" and "readable or writable by others (mode 0644; chmod 600)" in state.error
