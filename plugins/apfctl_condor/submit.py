"""HTCondor submit plugins: APF's submit description, one ``Schedd.submit`` per queue and cycle.

Each class adds its own lines and then its parent's, as APF's classes did, so the
description keeps APF's order: plugin lines, the ``CondorBase`` block, the
``condor_attributes``, ``queue <n>``. Keys are read under the configured plugin name and,
as APF's key renaming allowed, under the names of the parents (``batchsubmit.condorosgce.proxy``
or ``batchsubmit.condorgrid.proxy`` for a ``CondorOSGCE`` queue).

Pilots go to the schedd named by the queue's ``batchstatus.condor.*`` keys (the local
schedd by default), the one the ``Condor`` batch status reads, and every pilot carries
``MATCH_APF_QUEUE``, ``ApfctlFactory`` and ``ApfctlCycle``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import BatchSubmitPlugin, FactoryContext, PilotRequest, Plugin, SubmitResult
from apfctl.record import cycle_time
from apfctl.resourcetypes import pilot as typed_pilot
from apfctl.workers import ID_VARIABLE, WORKER_VARIABLE
from apfctl.wrapper import resolve_executable
from apfctl_condor import credentials
from apfctl_condor.clean import clean_queue, release_rules
from apfctl_condor.description import Description, UnsafeValue, add_attributes, add_extra
from apfctl_condor.schedd import Endpoint, act_reason, call, get_schedd, history_stop
from apfctl_condor.settings import endpoint_keys, endpoint_problems, is_hostname, quote, read_endpoint
from apfctl_condor.states import (
    CYCLE_ATTR,
    FACTORY_ATTR,
    QUEUE_KEY,
    REMOVE_REASON_PREFIX,
    TYPE_ATTR,
    job_id,
    total_success,
)

log = logging.getLogger("apfctl.condor")

STATUS_PREFIX = "batchstatus.condor"
WORKER_FIRST_MACRO = "ApfctlWorkerFirst"    # submit macros: the block's first worker id, and ProcId's
WORKER_MACRO = "ApfctlWorkerID"
_ENV_WORD = re.compile(r"^[^\s\"']+$")
_ENV_ITEM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^\s\"']*$|^[A-Za-z_][A-Za-z0-9_]*='[^'\"]*'$")
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
    "proxyfile": Key("path", None, doc="X509 proxy file (x509userproxy)"),
    "x509userproxy": Key("path", None, doc="X509 proxy file"),
    "scitokens_file": Key("path", None, doc="SciToken (bearer token) file"),
    "clean.held.release": Key("list", None, doc="held pilots to release: CODE, CODE:SUBCODE or /reason regex/"),
    "clean.held.maxreleases": Key("int", 3, minimum=0, doc="release a pilot at most this many times, then remove"),
    "clean.held.remove": Key("bool", True, doc="remove held pilots that no release rule matches"),
    "clean.stale.idle": Key("float", 86400.0, minimum=0, doc="remove pilots idle longer (seconds; 0: never)"),
}


class CondorBase(BatchSubmitPlugin):
    """The common part of every HTCondor submit plugin (APF's ``CondorBase``)."""

    OWN_KEYS: ClassVar[dict[str, Key]] = BASE_KEYS
    PARENTS: ClassVar[tuple[str, ...]] = ("condorbase",)
    KEYS: ClassVar[dict[str, Key]] = {}
    _all_own: ClassVar[dict[str, Key]] = BASE_KEYS   # OWN_KEYS of the class and its bases
    _schedd: Any = None

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
        self.schedd_endpoint: Endpoint = read_endpoint(queue, STATUS_PREFIX)

    # -- configuration --------------------------------------------------------------------
    @classmethod
    def key_for(cls, name: str, queue: QueueConfig, suffix: str) -> str:
        """The key a value is read from: the configured name first, then APF's parent names."""
        for prefix in (name.lower(), *cls.PARENTS):
            key = f"batchsubmit.{prefix}.{suffix}"
            if key in queue:
                return key
        return f"batchsubmit.{name.lower()}.{suffix}"

    def key(self, suffix: str) -> str:
        return self.key_for(self.name, self.queue, suffix)

    def value(self, suffix: str) -> Any:
        return self.queue.typed(self.key(suffix), self._all_own[suffix])

    def family(self, suffix: str) -> dict[str, tuple[str, str]]:
        """``suffix.<X>`` keys under every accepted name: X -> (key, value); own name wins."""
        found: dict[str, tuple[str, str]] = {}
        for prefix in reversed((self.name.lower(), *self.PARENTS)):
            start = f"batchsubmit.{prefix}.{suffix}."
            for key in self.queue:
                if key.startswith(start):
                    found[key[len(start):]] = (key, self.queue.get(key) or "")
        return found

    def peaceful(self) -> bool:
        legacy = self.value("peaceful") if self.key("peaceful") in self.queue else None
        return bool(self.value("overlay.peaceful") if legacy is None else legacy)

    def killorder(self) -> str:
        legacy = self.value("killorder") if self.key("killorder") in self.queue else None
        return str(legacy or self.value("overlay.killorder")).lower()

    def credential(self) -> credentials.Credential | None:
        for suffix, command in (("scitokens_file", "scitokens_file"), ("x509userproxy", "x509userproxy"),
                                ("proxyfile", "x509userproxy")):
            path = self.value(suffix)
            if path:
                return credentials.Credential(command, Path(path), self.key(suffix))
        return self.profile_credential()

    def profile(self, kinds: tuple[str, ...]) -> tuple[str, Any] | None:
        """(key, profile): the first auth.conf profile of ``proxy`` (or ``authprofile``) of one of ``kinds``."""
        for suffix in ("proxy", "authprofile"):
            names = self.value(suffix)
            if names:
                key = self.key(suffix)
                break
        else:
            return None
        from apfctl.credentials import load_auth

        auth = load_auth(self.factory.config)   # ConfigError naming auth.conf if unusable
        profiles = [auth.profiles[name] for name in names if name in auth.profiles]
        if not profiles:
            where = auth.path or "auth.conf ([Factory] authConf is not set)"
            raise credentials.CredentialError(key, ",".join(names), f"no usable profile of these in {where}")
        chosen = next((profile for profile in profiles if profile.kind in kinds), None)
        return None if chosen is None else (key, chosen)

    def profile_credential(self) -> credentials.Credential | None:
        """The pilots' credential from an X509 or token profile (APF's ``proxy`` key)."""
        found = self.profile(tuple(credentials.PROFILE_COMMANDS))
        if found is None:
            return None
        from apfctl.auth.manager import watched_file

        key, profile = found
        return credentials.Credential(credentials.PROFILE_COMMANDS[profile.kind], Path(watched_file(profile)), key)

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        """Build the description of one pilot offline: every unsafe or missing value is reported."""
        problems = endpoint_problems(queue, STATUS_PREFIX)
        if problems:   # the Condor batch status reports the same keys: say it once
            return [] if (queue.getstr("batchstatusplugin") or "").lower() == "condor" else problems
        try:
            plugin = cls(name, queue, factory)
            plugin.describe(1, "check")
            release_rules(plugin)
            credential = plugin.credential()
            if credential is not None:
                credentials.require_file(credential)
        except ConfigError as exc:
            return [f"{exc.key}: {exc.message}" if exc.key else exc.message]
        except credentials.CredentialError as exc:
            return [f"{exc.key}: {exc}"]
        return []

    # -- the description ---------------------------------------------------------------------
    def fail(self, key: str | None, message: str, value: str | None = None) -> ConfigError:
        return self.queue.error(key, message, value)

    def describe(self, n: int, cycle: str) -> str:
        """The exact submit description for ``n`` pilots of ``cycle``; ConfigError if unsafe."""
        description = Description()
        try:
            self.lines(description, cycle)
            attributes_key = self.key("condor_attributes")
            attributes = self.queue.getstr(attributes_key)
            if attributes:
                add_attributes(description, attributes, attributes_key,
                               lambda message, value: self.fail(attributes_key, message, value))
            for command, (key, value) in sorted(self.family("condor_attributes").items()):
                add_extra(description, command, value.strip(), key)
            if self.pilot is not None:   # last: the type's size wins over static attributes
                self.pilot_lines(description, self.pilot)
        except UnsafeValue as exc:
            raise self.fail(exc.source, exc.reason, exc.value) from None
        except credentials.CredentialError as exc:
            raise self.fail(exc.key, str(exc), exc.value) from None
        return description.render(n)

    def for_type(self, pilot: PilotRequest) -> CondorBase:
        """Pilots of one resource type: its size requested, the type in ``ApfctlResourceType``."""
        return typed_pilot.typed_copy(self, pilot)

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
            if word is not None and not _ENV_WORD.match(word):
                raise self.fail(None, f"{label} {word!r} cannot go into the pilot environment "
                                      "(spaces or quotes)")
        d.add("Dir", f"{log_dir}/", "baseLogDir")
        if admin:
            d.add("notify_user", admin, "factoryAdminEmail")
        d.add(f"+{QUEUE_KEY}", quote(queue))
        d.add("+FACTORY_JOBID", quote("$ENV(HOSTNAME)#$(Cluster).$(Process)"))
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
              self.key("environ"))
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
        words += ["APFCID=$(Cluster).$(Process)", f"APFFID={fid}", "FACTORY_JOBID=$ENV(HOSTNAME)#$(Cluster).$(Process)"]
        if monitor_url:
            words.append(f"APFMON={monitor_url}")
        words.append(f"FACTORYQUEUE={self.queue.name}")
        if user:
            words.append(f"FACTORYUSER={user}")
        words += [f"{name}={value}" for name, value in typed_pilot.environment(self.pilot).items()]
        if self.workers is not None:
            words += [f"{ID_VARIABLE}={self.workers.harvester}", f"{WORKER_VARIABLE}=$INT({WORKER_MACRO})"]
        environ = self.value("environ")
        if environ:
            items = _ENV_TOKEN.findall(environ)
            if _ENV_TOKEN.sub("", environ).strip():
                raise self.fail(self.key("environ"), "unbalanced single quote", environ)
            for item in items:
                if not _ENV_ITEM.match(item):
                    raise self.fail(self.key("environ"), f"item {item!r} is not VAR=value (no double quotes)",
                                    environ)
            words.extend(items)
        return words

    def add_credential(self, d: Description) -> None:
        credential = self.credential()
        if credential is not None:
            d.add(credential.command, str(credential.path), credential.source)

    # -- the schedd ---------------------------------------------------------------------------
    def mine(self) -> str:
        """The constraint selecting this queue's pilots of this factory (of this plugin's type)."""
        mine = f"{FACTORY_ATTR} =?= {quote(self.factory.factory_id)} && {QUEUE_KEY} =?= {quote(self.queue.name)}"
        return mine if self.pilot is None else f"{mine} && {TYPE_ATTR} =?= {quote(self.pilot.resource_type)}"

    def schedd(self) -> Any:
        """The schedd, located once per plugin instance (find_submitted, then submit, share it)."""
        if self._schedd is None:
            self._schedd = get_schedd(self.schedd_endpoint)
        return self._schedd

    def find_submitted(self, cycle: str) -> list[str]:
        constraint = f"{self.mine()} && {CYCLE_ATTR} =?= {quote(cycle)}"
        schedd = self.schedd()
        ads = list(call(self.schedd_endpoint, "query", schedd.query, constraint=constraint,
                        projection=["ClusterId", "ProcId"]))
        started = cycle_time(cycle)
        if started is not None:   # pilots of the cycle that already left the queue
            ads += call(self.schedd_endpoint, "history", schedd.history, constraint=constraint,
                        projection=["ClusterId", "ProcId"], since=history_stop(started.timestamp()))
        return sorted({job_id(ad) for ad in ads}, key=_id_order)

    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        try:
            text = self.describe(n, cycle)
            credential = self.credential()
            if credential is not None and not dry_run:
                credentials.require_file(credential)
        except ConfigError as exc:
            raise BackendError(f"queue {self.queue.name}: {exc}") from None
        except credentials.CredentialError as exc:
            raise BackendError(f"queue {self.queue.name}: {exc.key} = {exc.value!r}: {exc}") from None
        if dry_run:
            return SubmitResult(description=text)
        log_dir, _ = self.factory.queue_log_dir(self.queue.name)
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"queue {self.queue.name}: cannot create the log folder {log_dir}: "
                               f"{exc.strerror or exc}") from None
        import htcondor2

        try:
            description = htcondor2.Submit(text)
        except Exception as exc:
            raise BackendError(f"queue {self.queue.name}: the submit description was refused: {exc}") from None
        result = call(self.schedd_endpoint, "submit", self.schedd().submit, description, count=n)
        cluster, first = result.cluster(), result.first_proc()
        return SubmitResult(ids=[f"{cluster}.{first + i}" for i in range(result.num_procs())], description=text)

    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        """Remove up to ``n`` pilots: idle first, then running ones unless peaceful; one act call."""
        peaceful = self.peaceful()
        states = "JobStatus =?= 1" if peaceful else "(JobStatus =?= 1 || JobStatus =?= 2)"
        schedd = self.schedd()
        ads = call(self.schedd_endpoint, "query", schedd.query, constraint=f"{self.mine()} && {states}",
                   projection=["ClusterId", "ProcId", "JobStatus", "QDate"])
        newest = self.killorder() == "newest"
        ads = sorted(ads, key=lambda ad: (ad.get("JobStatus") != 1,
                                          -(ad.get("QDate") or 0) if newest else (ad.get("QDate") or 0),
                                          _id_order(job_id(ad))))
        ids = [job_id(ad) for ad in ads[:max(0, n)]]
        reason = f"{REMOVE_REASON_PREFIX} retire: queue {self.queue.name} scaled down by {n}"
        if dry_run or not ids:
            return SubmitResult(ids=ids, description=f"remove {' '.join(ids)}" if ids else None)
        import htcondor2

        answer = call(self.schedd_endpoint, "remove", schedd.act, htcondor2.JobAction.Remove, ids,
                      act_reason(reason))
        done = total_success(answer, len(ids))
        if done < len(ids):
            log.warning("queue %s: the schedd removed %d of %d pilots", self.queue.name, done, len(ids))
        return SubmitResult(ids=ids[:done])

    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        return clean_queue(self, dry_run)


