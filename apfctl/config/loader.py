"""Finding and loading the factory configuration and its queue sections.

Lookup order: ``--config``, then ``$APFCTL_CONFIG``, then the user's and the system's config
folders; with none found, the embedded demo (``embedded:demo`` asks for it explicitly).
Queue sections come from the ``apfctl.config`` plugins named by ``config.queues.plugin``
(default ``File``), merged in that order, later wins key by key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from apfctl import plugins
from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.ini import DEFAULT_SECTION, merge_layers, parse_file
from apfctl.config.model import FactoryConfig, QueueConfig, Section
from apfctl.errors import ApfctlError, ConfigError
from apfctl.interfaces import ConfigLayer, FactoryContext

log = logging.getLogger("apfctl.config")

EMBEDDED_DEMO = "embedded:demo"
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "apfctl" / "apfctl.conf"


SYSTEM_CONFIG_PATH = Path("/etc/apfctl/apfctl.conf")


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "apfctl"


def locate(explicit: str | None) -> tuple[Path, bool]:
    """(factory config path, whether it is the embedded demo)."""
    for candidate in (explicit, os.environ.get("APFCTL_CONFIG")):
        if candidate:
            if candidate == EMBEDDED_DEMO:
                return DEMO_DIR / "apfctl.conf", True
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise ConfigError("config file not found" if not path.exists() else "not a file", file=str(path))
            return path, False
    for path in (user_config_path(), SYSTEM_CONFIG_PATH):
        if path.is_file():
            return path, False
    return DEMO_DIR / "apfctl.conf", True


@dataclass
class Loaded:
    """The factory config, every queue section, and the context plugins get."""

    path: Path
    is_demo: bool
    factory: FactoryConfig
    queues: dict[str, QueueConfig]
    context: FactoryContext
    warnings: list[str] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return "embedded demo configuration" if self.is_demo else str(self.path)

    def queue(self, name: str) -> QueueConfig:
        try:
            return self.queues[name]
        except KeyError:
            raise ApfctlError(f"queue {name!r} is not in the configuration ({self.source})") from None

    def enabled_queues(self) -> list[str]:
        return enabled_queue_names(self.factory, self.queues)


def enabled_queue_names(factory: FactoryConfig, queues: Mapping[str, QueueConfig]) -> list[str]:
    """The queues that cycle: those ``enabled``, none when [Factory] ``enablequeues`` is False."""
    if factory.getbool("enablequeues", True) is False:
        return []
    return [name for name, queue in queues.items() if queue.enabled]


def _factory_section(path: Path) -> FactoryConfig:
    layer = parse_file(path)
    if "Factory" not in layer.sections:
        raise ConfigError("no [Factory] section", file=str(path))
    values = dict(layer.defaults)
    values.update(layer.sections["Factory"])
    return FactoryConfig("Factory", values)


def _monitor_sections(factory: FactoryConfig) -> dict[str, dict[str, str]]:
    path = factory.typed("monitorConf", FACTORY_KEYS["monitorConf"])
    if not path:
        return {}
    merged = merge_layers([parse_file(Path(path))])
    return {name: Section(name, values).items() for name, values in merged.items()}


def _queue_layers(factory: FactoryConfig, state_dir: Path) -> list[ConfigLayer]:
    names = factory.getlist("config.queues.plugin") or ["File"]
    layers: list[ConfigLayer] = []
    for name in names:
        try:
            plugin_class = plugins.find("config", name)
        except ApfctlError as exc:
            raise factory.error("config.queues.plugin", str(exc), name) from None
        layers.extend(plugin_class(factory, state_dir).layers())
    return layers


def load(config: str | None = None, state_dir: str | os.PathLike[str] | None = None) -> Loaded:
    """Read the factory file and every queue source; ConfigError on the first broken one."""
    path, is_demo = locate(config)
    factory = _factory_section(path)
    state = Path(state_dir or os.environ.get("APFCTL_STATE_DIR") or default_state_dir()).expanduser()
    monitor_sections = _monitor_sections(factory)
    layers = _queue_layers(factory, state)
    warnings = [warning for layer in layers for warning in layer.warnings]
    failed = [f"{layer.name}: {layer.failed}" for layer in layers if layer.failed]
    queues = {name: QueueConfig(name, values) for name, values in merge_layers(layers).items()
              if name != DEFAULT_SECTION}
    context = FactoryContext(config=factory, state_dir=state, monitor_sections=monitor_sections, queues=queues)
    if is_demo and EMBEDDED_DEMO not in (config, os.environ.get("APFCTL_CONFIG")):
        log.warning("no configuration found (--config, $APFCTL_CONFIG, %s, %s): using the embedded demo",
                    user_config_path(), SYSTEM_CONFIG_PATH)
    return Loaded(path=path, is_demo=is_demo, factory=factory, queues=queues, context=context, warnings=warnings,
                  failed_sources=failed)
