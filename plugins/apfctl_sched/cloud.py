"""Cloud mode: as many VMs as the pool's user jobs need, and a negative decision for the excess.

APF's ``Ready`` never goes below 0, so with it alone VMs are started but never retired; and
``KeepNRunning`` after ``Ready`` counts booting VMs twice and retires them while they boot.
``VMsForWork`` sizes the VMs to the work itself: the user jobs waiting (``wms.ready``) and
running (``wms.running``), ``jobs_per_vm`` to a VM. VMs booting are pending and VMs up
(idle, busy, draining, gone: everything not yet removed) are running, as the ``Condor``
batch status reports an EC2 queue (docs/cloud.md), so a positive result is new VMs and a
negative one is the excess to retire; VMs already retiring count against it in the plugin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, message
from apfctl_sched.common import Rule, usable


class VMsForWork(Rule):
    """``ceil((ready + running jobs) / jobs_per_vm) - (VMs pending + VMs running)``; ignores n."""

    KEYS: ClassVar[KeyMap] = {
        "sched.vmsforwork.jobs_per_vm": Key("int", 1, minimum=1, doc="user jobs one VM runs at once (its slots)"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.per_vm = self.setting("sched.vmsforwork.jobs_per_vm")
        self.said = message("VMsForWork", in_=NUMBER, jobs=NUMBER, jobspervm=self.per_vm, needed=NUMBER,
                            pending=NUMBER, running=NUMBER, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not usable(record):
            return 0, _VMS_UNUSABLE(n)
        jobs = max(0, record["wms"]["ready"]) + max(0, record["wms"]["running"])
        needed = math.ceil(jobs / self.per_vm)
        pending, running = max(0, record["batch"]["pending"]), max(0, record["batch"]["running"])
        out = needed - (pending + running)
        return out, self.said(n, jobs, needed, pending, running, out)


_VMS_UNUSABLE = message("VMsForWork", comment="Invalid wmsinfo or batchinfo", in_=NUMBER, ret=0)
