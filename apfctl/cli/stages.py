"""The stage commands: status, decide, submit and cycle."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from apfctl.cli.common import (
    config_options,
    emit,
    format_option,
    input_streams,
    load_config,
    reader_may_leave,
    resolve_output_format,
    validate,
)
from apfctl.cli.failures import report_failures, say_no_queues
from apfctl.errors import RecordError

log = logging.getLogger("apfctl")

if TYPE_CHECKING:
    from apfctl.config.loader import Loaded
    from apfctl.record import Record


def _queue_selection(loaded: Loaded, queues: tuple[str, ...], all_queues: bool) -> list[str]:
    if queues and all_queues:
        raise click.UsageError("give --queue or --all, not both")
    if all_queues:
        return loaded.enabled_queues()
    if not queues:
        raise click.UsageError("give --queue Q (repeatable) or --all")
    enabled = set(loaded.enabled_queues())
    for name in dict.fromkeys(queues):
        if name in loaded.queues and name not in enabled:
            log.warning("queue %s is not enabled (enabled = False, or [Factory] enablequeues = False); "
                        "worked on because --queue names it", name)
    return list(dict.fromkeys(queues))


queue_option = click.option("--queue", "-q", "queues", multiple=True, metavar="Q",
                            help="A queue (section) to work on; repeatable.")
all_option = click.option("--all", "all_queues", is_flag=True, help="Every enabled queue.")


@click.command()
@queue_option
@all_option
@format_option
@config_options
def status(queues: tuple[str, ...], all_queues: bool, fmt: str, config_path: str | None, state_dir: str | None,
           debug: bool, verbose: int) -> int:
    """Read WMS and batch status; write one record per queue.

    One query per status endpoint serves every queue that shares it.

    \b
    Example:
      apfctl status --queue BNL_ATLAS_1 | jq .batch
      apfctl status --all > status.jsonl
    """
    from apfctl.stages.status import collect

    loaded = load_config(config_path, state_dir, debug, verbose)
    selected = _queue_selection(loaded, queues, all_queues)
    report = validate(loaded, selected, strict=not all_queues)
    good = [q for q in selected if q not in report.bad_queues]
    from apfctl.record import any_failed

    records = collect(loaded, good)
    emit(records, fmt)
    if not good:
        say_no_queues(selected, all_queues, report.bad_queues, ())
    report_failures(records, ("status",))
    failed = report.bad_queues or loaded.failed_sources
    return 1 if failed or any_failed(records) else 0


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--explain", is_flag=True, help="Show each queue's chain as a readable table instead of JSON.")
@format_option
@config_options
def decide(files: tuple[str, ...], explain: bool, fmt: str, config_path: str | None, state_dir: str | None,
           debug: bool, verbose: int) -> int:
    """Run each queue's decision chain on status records (stdin or FILES).

    Adds `decision`: the number of pilots (negative: retire), APF's message and a trace.
    A record whose wms or batch status is missing or failed gets 0 pilots (exit 1).
    Every input line is read and checked whole before anything is written: one bad
    line is exit 2, with its line, field and value, and no output at all.
    The queue's config is looked up by the record's queue name in --config, so recorded
    status can be decided again under another configuration.

    \b
    Example:
      apfctl status -q BNL_ATLAS_1 | apfctl decide | jq .decision.msg
      apfctl history -q BNL_ATLAS_1 --since 2h | apfctl decide --config candidate.conf --explain
    """
    from apfctl.record import dumps_line, failure
    from apfctl.stages.decide import Decider

    if explain and fmt == "json":
        raise click.UsageError("--explain writes a table for people; leave it out for JSON Lines")
    loaded = load_config(config_path, state_dir, debug, verbose)
    validate(loaded, queues=[])
    as_json = not explain and resolve_output_format(fmt) == "json"
    decider = Decider(loaded)
    lines: list[bytes] = []     # the output, held until every input line has passed its check
    kept: list[Record] = []
    failing: list[Record] = []
    with _collector_paused():
        # Each record is decided and encoded while it is fresh in the cache; nothing is written
        # before the last line is checked, so a bad line anywhere means no output at all.
        for record in _decidable(loaded, files):
            decider.decide(record)
            if failure(record) is not None:
                failing.append(record)
            if as_json:
                lines.append(dumps_line(record))
            else:
                kept.append(record)
        if as_json:
            with reader_may_leave():
                sys.stdout.buffer.writelines(lines)
                sys.stdout.buffer.flush()
    if explain:
        from apfctl.stages.explain import render_explain

        click.echo(render_explain(kept))
    elif not as_json:
        emit(kept, "table")
    if failing:   # the stderr lines are looked for only when some queue failed
        report_failures(failing)
        return 1
    return 0


def _decidable(loaded: Any, files: tuple[str, ...]) -> Iterator[Record]:
    """Each record of the input, checked whole and its queue's rules checked (RecordError, ConfigError)."""
    from apfctl.config.validate import Report, check_queue
    from apfctl.record import read_records

    checked: set[str] = set()
    for stream, source in input_streams(files):
        for number, record in read_records(stream, source):
            name = record["queue"]
            if name not in checked:
                if name not in loaded.queues:
                    raise RecordError(f"queue {name!r} is not in the configuration ({loaded.source})",
                                      source=source, line=number, field="queue")
                report = Report()
                check_queue(loaded.queues[name], loaded, report, kinds=("sched",))
                if report.errors:
                    raise report.errors[0]
                checked.add(name)
            yield record


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while decide works: records have no cycles, and the collector
    rescanning 100,000 of them over and over would cost more than deciding them. What is left is
    frozen before it runs again, so that its first collection does not scan it either."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Show what would be submitted (the batch description); change nothing.")
