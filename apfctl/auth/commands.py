"""Running credential commands with a time limit and a secret on stdin, never in argv or logs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("apfctl.auth")

MASK = "********"


class CommandError(Exception):
    """A credential command that could not run, failed, or ran out of time (message is safe to log)."""


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def scrub(text: str, secret: str | None) -> str:
    """``text`` with the secret masked, in case a tool echoes what it was given."""
    if secret:
        text = text.replace(secret, MASK)
    return text


def tail(text: str, lines: int = 3) -> str:
    """The last non-empty lines of a tool's output, on one line."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run(argv: Sequence[str], *, timeout: float, secret: str | None = None,
        env: Mapping[str, str] | None = None, check: bool = True, stdout_is_secret: bool = False) -> Completed:
    """Run ``argv`` (no shell); the secret, if any, goes to its stdin followed by a newline.

    The command runs in its own process group, so that a time-out kills whatever it started
    too. ``CommandError`` when it cannot start, times out, or (with ``check``) exits non-zero.
    ``stdout_is_secret``: the command prints a credential, so its stdout never goes into an
    error message. Only the command's name is logged: its arguments may carry secrets.
    """
    name = os.path.basename(argv[0])
    log.info("running %s", name)
    log.debug("running %s", " ".join(scrub(arg, secret) for arg in argv))
    try:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=dict(env) if env is not None else None, start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    stdin = f"{secret}\n" if secret is not None else ""
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise CommandError(f"{name} did not finish within {timeout:g} s (killed)") from None
    stdout, stderr = scrub(stdout, secret), scrub(stderr, secret)
    if check and process.returncode != 0:
        detail = tail(stderr) or ("" if stdout_is_secret else tail(stdout)) or "no output"
        raise CommandError(f"{name} failed with exit code {process.returncode}: {detail}")
    return Completed(process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()
