"""``apfctl clean``: the backends' clean-up of held and stale pilots, and old pilot log folders."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from apfctl.cli.common import config_options, load_config, validate
from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.model import QueueConfig
from apfctl.errors import ConfigError

log = logging.getLogger("apfctl.clean")
KEEP_FOREVER = 10**6   # days


@click.command()
@click.option("--queue", "-q", "queues", multiple=True, metavar="Q", help="Only this queue; repeatable "
              "[default: every enabled queue].")
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.option("--pilots/--no-pilots", default=True, show_default=True,
              help="Apply the backends' hold policy and stale-pilot removal.")
@click.option("--logs/--no-logs", default=True, show_default=True,
              help="Remove pilot log folders older than cleanlogs.keepdays.")
@config_options
def clean(queues: tuple[str, ...], dry_run: bool, pilots: bool, logs: bool, config_path: str | None,
          state_dir: str | None, debug: bool, verbose: int) -> int:
    """Release or remove held pilots, remove stale idle pilots, remove old log folders.

    Each action is one JSON line on stdout and, unless --dry-run, an entry in the ledger
    (kind "clean"). Backends without clean-up (the plugin does not implement it) are
    skipped, said once per backend on stderr. Exit 1 when some queue's backend failed; the others are still cleaned.

    \b
    Example (what would go, then do it for one queue):
      apfctl clean --dry-run
      apfctl clean --queue BNL_ATLAS_1 --no-logs
    """
    from apfctl import plugins
    from apfctl.cleanup.logs import clean_logs
    from apfctl.ledger import Ledger
    from apfctl.stages.status import describe_error

    loaded = load_config(config_path, state_dir, debug, verbose)
    names = list(queues) or loaded.enabled_queues()
    report = validate(loaded, names, strict=bool(queues))
    actions: list[dict[str, Any]] = []
    without_clean: dict[str, list[str]] = {}   # backend -> its queues, said once per backend
    failed = bool(report.bad_queues)
    if pilots:
        for name in names:
            if name in report.bad_queues:
                continue
            queue = loaded.queue(name)
            try:
                actions.extend(plugins.batchsubmit_for(queue, loaded.context).clean(dry_run))
            except NotImplementedError:
                without_clean.setdefault(queue.getstr("batchsubmitplugin") or "", []).append(name)
            except Exception as exc:  # one queue's failure must not stop the others' clean-up
                failed = True
                log.error("queue %s: clean-up failed: %s", name, describe_error(exc))
                log.debug("clean-up failure", exc_info=True)
    for backend, skipped in without_clean.items():
        click.echo(f"apfctl clean: {backend} has no pilot clean-up; skipped queue(s) {', '.join(skipped)}",
                   err=True)
    if logs:
        default_days = loaded.factory.typed("cleanlogs.keepdays", FACTORY_KEYS["cleanlogs.keepdays"])
        queue_days = {name: _keepdays(loaded.queue(name)) for name in loaded.queues}
        actions.extend(clean_logs(loaded.context.base_log_dir, default_days, queue_days, dry_run=dry_run,
                                  only=names if queues else None))
    failed = failed or any(action.get("error") for action in actions)
    for action in actions:
        sys.stdout.write(json.dumps(action, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    if actions and not dry_run:
        with Ledger.for_factory(loaded) as ledger:
            for action in actions:
                ledger.log_action("clean", action.get("queue"), action)
    return 1 if failed else 0


def _keepdays(queue: QueueConfig) -> int | None:
    """A queue's ``cleanlogs.keepdays``; a broken value keeps its logs (said), never removes early."""
    try:
        return queue.getint("cleanlogs.keepdays")
    except ConfigError as exc:
        log.error("%s; this queue's logs are kept", exc)
        return KEEP_FOREVER