@format_option
@config_options
def submit(files: tuple[str, ...], dry_run: bool, fmt: str, config_path: str | None, state_dir: str | None,
           debug: bool, verbose: int) -> int:
    """Submit (or retire) the pilots each decided record asks for (stdin or FILES).

    Every input line is read and checked before anything is submitted. Submitting the
    same record again submits nothing: each pilot carries the record's cycle id, and the
    ledger remembers the cycle. A queue that another apfctl is working on is skipped.

    \b
    Example:
      apfctl status -q BNL_ATLAS_1 | apfctl decide | apfctl submit
      apfctl decide status.jsonl | apfctl submit --dry-run --format table
    """
    from apfctl.ledger import Ledger
    from apfctl.record import any_failed, read_records
    from apfctl.stages.publish import publish
    from apfctl.stages.submit import Submitter

    records: list[dict[str, Any]] = []
    for stream, source in input_streams(files):
        records.extend(record for _, record in read_records(stream, source, require=("decision",)))
    loaded = load_config(config_path, state_dir, debug, verbose)
    validate(loaded, sorted({r["queue"] for r in records}))   # an unknown queue: exit 2, nothing submitted
    if dry_run:
        submitter = Submitter(loaded, None, dry_run=True)
        results = [submitter.submit(record) for record in records]
    else:
        with Ledger.for_factory(loaded) as ledger:
            submitter = Submitter(loaded, ledger)
            results = []
            for record in records:   # each stored once submitted: a killed submit loses none of them
                results.append(submitter.submit(record))
                ledger.store(results[-1:])
        publish(loaded, results)
    emit(results, fmt)
    if any_failed(results):
        report_failures(results)
        return 1
    return 0


@click.command()
@queue_option
@all_option
@click.option("--dry-run", is_flag=True, help="Query status and decide, but submit nothing (show what would be).")
@format_option
@config_options
def cycle(queues: tuple[str, ...], all_queues: bool, dry_run: bool, fmt: str, config_path: str | None,
          state_dir: str | None, debug: bool, verbose: int) -> int:
    """status, decide and submit in one process: what cron runs.

    Queues that another apfctl is cycling are skipped and said so. With --all, a queue
    whose configuration is broken is skipped with an error and the others carry on.
    Records are stored in the ledger and published to the queues' monitors.

    \b
    Example (crontab, every 6 minutes):
      */6 * * * *  apfctl cycle --all --config /etc/apfctl/apfctl.conf >>/var/log/apfctl/cycle.jsonl
    """
    from apfctl.record import any_failed
    from apfctl.stages.cycle import run_cycle

    loaded = load_config(config_path, state_dir, debug, verbose)
    selected = _queue_selection(loaded, queues, all_queues)
    report = validate(loaded, selected, strict=not all_queues)
    result = run_cycle(loaded, [q for q in selected if q not in report.bad_queues], dry_run=dry_run)
    emit(result.records, fmt)
    if not result.records:
        say_no_queues(selected, all_queues, report.bad_queues, result.skipped)
    report_failures(result.records)
    failed_queue = any_failed(result.records)
    return 1 if report.bad_queues or loaded.failed_sources or failed_queue or result.ledger_error else 0
