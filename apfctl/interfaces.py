"""The plugin interfaces: what each entry-point group's plugins provide.

Every plugin class declares the queue keys it reads in ``KEYS`` and the ``[Factory]`` keys
in ``FACTORY_KEYS`` (see :mod:`apfctl.config.keys`), so that ``apfctl config check``
validates them before anything is queried or submitted. A class may set ``REFUSED`` to a
message to mark a dead plugin name that is recognised and refused (GT2, CREAM, ...). A
plugin package may declare ``NEEDS`` (module -> extra) for the optional modules its plugins
cannot work without (``apfctl_condor``: the HTCondor bindings); see :func:`apfctl.plugins.find`.

Status plugins are shared per endpoint: the stage groups queues by ``endpoint(queue)`` and
makes one instance (and so one query) per group. Rules are pure functions of the record.
"""

from __future__ import annotations

import datetime as _dt
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

from apfctl.config.keys import Key
from apfctl.config.model import FactoryConfig, QueueConfig
from apfctl.paths import safe_name, url_path

if TYPE_CHECKING:
    from apfctl.workers import WorkerBlock


@dataclass
class FactoryContext:
    """What every plugin may use besides its queue's section: the factory and its folders.

    ``queues`` is every configured queue section (enabled or not), for plugins that report
    on the whole factory, such as a monitor writing every queue's metrics after a cycle.
    """

    config: FactoryConfig
    state_dir: Path
    monitor_sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)

    @property
    def factory_id(self) -> str:
        return self.config.factory_id

    @property
    def base_log_dir(self) -> Path:
        """``baseLogDir`` (relative to the factory file), else ``logs`` in the state folder."""
        configured = self.config.typed("baseLogDir", Key("path"))
        return Path(configured) if configured else self.state_dir / "logs"

    @property
    def base_log_url(self) -> str | None:
        return self.config.getstr("baseLogDirUrl")

    def monitor_url(self, queue: QueueConfig) -> str | None:
        """APF's ``APFMON`` for a queue's pilots: the ``monitorURL`` of its one monitor section."""
        sections = queue.getlist("monitorsection")
        if len(sections) != 1:
            return None
        return (self.monitor_sections.get(sections[0]) or {}).get("monitorURL")

    def queue_log_dir(self, queue: str, when: _dt.datetime | None = None) -> tuple[Path, str | None]:
        """APF's pilot log folder ``baseLogDir/YYYY-MM-DD/<queue>/`` and its URL (UTC date).

        ``<queue>`` is :func:`apfctl.paths.safe_name` of the queue; in the URL its ``%`` is ``%25``.
        """
        when = when or _dt.datetime.now(_dt.UTC)
        relative = f"{when:%Y-%m-%d}/{safe_name(queue)}"
        url = f"{self.base_log_url.rstrip('/')}/{url_path(relative)}" if self.base_log_url else None
        return self.base_log_dir / relative, url


class Plugin:
    """Common declarations of every plugin class."""

    KEYS: ClassVar[Mapping[str, Key]] = {}
    FACTORY_KEYS: ClassVar[Mapping[str, Key]] = {}
    REFUSED: ClassVar[str | None] = None

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        """Extra validation beyond key types: problems as ``key: message`` strings."""
        return []


# --- WMS status ------------------------------------------------------------------------
class WMSCounts(TypedDict, total=False):
    """How much work waits for one queue (APF's WMSQueueInfo) and the site's status."""

    queue: str          # the WMS queue name asked for (wmsqueue)
    ready: int          # activated: work that a pilot can pick up now
    notready: int
    running: int
    done: int
    failed: int
    status: str | None  # online, test, offline, brokeroff, ... (None when the source has none)
    types: dict[str, dict[str, int]]   # the same counts per resource type the queue serves, if it does
    unmatchable: int    # idle work no resource of the queue could ever run (Condor WMS with a machine ad)
    factories: int      # factories sharing the queue, when the counts are this factory's share


class StatusPlugin(Plugin, ABC):
    """What both status groups share: one instance per endpoint, one query for its queues."""

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        """What the instance talks to; queues with equal endpoints share one instance."""
        return None

    def __init__(self, endpoint: Hashable, factory: FactoryContext) -> None:
        self.endpoint_key = endpoint
        self.factory = factory


class WMSStatusPlugin(StatusPlugin):
    """Reads waiting work for many queues in one go (group ``apfctl.wmsstatus``)."""

    @abstractmethod
    def query(self, queues: Sequence[QueueConfig]) -> Mapping[str, WMSCounts | Exception]:
        """Counts per queue name. An Exception value fails that queue; raising fails them all."""


# --- batch status ----------------------------------------------------------------------
Outcome = Literal["done", "fault", "removed"]


@dataclass(frozen=True)
class Finished:
    """One pilot that ended: when, how long it ran (seconds, 0 if it never started), and how.

    ``removed`` is a pilot the factory removed itself (retirement, clean-up): it counts as
    neither done nor fault.
    """

    end: float
    walltime: float
    outcome: Outcome


@dataclass
class BatchCounts:
    """Pilot states of one queue (docs/architecture.md §1.5), and its pilots that ended recently."""

    pending: int = 0
    held: int = 0
    running: int = 0
    exiting: int = 0
    finished: list[Finished] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)   # backend-specific: held_reasons, ...
    # pilots stamped with a resource type: type -> {pending, held, running, exiting}; the
    # fields above count every pilot, typed or not (docs/resource-types.md)
    types: dict[str, dict[str, int]] = field(default_factory=dict)