def quote_environment(words: list[str]) -> str:
    """The new-syntax ``environment`` value: double-quoted, space-separated words."""
    return '"' + " ".join(words) + '"'


def _id_order(text: str) -> tuple[int, int]:
    cluster, _, proc = text.partition(".")
    return (int(cluster), int(proc)) if cluster.isdigit() and proc.isdigit() else (0, 0)


HTTP_URL = re.compile(r"^https?://[A-Za-z0-9_.:\[\]-]+(/[A-Za-z0-9_./~-]*)?$")   # ARC and EC2 endpoints


# --- the plugins ------------------------------------------------------------------------------
GRID_TYPES = ("condor", "arc", "batch", "ec2", "gce", "azure")
DEAD_GRID_TYPES = {"gt2": "CondorCE or CondorARC", "gt5": "CondorCE or CondorARC", "gram": "CondorCE or CondorARC",
                   "cream": "CondorCE or CondorARC", "nordugrid": "CondorARC (grid type arc)"}


class CondorLocal(CondorBase):
    """Pilots in the local pool (vanilla universe); honours a configured proxy, which APF forgot."""

    PARENTS = ("condorlocal", "condorbase")

    def lines(self, d: Description, cycle: str) -> None:
        d.add("universe", "vanilla")
        d.add("should_transfer_files", "IF_NEEDED")
        d.add("+TransferOutput", '""')
        self.add_credential(d)
        super().lines(d, cycle)


