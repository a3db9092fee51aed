"""Builders for the HTCondor tests: factory and queue files on disk, loaded like apfctl does."""

from __future__ import annotations

import getpass
import os
import textwrap
from pathlib import Path
from typing import Any

from apfctl.config.loader import load


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def factory_file(tmp: Path, queues: str, extra: str = "") -> Path:
    write(tmp / "queues.conf", queues)
    return write(tmp / "apfctl.conf", f"""
        [Factory]
        factoryId = test-factory
        factoryAdminEmail = admin@example.org
        factoryUser = apf
        baseLogDir = {tmp / 'logs'}
        baseLogDirUrl = http://factory.example.org:25880
        queueConf = queues.conf
        {textwrap.dedent(extra).strip()}
        """)


def loaded(tmp: Path, queues: str, extra: str = "") -> Any:
    return load(str(factory_file(tmp, queues, extra)), str(tmp / "state"))


def queue_section(name: str, plugin: str = "CondorLocal", body: str = "", wms: str = "Condor",
                  sched: str = "Ready") -> str:
    return textwrap.dedent(f"""
        [{name}]
        enabled = True
        wmsstatusplugin = {wms}
        batchstatusplugin = Condor
        batchsubmitplugin = {plugin}
        schedplugin = {sched}
        executable = /usr/bin/runpilot.sh
        executable.arguments = -q {name} -s SITE
        """) + textwrap.dedent(body)


def submit_plugin(ld: Any, queue: str) -> Any:
    from apfctl import plugins

    section = ld.queue(queue)
    name = section.getstr("batchsubmitplugin")
    return plugins.find("batchsubmit", name)(plugins.canonical("batchsubmit", name), section, ld.context)


# --- queues for the real pools (tests/condor/real_pools.py) ------------------------------------
# root's jobs belong to the pool's user (condor-pools.sh); anyone else's to themselves
OWNER = os.environ.get("APFCTL_CONDOR_USER", "htcuser") if os.geteuid() == 0 else getpass.getuser()
NEVER = "batchsubmit.{p}.condor_attributes.requirements = False\n"   # idle for good: no slot matches
HOLD = "batchsubmit.{p}.condor_attributes = hold = True\n"   # held from the start (HoldReasonCode 15)


def real_section(name: str, executable: str, plugin: str = "CondorLocal", body: str = "", arguments: str = "") -> str:
    return textwrap.dedent(f"""
        [{name}]
        enabled = True
        batchstatusplugin = Condor
        batchsubmitplugin = {plugin}
        schedplugin = Fixed
        sched.fixed.pilots = 0
        executable = {executable}
        executable.arguments = {arguments or '-q ' + name}
        """) + textwrap.dedent(body).format(p=plugin.lower())


def batch(ld: Any, queue: str) -> dict:
    """The queue's batch section, as the status stage reads it now."""
    from apfctl.stages.status import collect

    return collect(ld, [queue])[0]["batch"]
