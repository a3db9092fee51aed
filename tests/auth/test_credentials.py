"""Credential profiles: proxies and tokens made in the test, read, checked and renewed for real."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from apfctl.auth import manager, profiles, x509
from apfctl.auth.commands import MASK, run
from tests.auth import pki

HOUR = dt.timedelta(hours=1)


def proxy_file(tmp_path: Path, user: pki.Identity, valid_for: dt.timedelta, name: str = "proxy.pem") -> Path:
    path = tmp_path / name
    path.write_bytes(pki.make_proxy(user, valid_for))
    path.chmod(0o600)
    return path


def x509_profile(write_auth, proxy: Path, extra: str = "") -> profiles.Profile:
    auth = profiles.load(write_auth(f"""
        [atlas]
        plugin = X509
        x509.proxyfile = {proxy}
        x509.renew = False
        x509.minlife = 7200
        {extra}
        """))
    assert not auth.errors, auth.errors
    return auth.profiles["atlas"]


# --- X509 -----------------------------------------------------------------------------------
def test_fresh_proxy_lifetime_read_from_the_pem(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, 12 * HOUR)
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.state == "ok" and state.error is None
    assert 11.9 * 3600 < state.lifetime <= 12 * 3600
    assert "CN=Pilot Factory" in state.subject
    assert state.record_field() == {"profile": "atlas", "kind": "x509", "lifetime": state.lifetime, "error": None}


def test_near_expiry_proxy_needs_renewal(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, dt.timedelta(minutes=30))
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.state == "renew"
    assert 0 < state.lifetime <= 1800


def test_expired_proxy_has_no_lifetime_left(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, -HOUR)
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.state == "expired" and state.lifetime == 0


def test_lifetime_is_bounded_by_the_user_certificate_in_the_file(tmp_path, ca, write_auth):
    short_user = pki.make_user(ca, cn="Short Lived", days=0)   # user cert ends in ~0 days
    proxy = proxy_file(tmp_path, short_user, 48 * HOUR)
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.lifetime <= 60


@pytest.mark.parametrize("content, reason", [
    (b"this is not a certificate\n", "holds no PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n", "holds no PEM certificate"),
])
def test_malformed_proxy_is_an_error_naming_profile_and_file(tmp_path, write_auth, content, reason):
    proxy = tmp_path / "bad.pem"
    proxy.write_bytes(content)
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.state == "error" and state.lifetime is None
    assert "profile atlas" in state.error and str(proxy) in state.error and reason in state.error


def test_proxy_without_private_key_is_an_error(tmp_path, user, write_auth):
    proxy = tmp_path / "nokey.pem"
    proxy.write_bytes(user.cert_pem())
    state = manager.check(x509_profile(write_auth, proxy))
    assert state.state == "error" and "no private key" in state.error


def test_missing_and_unreadable_proxy(tmp_path, user, write_auth):
    missing = manager.check(x509_profile(write_auth, tmp_path / "absent.pem"))
    assert missing.state == "error" and "does not exist" in missing.error
    folder = tmp_path / "a-folder.pem"
    folder.mkdir()
    unreadable = manager.check(x509_profile(write_auth, folder))
    assert unreadable.state == "error" and "cannot read proxy file" in unreadable.error


# --- auth.conf ---------------------------------------------------------------------------------
def test_profiles_without_required_keys_are_errors_and_others_carry_on(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, 12 * HOUR)
    auth = profiles.load(write_auth(f"""
        [DEFAULT]
        x509.minlife = 60

        [good]
        plugin = X509
        x509.proxyfile = {proxy}
        x509.renew = False

        [noproxyfile]
        plugin = X509

        [nousercert]
        plugin = X509
        x509.proxyfile = {proxy}
        x509.userkey = /nonexistent/userkey.pem

        [nomyproxyhost]
        plugin = X509
        x509.proxyfile = {proxy}
        x509.flavor = myproxy
        x509.myproxy_username = factory

        [nomyproxysecret]
        plugin = X509
        x509.proxyfile = {proxy}
        x509.flavor = myproxy
        x509.myproxy_hostname = myproxy.example.org
        x509.myproxy_username = factory

        [notoken]
        plugin = Token

        [wrongkind]
        plugin = Kerberos
        """))
    assert list(auth.profiles) == ["good"]
    messages = {name: str(error) for name, error in auth.errors.items()}
    assert "[noproxyfile] x509.proxyfile" in messages["noproxyfile"] and "required" in messages["noproxyfile"]
    assert "[nousercert] x509.usercert" in messages["nousercert"]
    assert "[nomyproxyhost] x509.myproxy_hostname" in messages["nomyproxyhost"]
    assert "myproxy needs one of x509.passphrasefile" in messages["nomyproxysecret"]
    assert "[notoken] token.file" in messages["notoken"]
    assert "[wrongkind] plugin = 'Kerberos'" in messages["wrongkind"] and "X509, Token, SSH" in messages["wrongkind"]
    assert all(str(auth.path) in message for message in messages.values())
    assert manager.check(auth.profiles["good"]).state == "ok"


# --- renewal ---------------------------------------------------------------------------------------
def fake_voms_proxy_info(tmp_path: Path, seconds: int = 4 * 86400, fqan: str = "/atlas/Role=production") -> Path:
    """A stand-in for voms-proxy-info: the VOMS time left (-actimeleft) or the FQANs (-fqan)."""
    script = tmp_path / "fake-voms-proxy-info"
    script.write_text(f"""#!/bin/sh
