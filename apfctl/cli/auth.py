"""``apfctl auth check`` and ``apfctl auth renew``: the credential profiles of auth.conf."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from apfctl.cli.common import config_options, load_config
from apfctl.errors import ApfctlError


def _auth(config_path: str | None, state_dir: str | None, debug: bool, verbose: int, auth_conf: str | None):
    """(auth.conf, CE audiences per obtaining profile, state folder) for the command."""
    from apfctl.auth import profiles
    from apfctl.auth.queues import load_auth, queue_targets
    from apfctl.cli.common import _setup_logging

    if auth_conf:
        _setup_logging(debug, verbose)
        return profiles.load(auth_conf), {}, None
    loaded = load_config(config_path, state_dir, debug, verbose)
    auth = load_auth(loaded.factory)
    if auth.path is None:
        raise ApfctlError(f"{loaded.source}: [Factory] authConf is not set, so there are no credential profiles")
    return auth, queue_targets(loaded), loaded.context.state_dir


def _selected(auth, names: Iterable[str]) -> list[str]:
    wanted = list(names) or auth.names
    unknown = [name for name in wanted if name not in auth.profiles and name not in auth.errors]
    if unknown:
        raise ApfctlError(f"{auth.path}: no profile {', '.join(unknown)} (profiles: {', '.join(auth.names) or 'none'})")
    return wanted


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d{hours:02d}h" if days else f"{hours}h{rest // 60:02d}m"


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _detail(state) -> str:
    if state.error:
        return state.error
    words = []
    if state.kind == "token":
        words = [f"aud={','.join(state.audience) or '-'}", f"scope={' '.join(state.scopes) or '-'}"]
        if state.groups:
            words.append(f"groups={','.join(state.groups)}")
        if state.issuer:
            words.append(f"iss={state.issuer}")
    elif state.subject:
        words.append(state.subject)
    if state.warning:
        words.append(f"WARNING {state.warning}")
    return " ".join(words)


def _output(states, fmt: str) -> int:
    if fmt == "json":
        for state in states:
            click.echo(json.dumps(state.as_dict(), sort_keys=True))
    else:
        from tabulate import tabulate

        rows = [[s.profile, s.kind or "-", s.ce or "-", s.state + (" (renewed)" if s.renewed else ""),
                 _duration(s.lifetime), _when(s.expires), _when(s.next_refresh),
                 _duration(s.voms_lifetime) if s.kind == "x509" else "-", _duration(s.minlife), s.file or "-",
                 _detail(s)] for s in states]
        click.echo(tabulate(rows, headers=["profile", "kind", "ce", "state", "left", "expires", "next refresh",
                                           "voms", "minlife", "file", "detail"]))
    return 0 if all(state.state == "ok" for state in states) else 1


def _profile_states(auth, targets: dict[str, list[str]], state_dir, names: list[str], renew: bool = False,
                    force: bool = False):
    """One state per profile, and per CE for profiles that obtain a token per CE."""
    from apfctl.auth import manager

    for name in names:
        if name in auth.errors:
            yield manager.state_of_error(name, auth.errors[name])
            continue
        profile = auth.profiles[name]
        for ce in (targets.get(name) or [None]) if profile.obtains else [None]:
            if renew:
                yield manager.renew(profile, force=force, ce=ce, state_dir=state_dir)
            else:
                yield manager.check(profile, ce, state_dir)


auth_conf_option = click.option("--auth-conf", metavar="FILE", type=click.Path(dir_okay=False),
                                help="Read this auth.conf instead of the factory's authConf.")
format_choice = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                             show_default=True, help="json: one JSON object per profile and line.")


@click.group()
def auth() -> None:
    """Credential profiles of auth.conf (X509 proxies, bearer tokens, SSH keys).

    \b
    Example:
      apfctl auth check                          # every profile: state, time left
      apfctl auth renew                          # renew those below their minlife
    """


@auth.command()
@click.argument("profiles", nargs=-1, metavar="[PROFILE]...")
@auth_conf_option
@format_choice
@config_options
def check(profiles: tuple[str, ...], auth_conf: str | None, fmt: str, config_path: str | None,
          state_dir: str | None, debug: bool, verbose: int) -> int:
    """Show each profile's credential: state, time left, VOMS time left, subject or error.

    A token profile with token.issuer has one token per CE: one line per CE its queues
    submit to, with the audience, scopes, groups, issuer, expiry and next refresh.
    States: ok; renew (less than its minlife left); expired; error (unreadable,
    malformed, missing keys, wrong audience or scope, within its refresh window...).
    Exit 0 when every line shown is ok, 1 otherwise, 2 when auth.conf cannot be read.

    \b
    Example:
      apfctl auth check
      apfctl auth check atlas-production --format json | jq .lifetime
    """
    auth_config, targets, folder = _auth(config_path, state_dir, debug, verbose, auth_conf)
    return _output(list(_profile_states(auth_config, targets, folder, _selected(auth_config, profiles))), fmt)


@auth.command()
@click.argument("profile", required=False, metavar="[PROFILE]")
@click.option("--force", is_flag=True, help="Renew even when enough lifetime is left.")
@auth_conf_option
@format_choice
@config_options
def renew(profile: str | None, force: bool, auth_conf: str | None, fmt: str, config_path: str | None,
          state_dir: str | None, debug: bool, verbose: int) -> int:
    """Renew the credential of PROFILE (default: every profile) when it is below its minlife.

    X509: voms-proxy-init (or myproxy-get-delegation with x509.flavor = myproxy), the
    passphrase from x509.passphrasefile sent on stdin, never on the command line; each
    command is killed after x509.timeout seconds. Token: token.renew.command, killed
    after token.timeout; with token.issuer, a new token from the issuer for each CE
    whose token is past half its lifetime (the previous one is kept if the issuer
    fails). A profile that fails is reported and the others carry on.
    Exit 0 when every profile is ok afterwards, 1 otherwise. Run it from cron or the
    systemd timer in contrib/ (see docs/operations.md).

    \b
    Example:
      apfctl auth renew                          # every profile that needs it
      apfctl auth renew atlas-production --force # a new proxy now
    """
    auth_config, targets, folder = _auth(config_path, state_dir, debug, verbose, auth_conf)
    names = _selected(auth_config, [profile] if profile else [])
    return _output(list(_profile_states(auth_config, targets, folder, names, renew=True, force=force)), fmt)
