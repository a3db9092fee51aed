"""``apfctl replay``: decide the ledger's stored status again under a candidate config."""

from __future__ import annotations

import datetime as _dt
import json
import logging

import click

from apfctl.cli.common import config_options, existing_ledger, load_config
from apfctl.cli.history import SinceType

log = logging.getLogger("apfctl.replay")


@click.command()
@click.option("--queue", "-q", "queues", multiple=True, metavar="Q", help="Only this queue; repeatable.")
@click.option("--since", type=SinceType(), default="24h", show_default=True,
              help="Records stored after this: a duration ago (2h, 30m, 7d) or an ISO time.")
@click.option("--until", type=SinceType(), default=None, help="Records stored before this.")
@click.option("--first", "first", type=click.IntRange(min=0), default=3, show_default=True,
              help="Differing cycles to show per queue, with both traces.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table: for people; json: one JSON object per queue, for scripts.")
@config_options
def replay(queues: tuple[str, ...], since: _dt.datetime, until: _dt.datetime | None, first: int, fmt: str,
           config_path: str | None, state_dir: str | None, debug: bool, verbose: int) -> int:
    """Decide stored status again under --config (a candidate) and compare decisions.

    Reads the records of past cycles from the ledger (in --state-dir), decides each one
    again with the candidate configuration's chains and shows, per queue, how many
    cycles' decisions differ, by how much in total, and the first differing cycles with
    the stored and the candidate trace. Nothing is submitted. --format json writes one
    JSON object per queue.

    \b
    Example:
      apfctl replay --since 24h --queue BNL_ATLAS_1 --config candidate.conf
    """
    from apfctl.config.validate import Report, check_queue
    from apfctl.stages.decide import Decider
    from apfctl.stages.replay import compare, render_replay

    loaded = load_config(config_path, state_dir, debug, verbose)
    ledger = existing_ledger(loaded)
    if ledger is None:
        return 0
    with ledger:
        stored = list(ledger.records(list(queues) or None, since, until))
    names = list(dict.fromkeys(record["queue"] for record in stored))
    missing = [name for name in names if name not in loaded.queues]
    for name in missing:
        log.warning("queue %s is not in the candidate configuration (%s): not replayed", name, loaded.source)
    report = Report()
    for name in names:
        if name not in missing:
            check_queue(loaded.queues[name], loaded, report, kinds=("sched",))  # only the rules decide
    if report.errors:
        raise report.errors[0]
    decider = Decider(loaded)
    results = compare((r for r in stored if r["queue"] not in missing), decider.decide, first=first)
    if fmt == "json":
        for result in results:
            click.echo(json.dumps(result.as_dict(), separators=(",", ":")))
    else:
        click.echo(render_replay(results, loaded.source))
    return 0
