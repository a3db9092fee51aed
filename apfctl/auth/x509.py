"""X509 proxies: remaining lifetime from the PEM, VOMS attributes, and renewal commands."""

from __future__ import annotations

import datetime as _dt
import pwd
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from apfctl.auth import CredentialError
from apfctl.auth.commands import CommandError, run
from apfctl.auth.profiles import Profile
from apfctl.bounded import MAX_CREDENTIAL_BYTES, read_file, read_text


@dataclass
class ProxyInfo:
    subject: str
    not_after: _dt.datetime
    lifetime: float          # seconds left on the shortest-lived certificate of the file


def read_proxy(path: Path, now: _dt.datetime | None = None) -> ProxyInfo:
    """Lifetime and subject of the proxy in ``path`` (certificates plus its private key)."""
    from cryptography import x509

    try:
        data = read_file(path, MAX_CREDENTIAL_BYTES)
    except FileNotFoundError:
        raise CredentialError(f"proxy file {path} does not exist") from None
    except OSError as exc:
        raise CredentialError(f"cannot read proxy file {path}: {exc.strerror or exc}") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CredentialError(f"proxy file {path} holds no PEM certificate") from None
    if b"PRIVATE KEY-----" not in data:
        raise CredentialError(f"proxy file {path} holds no private key")
    now = now or _dt.datetime.now(_dt.UTC)
    first = certificates[0]
    if first.not_valid_before_utc > now:
        raise CredentialError(f"proxy file {path} is not valid before {first.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}")
    not_after = min(certificate.not_valid_after_utc for certificate in certificates)
    return ProxyInfo(first.subject.rfc4514_string(), not_after, (not_after - now).total_seconds())


def voms_lifetime(profile: Profile, path: Path) -> float | None:
    """Seconds left on the proxy's VOMS attributes (voms-proxy-info), for profiles with a vorole.

    None for a plain proxy (no ``x509.vorole``). ``CredentialError`` when the proxy has no
    VOMS attributes, the expected VO is missing from them, or the tool is not installed
    (nothing could check the attributes the CE will check).
    """
    vorole = profile.setting("x509.vorole")
    command = profile.setting("x509.vomsinfo.command")
    if not vorole:
        return None
    if shutil.which(command) is None:
        raise CredentialError(f"x509.vorole is set and {command} is not installed, so the VOMS attributes "
                              "of the proxy cannot be checked (Debian: voms-clients)")
    timeout = profile.setting("x509.timeout")
    try:
        result = run([command, "-dont-verify-ac", "-actimeleft", "-file", str(path)], timeout=timeout, check=False)
    except CommandError as exc:
        raise CredentialError(str(exc)) from None
    text = result.stdout.strip().splitlines()
    if result.returncode != 0 or not text or not text[-1].strip().lstrip("-").isdigit():
        raise CredentialError(f"proxy file {path} has no VOMS attributes (voms-proxy-info -actimeleft)")
    left = float(text[-1].strip())
    try:
        fqans = run([command, "-dont-verify-ac", "-fqan", "-file", str(path)], timeout=timeout, check=False).stdout
    except CommandError as exc:
        raise CredentialError(str(exc)) from None
    wanted = vorole.split(":", 1)[1] if ":" in vorole else f"/{vorole}"
    if not any(line.strip().startswith(wanted) for line in fqans.splitlines()):
        raise CredentialError(f"proxy file {path} does not carry {wanted} in its VOMS attributes")
    return left


def _passphrase(profile: Profile) -> str | None:
    """The passphrase from x509.passphrasefile (preferred) or APF's x509.myproxy_passphrase."""
    file = profile.setting("x509.passphrasefile")
    if file:
        try:
            return read_text(file, MAX_CREDENTIAL_BYTES).rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise CredentialError(f"cannot read x509.passphrasefile {file}: {reason}") from None
    return profile.setting("x509.myproxy_passphrase")


def renewal_command(profile: Profile) -> tuple[list[str], str | None]:
    """(argv, secret for stdin) that renews the profile's proxy; the secret is never in argv."""
    proxyfile = profile.setting("x509.proxyfile")
    hours = max(1, profile.setting("x509.lifetime") // 3600)
    vorole = profile.setting("x509.vorole")
    secret = _passphrase(profile)
    if profile.setting("x509.flavor").lower() == "myproxy":
        argv = [profile.setting("x509.myproxy.command")]
        if vorole:
            argv += ["--voms", vorole]
        argv += ["--username", profile.setting("x509.myproxy_username"),
                 "--pshost", profile.setting("x509.myproxy_hostname")]
        if profile.setting("x509.retriever_list"):
            argv.append("--no_passphrase")
            secret = None
        elif secret is not None:
            argv.append("--stdin_pass")
        argv += ["--proxy_lifetime", str(hours), "--out", proxyfile]
        argv += shlex.split(profile.setting("x509.myproxy.args") or "")
        return argv, secret
    argv = [profile.setting("x509.voms.command"), "-ignorewarn"]
    baseproxy = profile.setting("x509.baseproxy")
    if baseproxy:
        argv += ["-noregen", "-cert", baseproxy, "-key", baseproxy]
        secret = None
    else:
        argv += ["-cert", profile.setting("x509.usercert"), "-key", profile.setting("x509.userkey")]
    if secret is not None:
        argv.append("-pwstdin")
    if vorole:
        argv += ["-voms", vorole]
    argv += ["-valid", f"{hours}:00", "-out", proxyfile]
    argv += shlex.split(profile.setting("x509.voms.args") or "")
    return argv, secret


def renew(profile: Profile) -> None:
    """Make a new proxy for the profile; CredentialError naming the profile on failure."""
    try:
        argv, secret = renewal_command(profile)
        run(argv, timeout=profile.setting("x509.timeout"), secret=secret)
    except CommandError as exc:
        raise CredentialError(f"profile {profile.name}: renewal failed: {exc}") from None
    proxyfile = Path(profile.setting("x509.proxyfile"))
    try:
        proxyfile.chmod(0o600)
        owner = profile.setting("x509.owner")
        if owner:
            shutil.chown(proxyfile, owner, pwd.getpwnam(owner).pw_gid)
    except (OSError, KeyError, LookupError) as exc:
        raise CredentialError(f"profile {profile.name}: cannot set owner or mode of {proxyfile}: {exc}") from None
