"""``apfctl config check`` and ``apfctl config show``."""

from __future__ import annotations

import json

import click

from apfctl.cli.common import config_options, load_config, validate


@click.group()
def config() -> None:
    """Check the configuration, or show a queue's effective values."""


@config.command()
@click.option("--queue", "-q", "queues", multiple=True, metavar="Q",
              help="Check only these queues (default: every enabled queue).")
@config_options
def check(queues: tuple[str, ...], config_path: str | None, state_dir: str | None, debug: bool, verbose: int) -> int:
    """Validate the factory file and the queues, before anything is queried or submitted.

    Errors (exit 2) name the file, line, section, key and value: a wrong type, an unknown
    plugin, a missing required key, a broken %(key)s interpolation. Unknown keys are
    warnings that name the closest known key.

    \b
    Example:
      apfctl config check --config /etc/apfctl/apfctl.conf
    """
    from apfctl.config.validate import check as run_check

    loaded = load_config(config_path, state_dir, debug, verbose)
    names = list(queues) if queues else loaded.enabled_queues()
    for name in names:
        loaded.queue(name)
    report = run_check(loaded, names)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        click.echo(f"{loaded.source}: {len(report.errors)} error(s) in {len(report.bad_queues) or 'the factory'} "
                   f"section(s)", err=True)
        return 2
    for failure in loaded.failed_sources:
        click.echo(f"error: queue source failed, its queues are missing: {failure}", err=True)
    enabled = set(loaded.enabled_queues())
    disabled = [name for name in names if name not in enabled]
    counted = f"{len(names) - len(disabled)} enabled queue(s)" + (
        f" and {len(disabled)} disabled ({', '.join(disabled)})" if disabled else "")
    click.echo(f"{loaded.source}: OK, {counted} checked, {len(report.warnings)} warning(s)")
    return 1 if loaded.failed_sources else 0


@config.command()
@click.option("--queue", "-q", "queue_name", required=True, metavar="Q", help="The queue to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@config_options
def show(queue_name: str, fmt: str, config_path: str | None, state_dir: str | None, debug: bool,
         verbose: int) -> int:
    """Show a queue's effective values (interpolated) and the file and line each came from.

    \b
    Example:
      apfctl config show --queue BNL_ATLAS_1
    """
    loaded = load_config(config_path, state_dir, debug, verbose)
    queue = loaded.queue(queue_name)
    validate(loaded, [queue_name], strict=False)
    rows = []
    for key in sorted(queue.keys()):
        try:
            value = queue.get(key)
        except Exception as exc:  # show the broken value rather than stop
            value = f"<error: {exc}>"
        rows.append({"key": key, "value": value, "from": str(queue.origin(key))})
    if fmt == "json":
        click.echo(json.dumps({"queue": queue_name, "enabled": queue.enabled, "values": rows}, indent=2))
        return 0
    from tabulate import tabulate

    click.echo(f"[{queue_name}]  enabled={queue.enabled}  config={loaded.source}")
    click.echo(tabulate([[r["key"], r["value"], r["from"]] for r in rows], headers=["key", "value", "from"]))
    return 0
