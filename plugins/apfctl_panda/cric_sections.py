"""Queue sections from selected CRIC queues, as APF's Agis plugin made them.

One section per selected CE, named ``<panda_resource>-<ce host>`` (APF's name). A second CE
of the same queue on the same host (another batch queue behind it) gets
``<panda_resource>-<ce host>-<ce_queue_name>`` instead of silently replacing the first.

Every value here is built from checked fields (:mod:`apfctl_panda.cric_doc`), so none holds
a newline, a quote or a ``%``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apfctl.resourcetypes.definitions import ResourceType
from apfctl_panda.cric_doc import CE, PandaQueue
from apfctl_panda.cric_resources import resource_values

# CE flavour -> submit plugin. HTCondor-CE and ARC-CE are the CEs in service today.
FLAVOUR_PLUGINS = {"htcondor-ce": "CondorCE", "arc-ce": "CondorARC"}
IGNORED_FLAVOURS = frozenset({"lcg-ce"})  # APF ignored these without a word
HTCONDOR_CE_PORT = 9619
# APF's Agis plugin set this on every HTCondor-CE queue: a pilot running for a week is removed.
CE_PERIODIC_REMOVE = "periodic_remove = (JobStatus == 2 && (CurrentTime - EnteredCurrentStatus) > 604800)"
ARC_RUNTIME = "APPS/HEP/ATLAS-SITE-LCG,ENV/PROXY"   # APF's runtime environments


@dataclass(frozen=True)
class Scale:
    """APF's ``sched.scale.factor = (1/numfactories) / CEs of the queue / jobsperpilot``."""

    jobs_per_pilot: float = 1.0
    factories: int = 1

    def factor(self, ces: int) -> str:
        return f"{(1.0 / self.factories) / ces / self.jobs_per_pilot:.6g}"


def _htcondor_ce(pq: PandaQueue, ce: CE) -> dict[str, str]:
    prefix = "batchsubmit.condorce"
    values = {f"{prefix}.gridresource": ce.host, f"{prefix}.condor_attributes": CE_PERIODIC_REMOVE}
    if ce.port is not None and ce.port != HTCONDOR_CE_PORT:
        values[f"{prefix}.port"] = str(ce.port)
    attributes = f"{prefix}.condor_attributes."
    if pq.memory:
        values[attributes + "+maxMemory"] = str(pq.memory)
    values[attributes + "+xcount"] = str(pq.corecount)
    values[attributes + "+voactivity"] = f'"{pq.activity}"'
    if ce.queue_name and ce.queue_name != "default":
        values[attributes + "+remote_queue"] = f'"{ce.queue_name}"'
    if ce.max_walltime:
        values[attributes + "+maxWallTime"] = str(ce.max_walltime)
    return values


def _arc_ce(pq: PandaQueue, ce: CE) -> dict[str, str]:
    """APF's ARC RSL, in the parts the CondorARC plugin maps to ARC's REST interface.

    APF's ``(walltime)``/``(cputime)`` have no such equivalent and are left out.
    """
    prefix = "batchsubmit.condorarc"
    cores = pq.corecount
    values = {f"{prefix}.gridresource": ce.host, f"{prefix}.arc_rte": ARC_RUNTIME,
              f"{prefix}.nordugridrsl.count": str(cores),
              f"{prefix}.nordugridrsl.addenv.RUCIO_ACCOUNT": "pilot"}
    if pq.memory:
        values[f"{prefix}.nordugridrsl.memory"] = str(pq.memory // cores)   # per core, as APF's RSL
    if ce.queue_name:
        values[f"{prefix}.nordugridrsl.queue"] = ce.queue_name
        values[f"{prefix}.condor_attributes.+remote_queue"] = f'"{ce.queue_name}"'
    return values


def build(pq: PandaQueue, scale: Scale, warnings: list[str],
          types: Mapping[str, ResourceType] | None = None) -> dict[str, dict[str, str]]:
    """The sections of one CRIC queue: section name -> key -> value.

    With ``types`` (the factory's resource types) each section also carries the queue's
    resource types, size and Harvester limits (:mod:`apfctl_panda.cric_resources`).
    """
    usable = []
    for ce in pq.ces:
        if ce.flavour in IGNORED_FLAVOURS:
            continue
        if ce.flavour not in FLAVOUR_PLUGINS:
            warnings.append(f"skipped CE {ce.host} of CRIC queue {pq.name}: flavour {ce.flavour!r} is not supported "
                            f"(supported: {', '.join(sorted(FLAVOUR_PLUGINS))})")
            continue
        usable.append(ce)
    sections: dict[str, dict[str, str]] = {}
    for ce in usable:
        name = f"{pq.resource}-{ce.host}"
        if name in sections and ce.queue_name:
            name = f"{name}-{ce.queue_name}"
        if name in sections:
            warnings.append(f"skipped CE {ce.host} of CRIC queue {pq.name}: a second entry for section [{name}]")
            continue
        plugin = FLAVOUR_PLUGINS[ce.flavour]
        values = {"enabled": "True", "batchqueue": pq.name, "wmsqueue": pq.resource, "batchsubmitplugin": plugin}
        values.update(_htcondor_ce(pq, ce) if plugin == "CondorCE" else _arc_ce(pq, ce))
        sections[name] = values
    if sections:
        factor = scale.factor(len(sections))
        resources = resource_values(pq, types, warnings) if types is not None else {}
        for values in sections.values():
            values["sched.scale.factor"] = factor
            values.update(resources)
    return sections
