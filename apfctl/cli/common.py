"""What every command shares: options, loading the config, reading and writing records, errors."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from apfctl.errors import ApfctlError

if TYPE_CHECKING:
    from apfctl.config.loader import Loaded
    from apfctl.config.validate import Report
    from apfctl.ledger import Ledger

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("apfctl")


def _setup_logging(debug: bool, verbose: int) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="apfctl: %(levelname)s: %(message)s", force=True)


def config_options(func: F) -> F:
    """--config, --state-dir, --debug and -v for a command."""
    func = click.option("-v", "--verbose", count=True, help="Say more on stderr.")(func)
    func = click.option("--debug", is_flag=True, envvar="APFCTL_DEBUG",
                        help="Show debug logs, and a traceback for errors.")(func)
    func = click.option("--state-dir", type=click.Path(file_okay=False), envvar="APFCTL_STATE_DIR",
                        help="Ledger, locks and local pilots [$APFCTL_STATE_DIR, ~/.local/state/apfctl].")(func)
    func = click.option("--config", "config_path", metavar="FILE", envvar="APFCTL_CONFIG",
                        help="Factory config (INI with [Factory]) [$APFCTL_CONFIG, ~/.config/apfctl/apfctl.conf, "
                             "/etc/apfctl/apfctl.conf, else the embedded demo; 'embedded:demo' asks for it].")(func)
    return func


def format_option(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["auto", "json", "table"]), default="auto",
                        show_default=True,
                        help="json: JSON Lines; table: for people; auto: table on a terminal, else json.")(func)


def load_config(config_path: str | None, state_dir: str | None, debug: bool, verbose: int) -> Loaded:
    """Set up logging and load the configuration (ConfigError, exit 2, on a broken file)."""
    from apfctl.config.loader import load

    _setup_logging(debug, verbose)
    return load(config_path, state_dir)


def validate(loaded: Loaded, queues: Iterable[str] | None = None, strict: bool = True) -> Report:
    """Validate the factory section and ``queues`` (default: every enabled queue).

    With ``strict`` the first error is raised (exit 2, nothing done); otherwise errors are
    logged and the report's ``bad_queues`` are for the caller to skip.
    """
    from apfctl.config.validate import check

    names = list(queues) if queues is not None else None
    for name in names or ():
        loaded.queue(name)
    report = check(loaded, names)
    for warning in report.warnings:
        log.warning("%s", warning)
    for failure in loaded.failed_sources:
        log.error("queue source failed, its queues are missing: %s", failure)
    if report.errors and strict:
        for error in report.errors[1:]:
            log.error("%s", error)
        raise report.errors[0]
    for error in report.errors:
        log.error("%s (queue skipped)", error)
    return report


def existing_ledger(loaded: Loaded) -> Ledger | None:
    """The factory's ledger, or None (said on stderr) when no cycle has stored anything yet."""
    from apfctl.ledger import Ledger

    ledger = Ledger.for_factory(loaded, create=False)
    if ledger.empty:
        click.echo(f"apfctl: no ledger yet in {loaded.context.state_dir} (no cycle has run)", err=True)
        return None
    return ledger


def resolve_output_format(fmt: str, stream: IO[str] | None = None) -> str:
    if fmt != "auto":
        return fmt
    return "table" if (stream or sys.stdout).isatty() else "json"


def emit(records: Iterable[dict[str, Any]], fmt: str) -> None:
    """Records to stdout: JSON Lines, or a table for people."""
    from apfctl.record import write_record

    with reader_may_leave():
        if resolve_output_format(fmt) == "json":
            out = sys.stdout
            for record in records:
                write_record(out, record)
            out.flush()
            return
        from apfctl.cli.render import records_table

        click.echo(records_table(list(records)))


def input_streams(files: tuple[str, ...]) -> Iterator[tuple[IO[bytes], str]]:
    """(binary stream, name) for each file argument, or stdin when there are none ('-' is stdin too)."""
    if not files:
        if sys.stdin.isatty():
            click.echo("apfctl: reading records from the terminal (JSON Lines; Ctrl-D to end). "
                       "Pipe them in, e.g. apfctl status --all | apfctl decide", err=True)
        yield sys.stdin.buffer, "<stdin>"
        return
    for name in files:
        if name == "-":
            yield sys.stdin.buffer, "<stdin>"
            continue
        try:
            with open(name, "rb") as stream:
                yield stream, name
        except OSError as exc:
            raise ApfctlError(f"{name}: cannot read: {exc.strerror}") from None


def run_cli(group: click.Group) -> int:
    """Run the click group; expected errors become one line on stderr and an exit code."""
    debug = "--debug" in sys.argv or bool(os.environ.get("APFCTL_DEBUG"))
    try:
        result = group.main(prog_name="apfctl", complete_var="_APFCTL_COMPLETE", standalone_mode=False)
    except ApfctlError as exc:
        if debug:
            raise
        click.echo(f"apfctl: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("apfctl: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if debug or exc.errno not in _FULL:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        click.echo(f"apfctl: error: no space left on the file system{where}: {exc.strerror}; "
                   "free some (state folder, logs) and run again", err=True)
        return 1
    except ReaderLeft:
        return 0
    return result if isinstance(result, int) else 0


_FULL = (errno.ENOSPC, errno.EDQUOT)   # a full disk or quota: said plainly, not as a traceback


class ReaderLeft(Exception):
    """The reader of our stdout went away (``| head``): not an error of ours."""


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """Around writes to stdout: a closed pipe ends the command quietly with exit 0.

    Caught here, where the writing happens, because click turns a broken pipe that
    reaches it into exit 1, which a ``set -o pipefail`` script would take for a failed queue.
    """
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())   # so that the interpreter's final flush is quiet too
        raise ReaderLeft from None
