"""``apfctl history``: stored records as JSON Lines, for reading, diffing and replaying."""

from __future__ import annotations

import datetime as _dt
import re
import sys

import click

from apfctl.cli.common import config_options, existing_ledger, load_config

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: _dt.datetime | None = None) -> _dt.datetime:
    """``2h``, ``30m``, ``7d`` (ago), or an ISO date/time (UTC when no zone is given)."""
    now = now or _dt.datetime.now(_dt.UTC)
    match = _DURATION.match(text.strip())
    if match:
        try:
            return now - _dt.timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2)])
        except OverflowError:   # further back than any date: everything
            return _dt.datetime.min.replace(tzinfo=_dt.UTC)
    try:
        when = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected a duration such as 2h, 30m, 7d, or an ISO date/time") from None
    return when if when.tzinfo else when.replace(tzinfo=_dt.UTC)


class SinceType(click.ParamType):
    name = "WHEN"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> _dt.datetime:
        if isinstance(value, _dt.datetime):
            return value
        return parse_since(str(value))


@click.command()
@click.option("--queue", "-q", "queues", multiple=True, metavar="Q", help="Only this queue; repeatable.")
@click.option("--since", type=SinceType(), default="24h", show_default=True,
              help="Records stored after this: a duration ago (2h, 30m, 7d) or an ISO time.")
@click.option("--until", type=SinceType(), default=None, help="Records stored before this.")
@config_options
def history(queues: tuple[str, ...], since: _dt.datetime, until: _dt.datetime | None, config_path: str | None,
            state_dir: str | None, debug: bool, verbose: int) -> int:
    """Print stored records from the ledger as JSON Lines, oldest first.

    \b
    Example: decide yesterday's status again under a candidate configuration
      apfctl history -q BNL_ATLAS_1 --since 24h | apfctl decide --config candidate.conf
    """
    from apfctl.record import write_record

    ledger = existing_ledger(load_config(config_path, state_dir, debug, verbose))
    if ledger is None:
        return 0
    with ledger:
        for record in ledger.records(list(queues) or None, since, until):
            write_record(sys.stdout, record)
    return 0
