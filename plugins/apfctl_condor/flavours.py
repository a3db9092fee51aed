"""The HTCondor submit plugins, one class per way pilots reach a site (APF's plugin names).

``CondorLocal`` (the local pool), ``CondorGrid`` (any ``grid_resource``), ``CondorCE`` /
``CondorOSGCE`` (HTCondor-CE through HTCondor-C), ``CondorARC`` / ``CondorNordugrid`` (ARC
REST) and ``CondorBatch`` / ``CondorSSH`` / ``CondorPBS`` / ``CondorLSF`` (the blahp, locally or
over SSH); ``CondorEC2`` (virtual machines) is :mod:`apfctl_condor.ec2`. Each adds its lines,
then its parent's.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

from apfctl.auth import audience
from apfctl.config.keys import Key
from apfctl.interfaces import PilotRequest
from apfctl_condor import credentials
from apfctl_condor.base import ENV_ITEM, ENV_WORD, CondorBase
from apfctl_condor.description import Description
from apfctl_condor.settings import is_hostname, quote
from apfctl_condor.states import TYPE_ATTR

log = logging.getLogger("apfctl.condor")

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
        value = self.q.value("gridresource")
        if value is None:
            return None
        kind = value.split()[0].lower() if value.split() else ""
        if kind in DEAD_GRID_TYPES:
            raise self.q.fail(self.q.key("gridresource"), f"grid type {kind!r} is gone from HTCondor; "
                                                      f"use {DEAD_GRID_TYPES[kind]}", value)
        if kind not in GRID_TYPES:
            raise self.q.fail(self.q.key("gridresource"), f"unknown grid type {kind!r} "
                                                      f"(known: {', '.join(GRID_TYPES)})", value)
        return value

    def lines(self, d: Description, cycle: str) -> None:
        resource = self.grid_resource()
        if resource is not None:
            d.add("grid_resource", resource, self.q.key("gridresource"))
        self.grid_lines(d)
        d.add("universe", "grid")
        self.add_credential(d)
        super().lines(d, cycle)

    def grid_lines(self, d: Description) -> None:
        """The grid type's own lines, between ``grid_resource`` and ``universe`` (APF's order)."""

    def host(self, suffix: str, required: bool = True) -> str | None:
        """A host name key, checked: no spaces, newlines or odd characters."""
        key = self.q.key(suffix)
        host = self.queue.getstr(key)
        if host is None:
            if required:
                raise self.q.fail(key, "required key is missing (a host name)")
            return None
        if not is_hostname(host):
            raise self.q.fail(key, "not a host name (spaces, newlines or odd characters)", host)
        return host


class CondorCE(CondorGrid):
    """HTCondor-CE through HTCondor-C: ``grid_resource = condor <host> <host>:<port>``."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {"port": Key("int", 9619, minimum=1, doc="HTCondor-CE port")}
    PARENTS = ("condorce", "condorgrid", "condorbase")
    NEEDS_CREDENTIAL = True

    def grid_resource(self) -> str:
        host = self.host("gridresource")
        port = self.q.value("port")
        return f"condor {host} {host}:{port}"

    def credential_audience(self) -> str:
        """``host:port``, what HTCondor-CE expects in a token (SCITOKENS_SERVER_AUDIENCE)."""
        key = self.q.key("gridresource")
        try:
            return audience.htcondor_ce(self.queue.getstr(key), self.q.value("port"))
        except audience.AudienceError as exc:
            raise self.q.fail(key, f"no token audience for this CE: {exc}", self.queue.getstr(key)) from None

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
# RSL that APF's files and its AGIS plugin write and ARC's REST interface has no place for:
# accepted, and named in a warning as ignored (HTCondor's arc grid type sets the job name).
ARC_IGNORED_RSL = frozenset({"jobname", "countpernode", "walltime", "cputime"})
# APF's own spelling: queue-level ``nordugridrsl.<part>``; two of its parts are whole RSL lists.
APF_RSL_PREFIX = "nordugridrsl."
APF_RSL_LISTS = ("nordugridrsl", "nordugridrsladd")


