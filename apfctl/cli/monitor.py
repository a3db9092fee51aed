"""``apfctl monitor``: every queue in a live table, or once as text, JSON or Prometheus text."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from apfctl.cli.common import config_options, load_config
from apfctl.dashboard.view import SORT_KEYS, View


@click.command()
@click.option("--queue", "-q", "queues", multiple=True, metavar="PATTERN",
              help="Only queues matching this glob pattern (BNL_*); repeatable, or comma-separated.")
@click.option("--sort", "sort_key", type=click.Choice(SORT_KEYS), default="queue", show_default=True,
              help="Order of the rows: queue names A-Z, health worst first, numbers largest first.")
@click.option("--reverse", is_flag=True, help="Reverse the order.")
@click.option("--interval", type=click.FloatRange(min=0.5), default=10.0, show_default=True, metavar="SECONDS",
              help="Seconds between refreshes of the live table.")
@click.option("--live", is_flag=True,
              help="Counts from the batch systems now (one query per backend) instead of the last cycle's.")
@click.option("--wms", is_flag=True,
              help="With --live (required), query the WMS too (the table shows no WMS column; only for a full "
                   "status).")
@click.option("--once", is_flag=True, help="Print the table once and exit (implied when stdout is not a terminal).")
@click.option("--wide", is_flag=True, help="Show the whole last msg instead of shortening it.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "prometheus", "openmetrics"]), default="table",
              show_default=True, help="table for people, json for scripts, prometheus for the classic text format "
                                      "(node_exporter's textfile collector), openmetrics for OpenMetrics text.")
@click.option("--factory", "factories", multiple=True, metavar="CONFIG[=STATE_DIR]",
              help="Monitor this factory (its config file, and its state folder after '='); repeatable, "
                   "for several factories in one table. Replaces --config.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write to FILE atomically instead of stdout (e.g. node_exporter's textfile folder).")
@config_options
def monitor(queues: tuple[str, ...], sort_key: str, reverse: bool, interval: float, live: bool, wms: bool,
            once: bool,
            wide: bool, fmt: str, factories: tuple[str, ...], output: Path | None, config_path: str | None,
            state_dir: str | None, debug: bool, verbose: int) -> int:
    """Show every enabled queue: pilots by state, last cycle's submissions and message, health.

    \b
    Columns (apfmon's, plus held): created (pending), held, running, exiting,
    done 1h, fault 1h, sub (pilots submitted by the last cycle), activity
    (pilots submitted over two hours), age of the last cycle (yellow: stale,
    over two cycle intervals; red: failing), last msg (the decision).
    Queues no longer configured but still in the ledger are dimmed. With
    several --factory, queues are named factory:queue, as apfmon does.

    \b
    Keys of the live table: arrows, j/k, PgUp/PgDn (space), Home/End (g/G)
    scroll; / types a filter (glob or text; Enter keeps it, Esc drops it);
    s sorts by the next key, S reverses; r refreshes; q or Ctrl-C quits.

    \b
    Examples:
      apfctl monitor                                 # live; q or Ctrl-C quits
      apfctl monitor -q 'BNL_*' --sort fault --live
      apfctl monitor --format prometheus -o /var/lib/node_exporter/apfctl.prom
      apfctl monitor --factory /etc/apfctl/a.conf=/var/lib/apfctl/a --factory b.conf=/var/lib/apfctl/b
    """
    from apfctl.dashboard.source import snapshot, totals
    from apfctl.dashboard.view import combine, sort_rows, split_patterns

    if factories:
        loadeds = []
        for spec in factories:
            path, _, folder = spec.partition("=")
            loadeds.append(load_config(path, folder or state_dir, debug, verbose))
    else:
        loadeds = [load_config(config_path, state_dir, debug, verbose)]
    patterns = split_patterns(queues)

    if wms and not live:
        raise click.UsageError("--wms asks the WMS during a --live refresh; add --live (the ledger view has no "
                               "WMS query to add)")

    def fetch() -> View:
        return combine([snapshot(loaded, patterns, live=live, wms=wms) for loaded in loadeds])

    interactive = fmt == "table" and output is None and not once and sys.stdout.isatty()
    if interactive:
        from apfctl.dashboard import live as screen
        from apfctl.dashboard.navigate import Navigator
        from apfctl.dashboard.table import render

        screen.run(fetch, lambda view, width, height, footer, first: render(view, width, wide=wide, footer=footer,
                                                                            height=height, first=first),
                   interval, navigator=Navigator(sort_key=sort_key, reverse=reverse))
        return 0

    view = fetch()
    view.rows = sort_rows(view.rows, sort_key, reverse)
    if patterns and not view.rows:
        click.echo(f"apfctl: no queue matches {', '.join(patterns)}", err=True)
    if fmt == "json":
        from apfctl.dashboard.machine import render_json

        text = render_json(view)
    elif fmt in ("prometheus", "openmetrics"):
        from apfctl.dashboard.machine import render_prometheus

        kept = {loaded.context.factory_id: totals(loaded.context.state_dir, view.now) for loaded in loadeds}
        text = render_prometheus(view, {factory: counts for factory, counts in kept.items() if counts},
                                 openmetrics=fmt == "openmetrics")
    elif output is None and sys.stdout.isatty():
        from rich.console import Console

        from apfctl.dashboard.table import render

        console = Console()
        console.print(render(view, console.width, wide=wide))
        return 0
    else:
        from apfctl.dashboard.plain import render as render_plain

        text = render_plain(view, wide=wide)
    if output is not None:
        from apfctl.dashboard.machine import write_atomically

        write_atomically(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
