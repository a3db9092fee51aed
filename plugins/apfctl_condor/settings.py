"""Configuration helpers shared by the HTCondor plugins: schedd endpoints and safe values."""

from __future__ import annotations

import re

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl_condor.schedd import DEFAULT_PORT, Endpoint
from apfctl_condor.states import FACTORY_ATTR, QUEUE_KEY

_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$|^\[[0-9A-Fa-f:.]+\]$")


def endpoint_keys(prefix: str) -> dict[str, Key]:
    """APF's four endpoint keys under ``prefix`` (``batchstatus.condor``, ``wmsstatus.condor``)."""
    return {
        f"{prefix}.scheddhost": Key("str", "localhost", doc="schedd name or host (localhost: the local schedd)"),
        f"{prefix}.scheddport": Key("int", DEFAULT_PORT, minimum=1, doc="schedd port (direct address)"),
        f"{prefix}.collectorhost": Key("str", "localhost", doc="collector that locates a remote schedd"),
        f"{prefix}.collectorport": Key("int", DEFAULT_PORT, minimum=1, doc="collector port"),
    }


def read_endpoint(queue: QueueConfig, prefix: str) -> Endpoint:
    """The queue's schedd endpoint; ConfigError naming the key for a malformed host."""
    keys = endpoint_keys(prefix)
    values = {name.rsplit(".", 1)[1]: queue.typed(name, spec) for name, spec in keys.items()}
    for field in ("scheddhost", "collectorhost"):
        if not is_hostname(values[field]):
            raise queue.error(f"{prefix}.{field}", "not a host name (spaces, newlines or odd characters)",
                              values[field])
    return Endpoint(**values)


def endpoint_problems(queue: QueueConfig, prefix: str) -> list[str]:
    """``key: message`` for every malformed endpoint key (for a plugin's ``check``)."""
    problems = []
    for field in ("scheddhost", "collectorhost"):
        key = f"{prefix}.{field}"
        value = queue.getstr(key)
        if value is not None and not is_hostname(value):
            problems.append(f"{key}: not a host name (spaces, newlines or odd characters)")
    return problems


def is_hostname(value: str) -> bool:
    return bool(_HOSTNAME.match(value)) and len(value) <= 253


def quote(text: str) -> str:
    """``text`` as a ClassAd string literal (backslashes and double quotes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


SELECTION_KEY = "batchstatus.condor.selection"
SELECTION = Key("str", "factory", choices=("factory", "label"),
                doc="factory: pilots stamped with this factoryId; label: every job with MATCH_APF_QUEUE (APF)")


def pilot_constraint(factory_id: str, selection: str = "factory") -> str:
    """The constraint selecting this factory's pilots on a schedd.

    ``factory`` (default) selects the ads apfctl stamped with ``ApfctlFactory``, so two
    factories sharing a schedd and queue names never count each other's pilots. ``label``
    selects every ad with ``MATCH_APF_QUEUE``, as APF did: useful while pilots submitted by
    APF itself are still in the queue during a migration.
    """
    if selection.lower() == "label":
        return f"{QUEUE_KEY} =!= undefined"
    return f"{FACTORY_ATTR} =?= {quote(factory_id)}"