case "$*" in *-actimeleft*) echo {seconds};; *-fqan*) echo {fqan}/Capability=NULL;; esac
""")
    script.chmod(0o755)
    return script


def test_vorole_without_the_voms_tools_is_an_error(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, dt.timedelta(days=5))

    def vorole_profile(command: str) -> profiles.Profile:
        auth = profiles.load(write_auth(f"[atlas]\nplugin = X509\nx509.proxyfile = {proxy}\nx509.renew = False\n"
                                        f"x509.vorole = atlas:/atlas\nx509.vomsinfo.command = {command}\n"))
        return auth.profiles["atlas"]

    state = manager.check(vorole_profile("/nonexistent/voms-proxy-info"))
    assert state.state == "error"
    assert "x509.vorole is set and /nonexistent/voms-proxy-info is not installed" in state.error
    assert state.record_field()["error"] == state.error
    checked = manager.check(vorole_profile(str(fake_voms_proxy_info(tmp_path))))
    assert checked.state == "ok" and checked.voms_lifetime == 4 * 86400 and checked.error is None


def fake_voms_proxy_init(tmp_path: Path, source_proxy: Path, exit_code: int = 0) -> Path:
    """A stand-in for voms-proxy-init that records argv and stdin, then writes a proxy to -out."""
    script = tmp_path / "fake-voms-proxy-init"
    script.write_text(f"""#!/bin/sh
