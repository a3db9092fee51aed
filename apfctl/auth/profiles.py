"""auth.conf: credential profiles with APF's keys (inventory §2.7, §3.4).

Each section is a profile named by queues (``batchsubmit.<plugin>.proxy = <profile>``);
``plugin`` selects its kind: ``X509`` (a proxy file, renewed with voms-proxy-init or
myproxy-get-delegation), ``Token`` or ``SSH`` (key files, which do not expire). A token
profile either names a file (renewed by a configured command, or by someone else) or an
issuer it obtains tokens from itself, one per CE (``token.issuer``, see
:mod:`apfctl.auth.broker`). Keys apfctl adds to APF's are marked "new".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apfctl.config.ini import DEFAULT_SECTION, merge_layers, parse_file
from apfctl.config.keys import Key, match_key
from apfctl.config.model import Section
from apfctl.errors import ConfigError

COMMON_KEYS: dict[str, Key] = {
    "plugin": Key("str", None, required=True, choices=("X509", "Token", "SSH"), doc="the kind of credential"),
    "authbasedir": Key("path", None, doc="APF: a folder for derived files (read, unused)"),
}

X509_KEYS: dict[str, Key] = {
    "x509.proxyfile": Key("path", None, required=True, doc="the proxy file queues submit with"),
    "x509.flavor": Key("str", "voms", choices=("voms", "myproxy"), doc="how the proxy is renewed"),
    "x509.renew": Key("bool", True, doc="renew the proxy when below x509.minlife"),
    "x509.vorole": Key("str", None, doc="VO and role, e.g. atlas:/atlas/Role=production (none: plain proxy)"),
    "x509.lifetime": Key("int", 604800, minimum=3600, doc="lifetime of a renewed proxy, seconds"),
    "x509.minlife": Key("int", 259200, minimum=0, doc="renew when less than this is left, seconds"),
    "x509.checktime": Key("int", 3600, minimum=1, doc="APF: seconds between checks (the timer's interval)"),
    "x509.baseproxy": Key("path", None, doc="voms: a long proxy to derive from (else usercert/userkey)"),
    "x509.usercert": Key("path", None, doc="voms: the user certificate"),
    "x509.userkey": Key("path", None, doc="voms: the user key"),
    "x509.passphrasefile": Key("path", None, doc="new: a file holding the key or MyProxy passphrase"),
    "x509.voms.command": Key("command", "voms-proxy-init", doc="new: the voms-proxy-init to run"),
    "x509.voms.args": Key("str", None, doc="extra arguments for voms-proxy-init"),
    "x509.vomsinfo.command": Key("command", "voms-proxy-info", doc="new: the voms-proxy-info to run"),
    "x509.myproxy.command": Key("command", "myproxy-get-delegation", doc="new: the myproxy client to run"),
    "x509.myproxy.args": Key("str", None, doc="new: extra arguments for myproxy-get-delegation"),
    "x509.myproxy_hostname": Key("str", None, doc="myproxy: the server"),
    "x509.myproxy_username": Key("str", None, doc="myproxy: the account"),
    "x509.myproxy_passphrase": Key("str", None, doc="myproxy: the passphrase (prefer x509.passphrasefile)"),
    "x509.retriever_list": Key("str", None, doc="myproxy: retrieval without passphrase when set"),
    "x509.owner": Key("str", None, doc="chown the renewed proxy to this user (and its group)"),
    "x509.timeout": Key("int", 120, minimum=1, doc="new: time limit of one renewal command, seconds"),
    # APF keys read but unused there too
    "x509.initdelay": Key("int", 0), "x509.interruptcheck": Key("int", 1),
    "x509.remote_*": Key("str", None),
}

TOKEN_KEYS: dict[str, Key] = {
    "token.file": Key("path", None, doc="the bearer token file (a JWT); not with token.issuer"),
    "token.minlife": Key("int", 3600, minimum=0,
                         doc="renew when less than this is left, seconds (token.file profiles)"),
    "token.audience": Key("str", None, doc="the audience the token must carry (token.file profiles)"),
    "token.scope": Key("list", None, doc="scopes the token must carry (and that token.issuer is asked for)"),
    "token.issuer": Key("str", None, doc="new: obtain tokens from this OIDC issuer (https URL), one per CE"),
    "token.client_id": Key("str", None, doc="new: the OAuth2 client id at token.issuer"),
    "token.client_secret_file": Key("path", None, doc="new: a file (mode 0600) holding the client secret"),
    "token.groups": Key("list", None, doc="new: wlcg.groups to ask for and require, e.g. /atlas"),
    "token.cafile": Key("path", None, doc="new: CA bundle to verify token.issuer with (default: the system's)"),
    "token.owner": Key("str", None, doc="new: chown obtained tokens (and their folder) to this user, "
                                        "for a gridmanager running as another user"),
    "token.refresh.interval": Key("int", 600, minimum=1,
                                  doc="new: seconds between refreshes (the cycle or renew timer interval)"),
    "token.margin": Key("int", 300, minimum=0,
                        doc="new: a token must outlive the refresh interval by this much, seconds"),
    "token.renew.command": Key("str", None, doc="a command line that renews the token"),
    "token.renew.output": Key("str", "file", choices=("file", "stdout"),
                              doc="file: the command writes token.file; stdout: it prints the token"),
    "token.timeout": Key("int", 60, minimum=1, doc="time limit of the renewal command, seconds"),
}

SSH_KEYS: dict[str, Key] = {
    "ssh.privatekeyfile": Key("path", None, required=True, doc="the private key file"),
    "ssh.publickeyfile": Key("path", None), "ssh.privkeypassfile": Key("path", None),
    "ssh.type": Key("str", None), "ssh.privatekey": Key("str", None), "ssh.publickey": Key("str", None),
    "ssh.privkeypass": Key("str", None),
}

KIND_KEYS = {"x509": X509_KEYS, "token": TOKEN_KEYS, "ssh": SSH_KEYS}


@dataclass
class Profile:
    """One auth.conf section with its kind; ``setting`` reads its keys typed."""

    name: str
    kind: str
    section: Section

    @property
    def obtains(self) -> bool:
        """True for a token profile that obtains its tokens from ``token.issuer`` (one per CE)."""
        return self.kind == "token" and bool(self.section.get("token.issuer"))

    def setting(self, key: str) -> Any:
        spec = match_key(KIND_KEYS[self.kind], key) or COMMON_KEYS[key]
        return self.section.typed(key, spec)

    def files(self) -> list[str]:
        """Every file the profile names (proxy, keys, passphrase, token): never to be served."""
        named = [self.setting(key) for key, spec in KIND_KEYS[self.kind].items()
                 if spec.type == "path" and key in self.section]
        return [file for file in named if file]


def profile_from_section(section: Section) -> Profile:
    """The profile of one section; ConfigError naming the profile and key when it is unusable."""
    plugin = section.typed("plugin", COMMON_KEYS["plugin"])
    kind = plugin.lower()
    profile = Profile(section.name, kind, section)
    for key, spec in KIND_KEYS[kind].items():
        if not key.endswith("*"):
            section.typed(key, spec)
    if kind == "x509":
        _check_x509(profile)
    elif kind == "token":
        _check_token(profile)
    return profile


SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")     # RFC 6749 §3.3
ISSUER_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
LOCAL_ISSUER_URL = re.compile(r"^http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
OBTAINING_KEYS = ("token.issuer", "token.client_id", "token.client_secret_file")


def _check_token(profile: Profile) -> None:
    section = profile.section
    for key in ("token.scope", "token.groups"):
        for word in profile.setting(key) or []:
            if not SCOPE_TOKEN.match(word) or (key == "token.groups" and not word.startswith("/")):
                what = "a group (/vo[/subgroup])" if key == "token.groups" else "a scope (RFC 6749 characters)"
                raise section.error(key, f"{word!r} is not {what}", section.get(key))
    if not any(key in section for key in OBTAINING_KEYS):
        if not profile.setting("token.file"):
            raise section.error("token.file", "required key is missing (a path), or set token.issuer")
        return
    for key in OBTAINING_KEYS:
        if not profile.setting(key):
            raise section.error(key, "required key is missing (token profiles that obtain tokens "
                                     f"need {', '.join(OBTAINING_KEYS)})")
    issuer = profile.setting("token.issuer")
    if not (ISSUER_URL.match(issuer) or LOCAL_ISSUER_URL.match(issuer)):
        raise section.error("token.issuer", "not an https URL of an issuer", issuer)
    for key in ("token.file", "token.renew.command", "token.audience"):
        if key in section:
            raise section.error(key, "not used with token.issuer: the broker keeps one token per CE, "
                                     "with the CE's audience, in the state folder", section.get(key))
    from apfctl.auth.files import too_open

    problem = too_open(Path(profile.setting("token.client_secret_file")))
    if problem is not None:
        raise section.error("token.client_secret_file", problem, section.get("token.client_secret_file"))


def _check_x509(profile: Profile) -> None:
    section = profile.section
    if not profile.setting("x509.renew"):
        return
    if profile.setting("x509.flavor").lower() == "myproxy":
        for key in ("x509.myproxy_hostname", "x509.myproxy_username"):
            if not profile.setting(key):
                raise section.error(key, "required for x509.flavor = myproxy")
        secrets = ("x509.passphrasefile", "x509.myproxy_passphrase", "x509.retriever_list")
        if not any(profile.setting(key) for key in secrets):
            # myproxy-get-delegation would prompt for a passphrase that nobody types
            raise section.error("x509.flavor", f"myproxy needs one of {', '.join(secrets)}", "myproxy")
    elif not profile.setting("x509.baseproxy"):
        for key in ("x509.usercert", "x509.userkey"):
            if not profile.setting(key):
                raise section.error(key, "required for voms renewal without x509.baseproxy "
                                         "(or set x509.renew = False)")


@dataclass
class AuthConfig:
    """Every profile of an auth.conf, and the errors of those that cannot be used."""

    path: Path | None
    profiles: dict[str, Profile]
    errors: dict[str, ConfigError]

    @property
    def names(self) -> list[str]:
        return sorted({*self.profiles, *self.errors})


def load(path: str | Path | None) -> AuthConfig:
    """Read auth.conf; a broken profile is kept as an error so that the others carry on.

    A missing or unparsable file raises ConfigError (nothing in it can be trusted).
    """
    if path is None:
        return AuthConfig(None, {}, {})
    file = Path(path)
    sections = merge_layers([parse_file(file)])
    profiles: dict[str, Profile] = {}
    errors: dict[str, ConfigError] = {}
    for name, values in sections.items():
        if name == DEFAULT_SECTION:
            continue
        section = Section(name, values)
        try:
            profiles[name] = profile_from_section(section)
        except ConfigError as exc:
            if exc.file is None:   # a missing key has no line: name the file at least
                exc = ConfigError(exc.message, file=str(file), section=exc.section, key=exc.key, value=exc.value)
            errors[name] = exc
    return AuthConfig(file, profiles, errors)
