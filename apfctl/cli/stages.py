"""The stage commands: status, decide, submit and cycle."""

from __future__ import annotations

import gc
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
from apfctl.errors import RecordError

if TYPE_CHECKING:
    from apfctl.record import Record


def _queue_selection(loaded: Any, queues: tuple[str, ...], all_queues: bool) -> list[str]:
    if queues and all_queues:
        raise click.UsageError("give --queue or --all, not both")
    if all_queues:
        return loaded.enabled_queues()
    if not queues:
        raise click.UsageError("give --queue Q (repeatable) or --all")
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
    A record whose wms or batch status is missing or failed gets 0 pilots.
    The queue's config is looked up by the record's queue name in --config, so recorded
    status can be decided again under another configuration.

    \b
    Example:
      apfctl status -q BNL_ATLAS_1 | apfctl decide | jq .decision.msg
      apfctl history -q BNL_ATLAS_1 --since 2h | apfctl decide --config candidate.conf --explain
    """
    from apfctl.record import any_failed, dumps_line
    from apfctl.stages.decide import Decider

    loaded = load_config(config_path, state_dir, debug, verbose)
    validate(loaded, queues=[])
    as_json = not explain and resolve_output_format(fmt) == "json"
    with _collector_paused():
        records = _read_decidable(loaded, files)   # every line checked before anything is written
        decider = Decider(loaded)
        for record in records:
            decider.decide(record)
        if as_json:
            with reader_may_leave():
                sys.stdout.buffer.write(b"".join(map(dumps_line, records)))
                sys.stdout.buffer.flush()
    if explain:
        from apfctl.explain import render_explain

        click.echo(render_explain(records))
    elif not as_json:
        emit(records, "table")
    return 1 if any_failed(records) else 0


def _read_decidable(loaded: Any, files: tuple[str, ...]) -> list[Record]:
    """Every record of the input, each checked whole and its queue's rules checked (RecordError, ConfigError)."""
    from apfctl.config.validate import Report, check_queue
    from apfctl.record import read_records

    checked: set[str] = set()
    records: list[Record] = []
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
            records.append(record)
    return records


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while decide holds its input: records have no cycles, and the
    collector rescanning 100,000 of them over and over would cost more than deciding them."""
    gc.disable()
    try:
        yield
    finally:
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
            results = [submitter.submit(record) for record in records]
            ledger.store(results)
        publish(loaded, results)
    emit(results, fmt)
    return 1 if any_failed(results) else 0


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
    failed_queue = any_failed(result.records)
    return 1 if report.bad_queues or loaded.failed_sources or failed_queue or result.ledger_error else 0
