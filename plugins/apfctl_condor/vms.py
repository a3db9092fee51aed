"""Virtual machines of an EC2 queue: each VM's grid job joined to the startd that booted from it.

Pure functions over ads (anything with ``get``): the grid jobs of the factory's schedd
(``EC2InstanceName`` is the instance id HTCondor's EC2 GAHP learnt) and the startd ads of
the pool the VMs join, matched by the attribute each VM's startd advertises with its
instance id (``EC2InstanceID`` by default; APF's ``executeinfo`` made the same link).

A VM is in exactly one state (the table :data:`STATES`):

``booting``
    no startd with its instance id yet, within ``boot_timeout`` of its grid job's start;
``idle`` / ``busy``
    its startd is in the pool, no slot claimed / some slot claimed;
``draining``
    the factory told its startd to shut down peacefully (the grid job carries
    ``ApfctlRetiring``, the time it was told) and the startd is still there;
``gone``
    no startd, and either it was retiring or the boot timeout passed (it never joined, or
    its startd died): its grid job is to be removed, which terminates the instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from apfctl_condor.states import PENDING, QUEUE_KEY, RUNNING, attribute, job_id

RETIRING_ATTR = "ApfctlRetiring"        # set on a VM's grid job when its startd was told to shut down
INSTANCE_ATTR = "EC2InstanceName"       # the grid job's instance id (set by HTCondor's EC2 GAHP)
JOB_ATTRS = ["ClusterId", "ProcId", QUEUE_KEY, "JobStatus", INSTANCE_ATTR, "GridJobStatus", "QDate",
             "EnteredCurrentStatus", RETIRING_ATTR]
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BUSY_SLOT_STATES = frozenset({"Claimed", "Preempting"})
STATES = ("booting", "idle", "busy", "draining", "gone")
# The record's counts: VMs pending to boot, running idle, running busy, retiring (draining), gone.
COUNT_NAMES = {"booting": "pending", "idle": "idle", "busy": "busy", "draining": "retiring", "gone": "gone"}


@dataclass(frozen=True)
class VM:
    """One VM as the record shows it."""

    job: str                      # its grid job, cluster.proc
    instance: str | None          # EC2 instance id, once the GAHP knows it
    instance_state: str | None    # the EC2 state the GAHP last saw (GridJobStatus: pending, running, ...)
    startd: str | None            # the startd (machine) that joined from it
    state: str                    # one of STATES
    since: float                  # when its grid job was submitted, or started running
    why: str | None = None        # for gone: why its grid job is to be removed
    retiring_since: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def startds_by_instance(startd_ads: Iterable[Any], attr: str) -> dict[str, list[Any]]:
    """Slot ads grouped by the instance id their startd advertises (ads without one are skipped)."""
    found: dict[str, list[Any]] = {}
    for ad in startd_ads:
        instance = ad.get(attr)
        if isinstance(instance, str) and instance:
            found.setdefault(instance, []).append(ad)
    return found


def vm_state(job: Any, slots: list[Any], boot_timeout: float, now: float) -> VM:
    """The state of one VM from its grid job ad and its startd's slot ads (maybe none)."""
    status = attribute(job, "JobStatus", "int")
    instance = attribute(job, INSTANCE_ATTR, "str")
    retiring = attribute(job, RETIRING_ATTR, "number")
    started = (attribute(job, "EnteredCurrentStatus", "number") if status == RUNNING
               else attribute(job, "QDate", "number")) or now
    common = {"job": job_id(job), "instance": instance, "instance_state": attribute(job, "GridJobStatus", "str"),
              "since": float(started), "retiring_since": float(retiring) if retiring is not None else None}
    if slots:
        name = slots[0].get("Machine") or slots[0].get("Name")
        busy = any(slot.get("State") in BUSY_SLOT_STATES for slot in slots)
        state = "draining" if retiring is not None else "busy" if busy else "idle"
        return VM(startd=name if isinstance(name, str) else None, state=state, **common)
    if retiring is not None:
        return VM(startd=None, state="gone", why="its startd left the pool after retirement", **common)
    if now - started > boot_timeout:
        why = (f"no startd advertising instance {instance} within the boot timeout ({boot_timeout:g} s): "
               "it never joined or its startd died" if instance
               else f"no instance within the boot timeout ({boot_timeout:g} s)")
        return VM(startd=None, state="gone", why=why, **common)
    return VM(startd=None, state="booting", **common)


def vm_states(job_ads: Iterable[Any], startd_ads: Iterable[Any], attr: str, boot_timeout: float,
              now: float) -> list[VM]:
    """Every idle or running VM job of the ads, in job order; held VM jobs are the batch's held count.

    An attribute of the wrong type raises :class:`~apfctl_condor.states.BadAttribute`.
    """
    by_instance = startds_by_instance(startd_ads, attr)
    vms = []
    for job in job_ads:
        if attribute(job, "JobStatus", "int") not in (PENDING, RUNNING):
            continue
        instance = attribute(job, INSTANCE_ATTR, "str")
        vms.append(vm_state(job, by_instance.get(instance, []) if instance else [], boot_timeout, now))
    return vms


def counts(vms: Iterable[VM]) -> dict[str, int]:
    """``{pending, idle, busy, retiring, gone}``: how many VMs are in each state."""
    total = dict.fromkeys(COUNT_NAMES.values(), 0)
    for vm in vms:
        total[COUNT_NAMES[vm.state]] += 1
    return total


def batch_view(vms: list[VM]) -> Mapping[str, int]:
    """What decide sees: booting VMs are pending; every VM with an instance still up is running
    (draining and gone VMs cost until their grid job is removed), ``retiring`` counts those."""
    total = counts(vms)
    return {"pending": total["pending"], "running": total["idle"] + total["busy"] + total["retiring"] + total["gone"],
            "retiring": total["retiring"] + total["gone"]}

