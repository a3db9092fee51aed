"""Builders for the HTCondor tests: factory and queue files on disk, loaded like apfctl does."""

from __future__ import annotations

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
