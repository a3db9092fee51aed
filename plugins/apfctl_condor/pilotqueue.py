"""One queue as the HTCondor plugins see it: its keys resolved as APF named them, and its schedd.

Keys are read under the configured plugin name and, as APF's key renaming allowed, under
the names of the plugin's parents (``batchsubmit.condorosgce.proxy`` or
``batchsubmit.condorgrid.proxy`` for a ``CondorOSGCE`` queue). Submission, retirement and
``apfctl clean`` all work on a :class:`PilotQueue`; none of them calls back into another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import ConfigError
from apfctl.interfaces import FactoryContext
from apfctl_condor.schedd import Endpoint, get_schedd
from apfctl_condor.settings import quote, read_endpoint
from apfctl_condor.states import FACTORY_ATTR, QUEUE_KEY

STATUS_PREFIX = "batchstatus.condor"   # the schedd is the one the Condor batch status reads


class PilotQueue:
    """A queue's resolved ``batchsubmit.<name>.*`` keys, its schedd endpoint and (located once) its schedd."""

    def __init__(self, name: str, parents: tuple[str, ...], own: Mapping[str, Key], queue: QueueConfig,
                 factory: FactoryContext) -> None:
        self.name = name              # the plugin name as configured (CondorOSGCE)
        self.prefixes = (name.lower(), *parents)
        self.own = own                # suffix -> Key, of the plugin and its bases
        self.queue = queue
        self.factory = factory
        self.endpoint: Endpoint = read_endpoint(queue, STATUS_PREFIX)
        self._schedd: Any = None

    # -- keys ---------------------------------------------------------------------------------
    def key(self, suffix: str) -> str:
        """The key a value is read from: the configured name first, then APF's parent names."""
        for prefix in self.prefixes:
            key = f"batchsubmit.{prefix}.{suffix}"
            if key in self.queue:
                return key
        return f"batchsubmit.{self.prefixes[0]}.{suffix}"

    def value(self, suffix: str) -> Any:
        return self.queue.typed(self.key(suffix), self.own[suffix])

    def text(self, suffix: str) -> str | None:
        return self.queue.getstr(self.key(suffix))

    def family(self, suffix: str) -> dict[str, tuple[str, str]]:
        """``suffix.<X>`` keys under every accepted name: X -> (key, value); own name wins."""
        found: dict[str, tuple[str, str]] = {}
        for prefix in reversed(self.prefixes):
            start = f"batchsubmit.{prefix}.{suffix}."
            for key in self.queue:
                if key.startswith(start):
                    found[key[len(start):]] = (key, self.queue.get(key) or "")
        return found

    def fail(self, key: str | None, message: str, value: str | None = None) -> ConfigError:
        return self.queue.error(key, message, value)

    def peaceful(self) -> bool:
        """``overlay.peaceful``, or APF 2.4's ``peaceful`` when that is set."""
        legacy = self.value("peaceful") if self.key("peaceful") in self.queue else None
        return bool(self.value("overlay.peaceful") if legacy is None else legacy)

    def killorder(self) -> str:
        legacy = self.value("killorder") if self.key("killorder") in self.queue else None
        return str(legacy or self.value("overlay.killorder")).lower()

    # -- the schedd ------------------------------------------------------------------------------
    def schedd(self) -> Any:
        """The schedd, located once (find_submitted, then submit, share it)."""
        if self._schedd is None:
            self._schedd = get_schedd(self.endpoint)
        return self._schedd

    def mine(self) -> str:
        """The constraint selecting this queue's pilots of this factory."""
        return (f"{FACTORY_ATTR} =?= {quote(self.factory.factory_id)} && "
                f"{QUEUE_KEY} =?= {quote(self.queue.name)}")
