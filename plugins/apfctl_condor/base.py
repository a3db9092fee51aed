"""``CondorBase``: what every HTCondor submit plugin shares (APF's ``CondorBase``).

Each flavour (:mod:`apfctl_condor.flavours`) adds its own lines and then its parent's, as
APF's classes did, so the description keeps APF's order: plugin lines, the ``CondorBase``
block, the ``condor_attributes``, ``queue <n>``. The queue's keys and schedd are one
:class:`~apfctl_condor.pilotqueue.PilotQueue`; the schedd work is :mod:`apfctl_condor.pilots`
and :mod:`apfctl_condor.clean`, which take that object and call nothing back here.

Pilots go to the schedd named by the queue's ``batchstatus.condor.*`` keys (the local
schedd by default), the one the ``Condor`` batch status reads, and every pilot carries
``MATCH_APF_QUEUE``, ``ApfctlFactory`` and ``ApfctlCycle``.
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import BatchSubmitPlugin, FactoryContext, PilotRequest, SubmitResult
from apfctl.resourcetypes import pilot as typed_pilot
from apfctl.workers import ID_VARIABLE, WORKER_VARIABLE
from apfctl.wrapper import resolve_executable
from apfctl_condor import credentials, pilots
from apfctl_condor.clean import clean_queue, release_rules
from apfctl_condor.description import Description, UnsafeValue, add_attributes, add_extra
from apfctl_condor.pilotqueue import STATUS_PREFIX, PilotQueue
from apfctl_condor.settings import endpoint_keys, endpoint_problems, quote
from apfctl_condor.states import CYCLE_ATTR, FACTORY_ATTR, QUEUE_KEY, TYPE_ATTR

ENV_WORD = re.compile(r"^[^\s\"']+$")
ENV_ITEM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^\s\"']*$|^[A-Za-z_][A-Za-z0-9_]*='[^'\"]*'$")
_ENV_TOKEN = re.compile(r"(?:[^\s']|'[^']*')+")

BASE_KEYS: dict[str, Key] = {
    "environ": Key("str", None, doc="extra pilot environment: space-separated VAR=value (no double quotes)"),
    "submitargs": Key("str", None, doc="accepted in APF files and not used (APF ignored it too)"),
    "overlay.peaceful": Key("bool", True, doc="True: retire only idle pilots; False: running ones too"),
    "overlay.killorder": Key("str", "newest", choices=("newest", "oldest"), doc="which pilots retire first"),
    "peaceful": Key("bool", None, doc="APF 2.4 name of overlay.peaceful"),
    "killorder": Key("str", None, choices=("newest", "oldest"), doc="APF 2.4 name of overlay.killorder"),
    "condor_attributes": Key("str", None, doc="extra lines: 'cmd = value' items, comma-separated, \\, for a comma"),
    "condor_attributes.*": Key("str", None, doc="condor_attributes.<cmd> = <value>: one extra line"),
    "proxy": Key("list", None, doc="auth.conf profiles; the first one is the pilots' credential"),
    "authprofile": Key("list", None, doc="the same as proxy"),
    "credential": Key("str", None, choices=("token", "proxy", "both"),
                      doc="what pilots carry from the profiles: token, proxy or both (default: the first's kind)"),
    "proxyfile": Key("path", None, doc="X509 proxy file (x509userproxy)"),
    "x509userproxy": Key("path", None, doc="X509 proxy file"),
    "scitokens_file": Key("path", None, doc="SciToken (bearer token) file"),
    "clean.held.release": Key("list", None, doc="held pilots to release: CODE, CODE:SUBCODE or /reason regex/"),
    "clean.held.maxreleases": Key("int", 3, minimum=0, doc="release a pilot at most this many times, then remove"),
    "clean.held.remove": Key("bool", True, doc="remove held pilots that no release rule matches"),
    "clean.stale.idle": Key("float", 86400.0, minimum=0, doc="remove pilots idle longer (seconds; 0: never)"),
}


WORKER_FIRST_MACRO = "ApfctlWorkerFirst"    # submit macros: the block's first worker id, and ProcId's
WORKER_MACRO = "ApfctlWorkerID"

class CondorBase(BatchSubmitPlugin):
    """The common part of every HTCondor submit plugin (APF's ``CondorBase``)."""

    OWN_KEYS: ClassVar[dict[str, Key]] = BASE_KEYS
    PARENTS: ClassVar[tuple[str, ...]] = ("condorbase",)
    KEYS: ClassVar[dict[str, Key]] = {}
    _all_own: ClassVar[dict[str, Key]] = BASE_KEYS   # OWN_KEYS of the class and its bases
    NEEDS_CREDENTIAL: ClassVar[bool] = False   # CEs (HTCondor-CE, ARC) accept no pilot without one

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own: dict[str, Key] = {}
        for klass in reversed(cls.__mro__):
            own.update(klass.__dict__.get("OWN_KEYS", {}))
        cls.KEYS = {f"batchsubmit.{name}.{suffix}": key
                    for name in ("{name}", *cls.PARENTS) for suffix, key in own.items()}
        cls.KEYS.update(endpoint_keys(STATUS_PREFIX))
        cls._all_own = own

    def __init__(self, name: str, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(name, queue, factory)
        self.q = PilotQueue(name, self.PARENTS, self._all_own, queue, factory)

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        """Build the description of one pilot offline: every unsafe or missing value is reported."""
        problems = endpoint_problems(queue, STATUS_PREFIX)
        if problems:   # the Condor batch status reports the same keys: say it once
            return [] if (queue.getstr("batchstatusplugin") or "").lower() == "condor" else problems
        try:
            plugin = cls(name, queue, factory)
            plugin.describe(1, "check")
            release_rules(plugin.q)
            carried = plugin.credentials()
            for credential in carried:
                credentials.require_file(credential)
            if not carried and cls.NEEDS_CREDENTIAL:
                return [f"{plugin.q.key('x509userproxy')}: {name} pilots need a credential and none is set: "
                        f"HTCondor requires a proxy or a token for them (set {plugin.q.key('proxy')}, "
                        f"{plugin.q.key('x509userproxy')} or {plugin.q.key('scitokens_file')})"]
        except ConfigError as exc:
            return [f"{exc.key}: {exc.message}" if exc.key else exc.message]
        except credentials.CredentialError as exc:
            return [f"{exc.key}: {exc}"]
        return []

    # -- the description ---------------------------------------------------------------------
    def describe(self, n: int, cycle: str) -> str:
        """The exact submit description for ``n`` pilots of ``cycle``; ConfigError if unsafe."""
        description = Description()
        try:
            self.lines(description, cycle)
            attributes_key = self.q.key("condor_attributes")
            attributes = self.queue.getstr(attributes_key)
            if attributes:
                add_attributes(description, attributes, attributes_key,
                               lambda message, value: self.q.fail(attributes_key, message, value))
            for command, (key, value) in sorted(self.q.family("condor_attributes").items()):
                add_extra(description, command, value.strip(), key)
            if self.pilot is not None:   # last: the type's size wins over static attributes
                self.pilot_lines(description, self.pilot)
        except UnsafeValue as exc:
            raise self.q.fail(exc.source, exc.reason, exc.value) from None
        except credentials.CredentialError as exc:
            raise self.q.fail(exc.key, str(exc), exc.value) from None
        return description.render(n)

    def for_type(self, pilot: PilotRequest) -> CondorBase:
        """Pilots of one resource type: its size requested, the type in ``ApfctlResourceType``,
        and only that type's pilots seen by find_submitted, submit and retire."""
        typed = typed_pilot.typed_copy(self, pilot)
        typed.q = copy.copy(self.q)
        typed.q.resource_type = pilot.resource_type
        return typed

    def pilot_lines(self, d: Description, pilot: PilotRequest) -> None:
        """The size and type of a typed pilot (``request_cpus``/``request_memory`` in MB)."""
        d.add(f"+{TYPE_ATTR}", quote(pilot.resource_type))
        d.add("request_cpus", str(pilot.cores))
        if pilot.memory:
            d.add("request_memory", str(pilot.memory))

    def lines(self, d: Description, cycle: str) -> None:
        """Subclasses add their lines, then call this: APF's CondorBase block."""
        queue = self.queue.name
        fid = self.factory.factory_id
        log_dir, log_url = self.factory.queue_log_dir(queue)
        admin = self.factory.config.getstr("factoryAdminEmail")
        user = self.factory.config.getstr("factoryUser")
        monitor_url = self.factory.monitor_url(self.queue)
        for label, word in (("factoryId", fid), ("queue name", queue), ("factoryUser", user),
                            ("monitorURL", monitor_url), ("baseLogDirUrl", log_url)):
            if word is not None and not ENV_WORD.match(word):
                raise self.q.fail(None, f"{label} {word!r} cannot go into the pilot environment "
                                      "(spaces or quotes)")
        d.add("Dir", f"{log_dir}/", "baseLogDir")
        if admin:
            d.add("notify_user", admin, "factoryAdminEmail")
        d.add(f"+{QUEUE_KEY}", quote(queue))
        d.add("+FACTORY_JOBID", quote(f"{factory_host()}#$(Cluster).$(Process)"))
        d.add("+APF_QUEUE", quote(queue))
        if log_url:
            for attr, suffix in (("APF_LOGURL", "log"), ("APF_OUTURL", "out"), ("APF_ERRURL", "err")):
                d.add(f"+{attr}", quote(f"{log_url}/$(Cluster).$(Process).{suffix}"), "baseLogDirUrl")
        d.add(f"+{FACTORY_ATTR}", quote(fid), "factoryId")
        d.add(f"+{CYCLE_ATTR}", quote(cycle))
        if self.workers is not None:   # ProcId i is worker first + i (apfctl.workers)
            d.add(WORKER_FIRST_MACRO, str(self.workers.first))
            d.add(WORKER_MACRO, f"$({WORKER_FIRST_MACRO}) + $(Process)")
        d.add("environment", quote_environment(self.environment(fid, log_url, monitor_url, user)),
              self.q.key("environ"))
        executable = self.executable()
        if executable is not None:
            d.add("executable", executable, "executable")
        arguments = self.queue.getstr("executable.arguments")
        if arguments and "{" in arguments:
            arguments = " ".join(typed_pilot.substitute([arguments], self.pilot))
        if arguments:
            d.add("arguments", arguments, "executable.arguments")
        d.add("output", "$(Dir)/$(Cluster).$(Process).out")
        d.add("error", "$(Dir)/$(Cluster).$(Process).err")
        d.add("log", "$(Dir)/$(Cluster).$(Process).log")
        d.add("stream_output", "False")
        d.add("stream_error", "False")
        d.add("notification", "Error")
        d.add("transfer_executable", "True")

    def executable(self) -> str | None:
        """The queue's pilot: the apfctl wrapper unless ``executable`` names another one."""
        return resolve_executable(self.queue)

    def environment(self, fid: str, log_url: str | None, monitor_url: str | None, user: str | None) -> list[str]:
        """APF's pilot environment (inventory §2.4.2), then ``environ``."""
        words = [f"PANDA_JSID={fid}"]
        if log_url:
            words.append(f"GTAG={log_url}/$(Cluster).$(Process).out")
        words += ["APFCID=$(Cluster).$(Process)", f"APFFID={fid}",
                  f"FACTORY_JOBID={factory_host()}#$(Cluster).$(Process)"]
        if monitor_url:
            words.append(f"APFMON={monitor_url}")
        words.append(f"FACTORYQUEUE={self.queue.name}")
        if user:
            words.append(f"FACTORYUSER={user}")
        words += [f"{name}={value}" for name, value in typed_pilot.environment(self.pilot).items()]
        if self.workers is not None:
            words += [f"{ID_VARIABLE}={self.workers.harvester}", f"{WORKER_VARIABLE}=$INT({WORKER_MACRO})"]
        environ = self.q.value("environ")
        if environ:
            items = _ENV_TOKEN.findall(environ)
            if _ENV_TOKEN.sub("", environ).strip():
                raise self.q.fail(self.q.key("environ"), "unbalanced single quote", environ)
            for item in items:
                if not ENV_ITEM.match(item):
                    raise self.q.fail(self.q.key("environ"), f"item {item!r} is not VAR=value (no double quotes)",
                                    environ)
            words.extend(items)
        return words

    def add_credential(self, d: Description) -> None:
        for credential in self.credentials():
            d.add(credential.command, str(credential.path), credential.source)

    def credentials(self) -> list[credentials.Credential]:
        return credentials.pilot_credentials(self.q)

    # -- the schedd: pilots.py and clean.py -----------------------------------------------------
    def find_submitted(self, cycle: str) -> list[str]:
        return pilots.find_submitted(self.q, cycle)

    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        try:
            text = self.describe(n, cycle)
            for credential in [] if dry_run else self.credentials():
                credentials.require_file(credential)
        except ConfigError as exc:
            raise BackendError(f"queue {self.queue.name}: {exc}") from None
        except credentials.CredentialError as exc:
            raise BackendError(f"queue {self.queue.name}: {exc.key} = {exc.value!r}: {exc}") from None
        if dry_run:
            return SubmitResult(description=text)
        return pilots.submit(self.q, text, n, cycle)

    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        return pilots.retire(self.q, n, dry_run)

    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        return clean_queue(self.q, dry_run)


def factory_host() -> str:
    """This host's name for ``FACTORY_JOBID``: the real one, as the Slurm backend writes it
    (``$ENV(HOSTNAME)`` is empty under cron and systemd, which made ``#1.0``)."""
    import socket

    return socket.gethostname()


def quote_environment(words: list[str]) -> str:
    """The new-syntax ``environment`` value: double-quoted, space-separated words."""
    return '"' + " ".join(words) + '"'