class CondorARC(CondorGrid):
    """ARC CE through its REST interface: ``grid_resource = arc <host or URL>``.

    ``CondorNordugrid`` is the same plugin. Its RSL is read as APF did: the queue-level
    ``nordugridrsl.<part>`` keys of APF's ``queues.conf`` and AGIS plugin (``nordugridrsl.queue``,
    ``nordugridrsl.nordugridrsladd``, ``nordugridrsl.addenv.<VAR>``), and apfctl's
    ``batchsubmit.<plugin>.nordugridrsl[.<part>]`` (which win). Parts with an ARC REST
    equivalent are mapped (queue, runtimeenvironment, memory, count), ``addenv.<VAR>`` joins
    the pilot environment, the ones in :data:`ARC_IGNORED_RSL` are ignored with a warning,
    any other is an error. The queue and ``arc_resources`` make one ADL fragment.
    """

    OWN_KEYS: ClassVar[dict[str, Key]] = {"arc_rte": Key("str", None, doc="runtime environments"),
                "arc_resources": Key("str", None, doc="ADL resources fragment"),
                "nordugridrsl": Key("str", None, doc="raw RSL '(name=value)...' (AGIS); mapped like the parts"),
                "nordugridrsl.*": Key("str", None, doc="APF's RSL parts (mapped, see docs/htcondor.md)")}
    PARENTS = ("condorarc", "condornordugrid", "condorce", "condorgrid", "condorbase")
    NEEDS_CREDENTIAL = True
    _RSL_PAIR = re.compile(r'\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"?([^()"]*?)"?\s*\)')

    def grid_resource(self) -> str:
        key = self.q.key("gridresource")
        value = self.queue.getstr(key)
        if value is None:
            raise self.q.fail(key, "required key is missing (the ARC CE host or URL)")
        if value.lower().startswith("gsiftp://"):   # CRIC's GridFTP endpoint: the same CE's REST interface
            try:
                value = audience.arc_ce(value)
            except audience.AudienceError as exc:
                raise self.q.fail(key, str(exc), value) from None
        if not (is_hostname(value) or HTTP_URL.match(value)):
            raise self.q.fail(key, "not a host name or https URL", value)
        return f"arc {value}"

    def credential_audience(self) -> str:
        """``https://host[:port]``, what ARC CE's REST interface expects in a token."""
        key = self.q.key("gridresource")
        try:
            return audience.arc_ce(self.queue.getstr(key))
        except audience.AudienceError as exc:
            raise self.q.fail(key, f"no token audience for this CE: {exc}", self.queue.getstr(key)) from None

    def _pairs(self, key: str, raw: str) -> dict[str, tuple[str, str]]:
        pairs = self._RSL_PAIR.findall(raw)
        if not pairs or self._RSL_PAIR.sub("", raw).strip(" &\n\t"):
            raise self.q.fail(key, "not a list of (name=value) RSL pairs", raw)
        found: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            part = name.lower()
            if part == "runtimeenvironment" and part in found:   # APF lists several
                value = f"{found[part][1]},{value}"
            found[part] = (key, value)
        return found

    def rsl(self) -> dict[str, tuple[str, str]]:
        """RSL part -> (key, value): APF's queue-level keys first, then apfctl's, which win."""
        parts: dict[str, tuple[str, str]] = {}
        for key in self.queue:
            if not key.startswith(APF_RSL_PREFIX):
                continue
            part, value = key[len(APF_RSL_PREFIX):], self.queue.get(key) or ""
            if part.lower() in APF_RSL_LISTS:
                if value.strip():
                    parts.update(self._pairs(key, value))
            else:
                parts[part.lower() if not part.lower().startswith("addenv.") else part] = (key, value)
        key = self.q.key("nordugridrsl")
        raw = self.queue.getstr(key)
        if raw:
            parts.update(self._pairs(key, raw))
        parts.update(self.q.family("nordugridrsl"))
        return parts

    def grid_lines(self, d: Description) -> None:
        rte = self.q.value("arc_rte")
        resources = self.q.value("arc_resources")
        resources_key = self.q.key("arc_resources")
        ignored = []
        for part, (key, value) in sorted(self.rsl().items()):
            value = value.strip()
            if part.startswith("addenv.") or not value:
                continue
            mapped = ARC_RSL.get(part.lower())
            if mapped is None and part.lower() in ARC_IGNORED_RSL:
                ignored.append(f"{part} = {value} ({key})")
                continue
            if mapped is None:
                raise self.q.fail(key, "this RSL setting has no equivalent in ARC's REST interface; "
                                     "use condor_attributes", value)
            if mapped == "queue":
                if resources and "<queuename>" in resources.lower():
                    raise self.q.fail(resources_key, f"names a QueueName and {key} names one too", resources)
                resources = f"<QueueName>{value}</QueueName>{resources or ''}"
                resources_key = f"{key} and {resources_key}" if self.q.value("arc_resources") else key
            elif mapped == "rte":
                rte = value if not rte else f"{rte},{value}"
            elif mapped == "memory":
                d.add("request_memory", value, key)
            else:
                d.add("request_cpus", value, key)
        if ignored and not self._warned:
            log.warning("queue %s: RSL ignored on ARC's REST interface: %s", self.queue.name, "; ".join(ignored))
            self._warned = True
        if rte:
            d.add("arc_rte", rte, self.q.key("arc_rte"))
        if resources:
            d.add("arc_resources", resources, resources_key)
        d.add("+Nonessential", "True")

    _warned = False

    def pilot_lines(self, d: Description, pilot: PilotRequest) -> None:
        """ARC: ``request_cpus`` is NumberOfSlots, ``request_memory`` IndividualPhysicalMemory, per
        slot (APF's RSL memory was per core too)."""
        d.add(f"+{TYPE_ATTR}", quote(pilot.resource_type))
        d.add("request_cpus", str(pilot.cores))
        if pilot.memory:
            d.add("request_memory", str(max(pilot.memory // pilot.cores, 1)))

    def environment(self, fid: str, log_url: str | None, monitor_url: str | None, user: str | None) -> list[str]:
        words = super().environment(fid, log_url, monitor_url, user)
        for part, (key, value) in sorted(self.rsl().items()):
            if part.lower().startswith("addenv."):
                item = f"{part[len('addenv.'):]}={value.strip()}"
                if not ENV_ITEM.match(item):
                    raise self.q.fail(key, "not usable as VAR=value (spaces or quotes)", value)
                words.append(item)
        return words


CondorARC.KEYS[f"{APF_RSL_PREFIX}*"] = Key("str", None, doc="APF's queue-level RSL parts "
                                                           "(as batchsubmit.<plugin>.nordugridrsl.<part>)")


# the batch systems of HTCondor's batch grid type (the blahp's supported_lrms)
BATCH_SYSTEMS = ("slurm", "pbs", "lsf", "sge", "condor", "flux")


class CondorBatch(CondorGrid):
    """A batch system through the blahp: ``grid_resource = batch <system> [user@host]``."""

    OWN_KEYS: ClassVar[dict[str, Key]] = {"batch": Key("str", None, choices=BATCH_SYSTEMS,
                             doc="the remote batch system"),
                "host": Key("str", None, doc="remote login host (over SSH); unset: local blahp"),
                "user": Key("str", None, doc="remote user"),
                "port": Key("int", None, minimum=1, doc="SSH port of the remote host"),
                "sshkey": Key("path", None, doc="private key for the SSH connection (--rgahp-key)")}
    PARENTS = ("condorbatch", "condorssh", "condorbase")
    HOST_REQUIRED: ClassVar[bool] = False
    BATCH: ClassVar[str | None] = None   # APF's CondorPBS and CondorLSF name the batch system
    _USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

    def grid_resource(self) -> str:
        batch = self.q.value("batch")
        if self.BATCH is not None:
            if batch is not None and batch.lower() != self.BATCH:
                raise self.q.fail(self.q.key("batch"), f"{self.name} submits to {self.BATCH}; use CondorBatch "
                                                   "for another batch system", batch)
            batch = self.BATCH
        if batch is None:
            raise self.q.fail(self.q.key("batch"), f"required key is missing ({', '.join(BATCH_SYSTEMS)})")
        words = ["batch", batch.lower()]
        host = self.host("host", required=self.HOST_REQUIRED)
        if host is not None:
            user = self.queue.getstr(self.q.key("user"))
            if user is not None and not self._USER.match(user):
                raise self.q.fail(self.q.key("user"), "not a user name", user)
            port = self.q.value("port")   # remote_gahp reads it from the host: user@host:PORT
            words.append((f"{user}@{host}" if user else host) + (f":{port}" if port else ""))
            key = self.q.value("sshkey") or credentials.ssh_key(self.q)
            if key:
                if not ENV_WORD.match(key):
                    raise self.q.fail(self.q.key("sshkey"), "a path without spaces or quotes is needed", key)
                words.append(f"--rgahp-key {key}")
        return " ".join(words)

    def grid_lines(self, d: Description) -> None:
        d.add("+TransferOutput", '""')


class CondorSSH(CondorBatch):
    """APF's BOSCO plugin: the same as ``CondorBatch`` with the remote host required.

    The remote cluster is set up once with ``condor_remote_cluster --add``; apfctl never
    touches ``~/.ssh`` (APF overwrote ``~/.ssh/config``).
    """

    PARENTS = ("condorssh", "condorbatch", "condorbase")
    HOST_REQUIRED = True


class CondorPBS(CondorBatch):
    """APF's ``CondorPBS``: ``CondorBatch`` with ``batch = pbs`` (keys also under ``condorpbs``)."""

    PARENTS = ("condorpbs", "condorbatch", "condorgrid", "condorbase")
    BATCH = "pbs"


class CondorLSF(CondorBatch):
    """APF's ``CondorLSF``: ``CondorBatch`` with ``batch = lsf`` (keys also under ``condorlsf``)."""

    PARENTS = ("condorlsf", "condorbatch", "condorgrid", "condorbase")
    BATCH = "lsf"
