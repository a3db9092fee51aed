"""The queue's own limits on one submission, applied by submit whatever the record says.

A record comes from a pipe or a file: its ``decision.pilots`` may have been edited, fuzzed
or made under another configuration. Submit therefore caps it again from the queue's
configuration alone: ``submit.maximum`` (every queue; default 1,000, Slurm's default array
limit), ``sched.maxpercycle.maximum`` when MaxPerCycle is in the chain, and what
``sched.maxtosubmit.maximum`` leaves after the ledger's own submitted total when
MaxToSubmit is. Retirements are capped by ``submit.maximum`` only.
"""

from __future__ import annotations

from collections.abc import Callable

from apfctl.config.generic import QUEUE_KEYS
from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig

_CHAIN_CAPS = {"maxpercycle": Key("int", None, minimum=0), "maxtosubmit": Key("int", None, minimum=0)}


def cap(queue: QueueConfig, n: int, submitted_total: Callable[[], int]) -> tuple[int, str | None]:
    """(pilots to act on, why fewer than asked or None). ``submitted_total``: the ledger's, asked lazily."""
    ceiling = queue.typed("submit.maximum", QUEUE_KEYS["submit.maximum"])
    if n < 0:
        return (-ceiling, f"submit.maximum = {ceiling} per cycle") if -n > ceiling else (n, None)
    limits = [(ceiling, f"submit.maximum = {ceiling} per cycle")]
    chain = {name.strip().lower() for name in queue.getlist("schedplugin")}
    if "maxpercycle" in chain:
        maximum = queue.typed("sched.maxpercycle.maximum", _CHAIN_CAPS["maxpercycle"])
        if maximum is not None:
            limits.append((maximum, f"sched.maxpercycle.maximum = {maximum}"))
    if "maxtosubmit" in chain:
        maximum = queue.typed("sched.maxtosubmit.maximum", _CHAIN_CAPS["maxtosubmit"])
        if maximum is not None:
            total = submitted_total()
            limits.append((max(0, maximum - total),
                           f"sched.maxtosubmit.maximum = {maximum} with {total} submitted already"))
    limit, why = min(limits, key=lambda item: item[0])
    return (limit, why) if n > limit else (n, None)
