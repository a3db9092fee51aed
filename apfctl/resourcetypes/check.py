"""Configuration checks of resource types and limits, for ``apfctl config check`` and the stages.

The factory's type definitions are read once per factory section; a queue is then checked
against them (its types known, its size usable, each type's pilot of that type) and its
Harvester limits read, so that every error names the queue, key and value before anything
is queried or submitted.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from apfctl.config.model import QueueConfig, Section
from apfctl.errors import ConfigError
from apfctl.resourcetypes.definitions import ResourceType, from_factory
from apfctl.resourcetypes.limits import Limits, from_queue
from apfctl.resourcetypes.queueconf import QueueResources, queue_resources

_TYPES: WeakKeyDictionary[Section, dict[str, ResourceType] | ConfigError] = WeakKeyDictionary()


def factory_types(factory: Section) -> dict[str, ResourceType]:
    """The factory's resource types (memoised per section); ConfigError if a definition is wrong."""
    found = _TYPES.get(factory)
    if found is None:
        try:
            found = from_factory(factory)
        except ConfigError as exc:
            found = exc
        _TYPES[factory] = found
    if isinstance(found, ConfigError):
        raise found
    return found


def queue_settings(queue: QueueConfig, factory: Section) -> tuple[QueueResources, Limits]:
    """A queue's resource types, size and limits; ConfigError naming the queue, key and value."""
    return queue_resources(queue, factory_types(factory)), from_queue(queue)


def check_factory(factory: Section) -> list[ConfigError]:
    try:
        factory_types(factory)
    except ConfigError as exc:
        return [exc]
    return []


def check_queue(queue: QueueConfig, factory: Section) -> list[ConfigError]:
    """Problems of one queue's resource settings (none when the factory's definitions are broken:
    that error is the factory's, reported once)."""
    try:
        factory_types(factory)
    except ConfigError:
        return []
    try:
        queue_settings(queue, factory)
    except ConfigError as exc:
        return [exc]
    return []
