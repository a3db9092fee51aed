"""What a pilot of a resource type is told: environment variables and argument substitution.

Every backend that submits per type gives its pilots ``APFCTL_RESOURCE_TYPE``,
``APFCTL_CORES`` and (when known) ``APFCTL_MEMORY`` (MB), and replaces ``{resourcetype}``,
``{cores}`` and ``{memory}`` in ``executable.arguments``: Pilot 3 takes
``--resource-type {resourcetype}``. Untyped pilots get the words replaced by ''.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from apfctl.interfaces import BatchSubmitPlugin, PilotRequest

ENV_TYPE = "APFCTL_RESOURCE_TYPE"
ENV_CORES = "APFCTL_CORES"
ENV_MEMORY = "APFCTL_MEMORY"

Plugin = TypeVar("Plugin", bound=BatchSubmitPlugin)


def environment(pilot: PilotRequest | None) -> dict[str, str]:
    if pilot is None:
        return {}
    env = {ENV_TYPE: pilot.resource_type, ENV_CORES: str(pilot.cores)}
    if pilot.memory:
        env[ENV_MEMORY] = str(pilot.memory)
    return env


def substitute(arguments: list[str], pilot: PilotRequest | None) -> list[str]:
    """``executable.arguments`` (already split) with the pilot's words put in."""
    words = {"{resourcetype}": pilot.resource_type if pilot else "",
             "{cores}": str(pilot.cores) if pilot else "",
             "{memory}": str(pilot.memory) if pilot and pilot.memory else ""}
    out = []
    for argument in arguments:
        if "{" in argument:
            for word, value in words.items():
                argument = argument.replace(word, value)
        out.append(argument)
    return out


def typed_copy(plugin: Plugin, pilot: PilotRequest) -> Plugin:
    """A shallow copy of ``plugin`` for one type: what ``for_type`` of most backends returns."""
    typed = copy.copy(plugin)
    typed.pilot = pilot
    return typed