printf '%s\\n' "$@" > {tmp_path}/argv
cat > {tmp_path}/stdin
out=
while [ $# -gt 0 ]; do [ "$1" = -out ] && out=$2; shift; done
echo "Enter GRID pass phrase: Creating proxy ... Done" >&2
[ {exit_code} -eq 0 ] && cp {source_proxy} "$out"
exit {exit_code}
""")
    script.chmod(0o755)
    return script


def test_voms_renewal_sends_the_passphrase_on_stdin_only(tmp_path, user, write_auth, caplog):
    fresh = proxy_file(tmp_path, user, 96 * HOUR, name="fresh.pem")
    target = proxy_file(tmp_path, user, dt.timedelta(minutes=5), name="x509up")
    secret = "correct horse battery staple"
    (tmp_path / "pass").write_text(secret + "\n")
    auth = profiles.load(write_auth(f"""
        [atlas]
        plugin = X509
        x509.proxyfile = {target}
        x509.usercert = {tmp_path}/usercert.pem
        x509.userkey = {tmp_path}/userkey.pem
        x509.passphrasefile = {tmp_path}/pass
        x509.vorole = atlas:/atlas/Role=production
        x509.vomsinfo.command = {fake_voms_proxy_info(tmp_path)}
        x509.lifetime = 345600
        x509.minlife = 3600
        x509.voms.command = {fake_voms_proxy_init(tmp_path, fresh)}
        x509.voms.args = -rfc -bits 2048
        """))
    caplog.set_level(logging.DEBUG)
    state = manager.renew(auth.profiles["atlas"])
    assert state.renewed and state.state == "ok" and state.lifetime > 95 * 3600
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[:1] == ["-ignorewarn"] and "-pwstdin" in argv
    assert argv[argv.index("-valid") + 1] == "96:00" and argv[argv.index("-voms") + 1] == "atlas:/atlas/Role=production"
    assert argv[argv.index("-out") + 1] == str(target) and argv[-3:] == ["-rfc", "-bits", "2048"]
    assert secret not in " ".join(argv)
    assert (tmp_path / "stdin").read_text() == secret + "\n"
    assert secret not in caplog.text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_renewal_not_needed_runs_nothing(tmp_path, user, write_auth):
    fresh = proxy_file(tmp_path, user, 96 * HOUR)
    auth = profiles.load(write_auth(f"""
        [atlas]
        plugin = X509
        x509.proxyfile = {fresh}
        x509.usercert = {tmp_path}/usercert.pem
        x509.userkey = {tmp_path}/userkey.pem
        x509.minlife = 3600
        x509.voms.command = {fake_voms_proxy_init(tmp_path, fresh)}
        """))
    state = manager.renew(auth.profiles["atlas"])
    assert state.state == "ok" and not state.renewed and not (tmp_path / "argv").exists()


def test_failing_renewal_names_profile_and_keeps_the_secret_out(tmp_path, user, write_auth):
    target = proxy_file(tmp_path, user, -HOUR)
    secret = "s3cret-passphrase"
    auth = profiles.load(write_auth(f"""
        [atlas]
        plugin = X509
        x509.flavor = voms
        x509.proxyfile = {target}
        x509.usercert = {tmp_path}/usercert.pem
        x509.userkey = {tmp_path}/userkey.pem
        x509.myproxy_passphrase = {secret}
        x509.voms.command = {fake_voms_proxy_init(tmp_path, target, exit_code=3)}
        """))
    state = manager.renew(auth.profiles["atlas"])
    assert state.state == "error" and not state.renewed
    assert "profile atlas: renewal failed: fake-voms-proxy-init failed with exit code 3" in state.error
    assert secret not in state.error


def test_hanging_renewal_is_killed_after_its_time_limit(tmp_path, user, write_auth):
    target = proxy_file(tmp_path, user, -HOUR)
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 600 &\nwait\n")
    hang.chmod(0o755)
    auth = profiles.load(write_auth(f"""
        [atlas]
        plugin = X509
        x509.proxyfile = {target}
        x509.baseproxy = {target}
        x509.timeout = 1
        x509.voms.command = {hang}
        """))
    state = manager.renew(auth.profiles["atlas"])
    assert state.state == "error" and "did not finish within 1 s (killed)" in state.error


def test_myproxy_command_line_has_no_passphrase(tmp_path, write_auth):
    (tmp_path / "pass").write_text("myproxy-secret\n")
    auth = profiles.load(write_auth(f"""
        [mp]
        plugin = X509
        x509.flavor = myproxy
        x509.proxyfile = {tmp_path}/x509up
        x509.vorole = atlas
        x509.myproxy_hostname = myproxy.example.org
        x509.myproxy_username = factory
        x509.passphrasefile = {tmp_path}/pass
        x509.lifetime = 86400
        """))
    argv, secret = x509.renewal_command(auth.profiles["mp"])
    assert argv == ["myproxy-get-delegation", "--voms", "atlas", "--username", "factory",
                    "--pshost", "myproxy.example.org", "--stdin_pass", "--proxy_lifetime", "24",
                    "--out", f"{tmp_path}/x509up"]
    assert secret == "myproxy-secret"


def test_run_masks_a_secret_echoed_by_the_tool():
    result = run(["sh", "-c", "read line; echo \"got $line\" >&2; exit 1"], timeout=10, secret="hunter2", check=False)
    assert result.stderr.strip() == f"got {MASK}"


VOMS_INIT = shutil.which("voms-proxy-init3") or shutil.which("voms-proxy-init")


@pytest.mark.skipif(VOMS_INIT is None, reason="voms-proxy-init (Debian voms-clients) is not installed")
def test_real_voms_proxy_init_makes_a_proxy_from_an_encrypted_key(tmp_path, ca, user, write_auth, monkeypatch):
    certdir = pki.write_certdir(ca, tmp_path / "certificates")
    monkeypatch.setenv("X509_CERT_DIR", str(certdir))
    (tmp_path / "usercert.pem").write_bytes(user.cert_pem())
    key = tmp_path / "userkey.pem"
    key.write_bytes(user.key_pem("grid pass phrase"))
    key.chmod(0o400)
    (tmp_path / "pass").write_text("grid pass phrase\n")
    target = tmp_path / "x509up"
    auth = profiles.load(write_auth(f"""
        [plain]
        plugin = X509
        x509.proxyfile = {target}
        x509.usercert = {tmp_path}/usercert.pem
        x509.userkey = {key}
        x509.passphrasefile = {tmp_path}/pass
        x509.lifetime = 86400
        x509.minlife = 3600
        x509.timeout = 60
        x509.voms.command = {VOMS_INIT}
        x509.voms.args = -certdir {certdir}
        """))
    state = manager.renew(auth.profiles["plain"])
    if state.error and "verification failed" in state.error:
        pytest.skip(f"this voms-proxy-init cannot verify a proxy of a test CA: {state.error}")
    assert state.error is None and state.renewed and state.state == "ok", state.error
    assert 23 * 3600 < state.lifetime <= 24 * 3600
    assert "CN=Pilot Factory" in state.subject

    (tmp_path / "pass").write_text("wrong pass phrase\n")
    os.utime(target, (time.time() - 10, time.time() - 10))
    failed = manager.renew(auth.profiles["plain"], force=True)
    assert failed.state == "error" and "profile plain: renewal failed" in failed.error
    assert "wrong pass phrase" not in failed.error


VOMS_INFO = shutil.which("voms-proxy-info")


@pytest.mark.skipif(VOMS_INFO is None, reason="voms-proxy-info (Debian voms-clients) is not installed")
def test_profile_with_vorole_needs_voms_attributes(tmp_path, user, write_auth):
    proxy = proxy_file(tmp_path, user, 12 * HOUR)
    state = manager.check(x509_profile(write_auth, proxy, extra="x509.vorole = atlas:/atlas"))
    assert state.state == "error" and "has no VOMS attributes" in state.error