class CondorGrid(CondorBase):
    """Grid universe with a credential; ``gridresource`` is the whole ``grid_resource`` value."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {
        "gridresource": Key("str", None, doc="grid_resource value: <type> <arguments>")}
    PARENTS = ("condorgrid", "condorbase")

    def grid_resource(self) -> str | None:
        value = self.value("gridresource")
        if value is None:
            return None
        kind = value.split()[0].lower() if value.split() else ""
        if kind in DEAD_GRID_TYPES:
            raise self.fail(self.key("gridresource"), f"grid type {kind!r} is gone from HTCondor; "
                                                      f"use {DEAD_GRID_TYPES[kind]}", value)
        if kind not in GRID_TYPES:
            raise self.fail(self.key("gridresource"), f"unknown grid type {kind!r} "
                                                      f"(known: {', '.join(GRID_TYPES)})", value)
        return value

    def lines(self, d: Description, cycle: str) -> None:
        resource = self.grid_resource()
        if resource is not None:
            d.add("grid_resource", resource, self.key("gridresource"))
        self.grid_lines(d)
        d.add("universe", "grid")
        self.add_credential(d)
        super().lines(d, cycle)

    def grid_lines(self, d: Description) -> None:
        """The grid type's own lines, between ``grid_resource`` and ``universe`` (APF's order)."""

    def host(self, suffix: str, required: bool = True) -> str | None:
        """A host name key, checked: no spaces, newlines or odd characters."""
        key = self.key(suffix)
        host = self.queue.getstr(key)
        if host is None:
            if required:
                raise self.fail(key, "required key is missing (a host name)")
            return None
        if not is_hostname(host):
            raise self.fail(key, "not a host name (spaces, newlines or odd characters)", host)
        return host


class CondorCE(CondorGrid):
    """HTCondor-CE through HTCondor-C: ``grid_resource = condor <host> <host>:<port>``."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {"port": Key("int", 9619, minimum=1, doc="HTCondor-CE port")}
    PARENTS = ("condorce", "condorgrid", "condorbase")

    def grid_resource(self) -> str:
        host = self.host("gridresource")
        port = self.value("port")
        return f"condor {host} {host}:{port}"

    def grid_lines(self, d: Description) -> None:
        d.add("+TransferOutput", '""')
        d.add("+Nonessential", "True")

    def pilot_lines(self, d: Description, pilot: PilotRequest) -> None:
        """HTCondor-CE: ``request_cpus``/``request_memory``, and the ``+xcount``/``+maxMemory``
        that CE routes of APF's days read (the CRIC sections set them for the queue's size)."""
        super().pilot_lines(d, pilot)
        d.add("+xcount", str(pilot.cores))
        if pilot.memory:
            d.add("+maxMemory", str(pilot.memory))