class BatchStatusPlugin(StatusPlugin):
    """Reads pilot states for many queues in one go (group ``apfctl.batchstatus``)."""

    @abstractmethod
    def query(self, queues: Sequence[QueueConfig], since: float) -> Mapping[str, BatchCounts | Exception]:
        """Counts per queue name, with the pilots that ended after ``since`` (epoch seconds).

        An Exception value fails that queue; raising fails every queue of this endpoint.
        """


# --- decision rules --------------------------------------------------------------------
class SchedRule(Plugin, ABC):
    """One rule of the decision chain (group ``apfctl.sched``): ``(n, record) -> (n, msg)``.

    Instantiated once per queue and invocation (reading and checking its keys then), called
    once per record. Pure: no I/O; everything it needs is in the record.
    """

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        self.queue = queue
        self.factory = factory

    @classmethod
    def history_window(cls, queue: QueueConfig) -> tuple[float, float] | None:
        """(interval, short limit) in seconds if the rule needs ``batch.recent``; see status."""
        return None

    @abstractmethod
    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        """The new number of pilots and APF's message ``Name:key=value,...``."""


# --- submission --------------------------------------------------------------------------
@dataclass
class SubmitResult:
    """What a submit or retire call did. ``description`` is the batch description (dry run);
    ``description_file`` where the backend kept the one it submitted (the queue's log folder)."""

    ids: list[str] = field(default_factory=list)
    description: str | None = None
    description_file: str | None = None
    # batch id -> worker id, when not simply ``ids[i]`` -> ``workers.first + i`` (apfctl.workers)
    workers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PilotRequest:
    """The resource type of the pilots to submit, and their size (docs/resource-types.md)."""

    resource_type: str
    cores: int
    memory: int | None   # MB; None: no memory request


class BatchSubmitPlugin(Plugin, ABC):
    """Submits n pilots for one queue, or retires -n (group ``apfctl.batchsubmit``).

    ``name`` is the plugin name as configured (``CondorOSGCE``), which keys are read under.
    Every pilot is stamped with the queue, the factory id and the cycle id, and, on a plugin
    made by :meth:`for_type`, with its resource type: then ``find_submitted``, ``submit``
    and ``retire`` see that type's pilots only.
    """

    pilot: PilotRequest | None = None
    # the worker ids of the next submission; each pilot's environment carries its own
    # (HARVESTER_ID, HARVESTER_WORKER_ID), set by the submit stage (apfctl.workers)
    workers: WorkerBlock | None = None

    def __init__(self, name: str, queue: QueueConfig, factory: FactoryContext) -> None:
        self.name = name
        self.queue = queue
        self.factory = factory

    def for_type(self, pilot: PilotRequest) -> BatchSubmitPlugin | None:
        """This plugin for pilots of one resource type and size; None if the backend cannot."""
        return None

    def credential_audience(self) -> str | None:
        """The audience a token for this queue's CE must carry (None: the backend has no CE).

        Raise the queue's ConfigError when it should have one and cannot be derived (no host).
        """
        return None

    @abstractmethod
    def find_submitted(self, cycle: str) -> list[str]:
        """Ids of this queue's pilots already stamped with ``cycle`` (idempotency)."""

    @abstractmethod
    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        """Submit ``n`` > 0 pilots stamped with ``cycle``; raise BackendError on failure."""

    @abstractmethod
    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        """Remove up to ``n`` pilots: pending first, running only when not peaceful."""

    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        """``apfctl clean``: release or remove held pilots, remove stale ones; one dict per action.

        Optional: backends without clean-up keep this default, and ``apfctl clean`` skips them.
        """
        raise NotImplementedError


# --- configuration sources ------------------------------------------------------------
@dataclass
class ConfigLayer:
    """One source of queue sections (a file, a CRIC document), merged in order.

    ``defaults`` is the layer's own ``[DEFAULT]``: it applies to this layer's sections only.
    ``failed`` says why a source could not be read at all (an outage with no cached copy):
    its queues are missing, the other sources' queues carry on, and the command exits 1.
    """

    name: str
    sections: dict[str, dict[str, Any]]          # section -> key -> RawValue
    defaults: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failed: str | None = None


class QueuesConfigPlugin(Plugin, ABC):
    """Produces queue sections (group ``apfctl.config``), e.g. ``File`` or ``CRIC``."""

    def __init__(self, factory: FactoryConfig, state_dir: Path) -> None:
        self.factory = factory
        self.state_dir = state_dir

    @abstractmethod
    def layers(self) -> list[ConfigLayer]:
        """The layers in override order (later wins key by key); ConfigError on a bad source."""


# --- monitoring ----------------------------------------------------------------------------
class MonitorPlugin(Plugin, ABC):
    """Publishes records after a cycle (group ``apfctl.monitor``).

    One instance per monitor.conf section (APF's ``monitorsection``). ``publish`` must not
    block the cycle for long and must not raise: failures are logged and retried later.
    """

    def __init__(self, section_name: str, section: Mapping[str, str], factory: FactoryContext) -> None:
        self.section_name = section_name
        self.section = section
        self.factory = factory

    @abstractmethod
    def publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Send what the cycle saw, decided and submitted for these queues."""
