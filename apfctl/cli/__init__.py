"""The ``apfctl`` command: a click group whose subcommands are imported only when used.

Each subcommand lives in its own module; ``COMMANDS`` maps its name to ``module:attribute``
so that ``apfctl --help`` and ``apfctl decide`` do not import what other commands need.
"""

from __future__ import annotations

import importlib
import sys

import click

from apfctl import __version__

COMMANDS: dict[str, str] = {
    "status": "apfctl.cli.stages:status",
    "decide": "apfctl.cli.stages:decide",
    "submit": "apfctl.cli.stages:submit",
    "cycle": "apfctl.cli.stages:cycle",
    "history": "apfctl.cli.history:history",
    "replay": "apfctl.cli.replay:replay",
    "clean": "apfctl.cli.clean:clean",
    "config": "apfctl.cli.config_cmd:config",
    "monitor": "apfctl.cli.monitor:monitor",
    "wrapper": "apfctl.cli.wrapper:wrapper",
    "auth": "apfctl.cli.auth:auth",
    "logserver": "apfctl.cli.serve:logserver",
    "serve": "apfctl.cli.serve:serve",
}

SHORT_HELP: dict[str, str] = {
    "status": "Read WMS and batch status of queues; write one record per queue.",
    "decide": "Run each queue's decision chain on status records.",
    "submit": "Submit (or retire) the pilots each record decided.",
    "cycle": "status, decide and submit in one process (what cron runs).",
    "history": "Print stored records from the ledger as JSON Lines.",
    "replay": "Decide stored status again under a candidate config; compare (never submits).",
    "clean": "Release or remove held and stale pilots; remove old pilot log folders.",
    "config": "Check the configuration, or show a queue's effective values.",
    "monitor": "Live table of every queue; or once, as JSON or Prometheus metrics.",
    "wrapper": "Print or install the generic pilot wrapper (POSIX sh).",
    "auth": "Check or renew the credential profiles of auth.conf.",
    "logserver": "Serve baseLogDir (pilot logs) over HTTP.",
    "serve": "Serve the factory's web page, /metrics and the pilot logs over HTTP.",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="apfctl")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, param, value: _debug_everywhere(value),
              help="Debug logs and tracebacks for the command (as its own --debug).")
def cli() -> None:
    """apfctl: a pilot factory as small commands that pipe JSON Lines.

    \b
    apfctl status --queue Q | apfctl decide | apfctl submit   # one stage at a time
    apfctl cycle --all                                        # what cron runs
    apfctl monitor                                            # live tables of every queue

    Configuration: --config FILE, else $APFCTL_CONFIG, else ~/.config/apfctl/apfctl.conf,
    else /etc/apfctl/apfctl.conf, else the embedded demo. State (ledger, locks, local
    pilots): $APFCTL_STATE_DIR, else ~/.local/state/apfctl.

    Exit codes: 0 all queues fine, 1 some queue failed (its record says why),
    2 bad usage, configuration or input (nothing done).
    """


def _debug_everywhere(value: bool) -> None:
    """``apfctl --debug CMD`` means ``apfctl CMD --debug``: every command reads $APFCTL_DEBUG."""
    if value:
        import os

        os.environ["APFCTL_DEBUG"] = "1"


def main() -> None:
    from apfctl.cli.common import run_cli

    sys.exit(run_cli(cli))