ARC_RSL = {"queue": "queue", "runtimeenvironment": "rte", "memory": "memory", "count": "cpus"}


class CondorARC(CondorGrid):
    """ARC CE through its REST interface: ``grid_resource = arc <host or URL>``.

    ``CondorNordugrid`` is the same plugin: its ``nordugridrsl.<key>`` settings are mapped
    where ARC's REST interface has an equivalent (queue, runtimeenvironment, memory, count)
    and ``nordugridrsl.addenv.<VAR>`` joins the pilot environment; other RSL is an error.
    """

    OWN_KEYS: ClassVar[dict[str, Key]] = {"arc_rte": Key("str", None, doc="runtime environments"),
                "arc_resources": Key("str", None, doc="ADL resources fragment"),
                "nordugridrsl": Key("str", None, doc="raw RSL '(name=value)...' (AGIS); mapped like the parts"),
                "nordugridrsl.*": Key("str", None, doc="APF's RSL parts (mapped, see docs/htcondor.md)")}
    PARENTS = ("condorarc", "condornordugrid", "condorce", "condorgrid", "condorbase")
    _RSL_PAIR = re.compile(r'\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"?([^()"]*?)"?\s*\)')

    def grid_resource(self) -> str:
        key = self.key("gridresource")
        value = self.queue.getstr(key)
        if value is None:
            raise self.fail(key, "required key is missing (the ARC CE host or URL)")
        if not (is_hostname(value) or HTTP_URL.match(value)):
            raise self.fail(key, "not a host name or https URL", value)
        return f"arc {value}"

    def rsl(self) -> dict[str, tuple[str, str]]:
        """RSL parts: ``nordugridrsl.<part>`` keys, and the ``(part=value)`` pairs of a raw RSL."""
        parts: dict[str, tuple[str, str]] = {}
        key = self.key("nordugridrsl")
        raw = self.queue.getstr(key)
        if raw:
            pairs = self._RSL_PAIR.findall(raw)
            if not pairs or self._RSL_PAIR.sub("", raw).strip(" &"):
                raise self.fail(key, "not a list of (name=value) RSL pairs", raw)
            parts.update({name.lower(): (key, value) for name, value in pairs})
        parts.update(self.family("nordugridrsl"))
        return parts

    def grid_lines(self, d: Description) -> None:
        rte = self.value("arc_rte")
        resources = self.value("arc_resources")
        for part, (key, value) in sorted(self.rsl().items()):
            value = value.strip()
            if part.startswith("addenv.") or not value:
                continue
            mapped = ARC_RSL.get(part)
            if mapped is None:
                raise self.fail(key, "this RSL setting has no equivalent in ARC's REST interface; "
                                     "use condor_attributes", value)
            if mapped == "queue":
                d.add("arc_resources", f"<QueueName>{value}</QueueName>", key)
            elif mapped == "rte":
                rte = value if not rte else f"{rte},{value}"
            elif mapped == "memory":
                d.add("request_memory", value, key)
            else:
                d.add("request_cpus", value, key)
        if rte:
            d.add("arc_rte", rte, self.key("arc_rte"))
        if resources:
            d.add("arc_resources", resources, self.key("arc_resources"))
        d.add("+Nonessential", "True")

    def environment(self, fid: str, log_url: str | None, monitor_url: str | None, user: str | None) -> list[str]:
        words = super().environment(fid, log_url, monitor_url, user)
        for part, (key, value) in sorted(self.rsl().items()):
            if part.startswith("addenv."):
                item = f"{part[len('addenv.'):]}={value.strip()}"
                if not _ENV_ITEM.match(item):
                    raise self.fail(key, "not usable as VAR=value (spaces or quotes)", value)
                words.append(item)
        return words

    def pilot_lines(self, d: Description, pilot: PilotRequest) -> None:
        """ARC: ``request_cpus`` is NumberOfSlots, ``request_memory`` IndividualPhysicalMemory, per
        slot (APF's RSL memory was per core too)."""
        d.add(f"+{TYPE_ATTR}", quote(pilot.resource_type))
        d.add("request_cpus", str(pilot.cores))
        if pilot.memory:
            d.add("request_memory", str(max(pilot.memory // pilot.cores, 1)))


class CondorBatch(CondorGrid):
    """A batch system through the blahp: ``grid_resource = batch <system> [user@host]``."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {"batch": Key("str", None, choices=("slurm", "pbs", "lsf", "sge", "condor"),
                             doc="the remote batch system"),
                "host": Key("str", None, doc="remote login host (over SSH); unset: local blahp"),
                "user": Key("str", None, doc="remote user"),
                "port": Key("int", None, minimum=1, doc="SSH port of the remote host"),
                "sshkey": Key("path", None, doc="private key for the SSH connection (--rgahp-key)")}
    PARENTS = ("condorbatch", "condorssh", "condorbase")
    HOST_REQUIRED: ClassVar[bool] = False
    _USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

    def grid_resource(self) -> str:
        batch = self.value("batch")
        if batch is None:
            raise self.fail(self.key("batch"), "required key is missing (slurm, pbs, lsf, sge or condor)")
        words = ["batch", batch.lower()]
        host = self.host("host", required=self.HOST_REQUIRED)
        if host is not None:
            user = self.queue.getstr(self.key("user"))
            if user is not None and not self._USER.match(user):
                raise self.fail(self.key("user"), "not a user name", user)
            port = self.value("port")
            words.append(f"{user}@{host}" if user else host)
            if port:
                words.append(f"--rgahp-port {port}")
            key = self.value("sshkey") or self.ssh_profile_key()
            if key:
                if not _ENV_WORD.match(key):
                    raise self.fail(self.key("sshkey"), "a path without spaces or quotes is needed", key)
                words.append(f"--rgahp-key {key}")
        return " ".join(words)

    def ssh_profile_key(self) -> str | None:
        """The private key of an SSH profile named by ``authprofile`` (APF's CondorSSH)."""
        found = self.profile(("ssh",))
        if found is None:
            return None
        from apfctl.auth.manager import watched_file

        return watched_file(found[1])

    def grid_lines(self, d: Description) -> None:
        d.add("+TransferOutput", '""')


class CondorSSH(CondorBatch):
    """APF's BOSCO plugin: the same as ``CondorBatch`` with the remote host required.

    The remote cluster is set up once with ``condor_remote_cluster --add``; apfctl never
    touches ``~/.ssh`` (APF overwrote ``~/.ssh/config``).
    """

    PARENTS = ("condorssh", "condorbatch", "condorbase")
    HOST_REQUIRED = True


class CondorEC2(CondorGrid):
    """Virtual machines through HTCondor's EC2 grid type (lines after the base block, as APF)."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {"ami_id": Key("str", None, doc="image id"), "instance_type": Key("str", None),
                "security_groups": Key("str", None), "spot_price": Key("float", None, minimum=0),
                "user_data": Key("str", None), "user_data_file": Key("path", None),
                "access_key_id": Key("path", None, doc="file holding the access key id"),
                "secret_access_key": Key("path", None, doc="file holding the secret key"),
                "usessh": Key("bool", False, doc="accepted in APF files; VMs are retired by condor_rm here")}
    PARENTS = ("condorec2", "condorbase")

    def executable(self) -> str | None:
        """The VM runs its image, not a pilot: the executable is the queue name (as in APF)."""
        return None

    def lines(self, d: Description, cycle: str) -> None:
        CondorBase.lines(self, d, cycle)
        key = self.key("gridresource")
        url = self.queue.getstr(key)
        if url is None:
            raise self.fail(key, "required key is missing (the EC2 service URL)")
        if not HTTP_URL.match(url):
            raise self.fail(key, "not an http(s) URL", url)
        d.add("universe", "grid")
        d.add("grid_resource", f"ec2 {url}", key)
        self.add_credential(d)
        for suffix in ("access_key_id", "secret_access_key", "ami_id"):
            value = self.value(suffix)
            if value is None:
                raise self.fail(self.key(suffix), "required key is missing")
            d.add(f"ec2_{suffix}", value, self.key(suffix))
        d.add("executable", self.queue.name)
        for suffix in ("instance_type", "user_data", "user_data_file", "security_groups"):
            value = self.value(suffix)
            if value is not None:
                d.add(f"ec2_{suffix}", str(value), self.key(suffix))
        price = self.value("spot_price")
        if price is not None:
            d.add("ec2_spot_price", f"{price:f}", self.key("spot_price"))


# --- dead middleware: recognised and refused --------------------------------------------------
class CondorGT2(Plugin):
    REFUSED = "Globus GRAM (gt2) is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorGT5(Plugin):
    REFUSED = "Globus GRAM (gt5) is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorGRAM(Plugin):
    REFUSED = "Globus GRAM is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorCREAM(Plugin):
    REFUSED = "CREAM CEs are retired and gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"
