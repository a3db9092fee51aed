"""The keys apfctl itself reads, in the ``[Factory]`` section and in every queue section.

Plugin keys are declared by the plugins (``KEYS``/``FACTORY_KEYS``). APF keys that nothing
reads any more are declared ``LEGACY`` so an APF file loads without a warning for each.
"""

from __future__ import annotations

from apfctl.config.keys import Key
from apfctl.resourcetypes import definitions, limits, queueconf

QUEUE_KEYS: dict[str, Key] = {
    "enabled": Key("bool", False, doc="the queue is cycled only when True (APF: absent means disabled)"),
    "wmsqueue": Key("str", None, doc="the queue's name in the WMS (PanDA siteid); default: the section name"),
    "batchqueue": Key("str", None, doc="PanDA queue name, used through interpolation"),
    "vo": Key("str"), "grid": Key("str"), "cloud": Key("str"), "status": Key("str"),
    "description": Key("str"),
    "apfqueue.sleep": Key("int", 360, minimum=1, doc="seconds between cycles (monitor staleness)"),
    "cleanlogs.keepdays": Key("int", None, minimum=0, doc="days to keep pilot logs"),
    "wmsstatusplugin": Key("str", None, doc="WMS status plugin, or None"),
    "batchstatusplugin": Key("str", None, required=True, doc="batch status plugin"),
    "batchsubmitplugin": Key("str", None, required=True, doc="batch submit plugin"),
    "schedplugin": Key("list", None, required=True, doc="decision rules, applied in order from 0"),
    "monitorsection": Key("list", None, doc="monitor.conf sections that publish this queue"),
    "executable": Key("command", None, doc="the pilot (or wrapper) each pilot job runs"),
    "executable.arguments": Key("str", None, doc="its arguments"),
    "executable.defaultarguments": Key("str", None, doc="a template for executable.arguments"),
    **queueconf.QUEUE_KEYS,   # resourcetypes, corecount, maxrss, ... (docs/resource-types.md)
    **limits.QUEUE_KEYS,      # Harvester's queue limits
    "submit.maximum": Key("int", 1000, minimum=0,
                          doc="most pilots submitted (or retired) for the queue in one cycle, whatever a record "
                              "asks (Slurm's default array limit)"),
}

FACTORY_KEYS: dict[str, Key] = {
    "factoryId": Key("str", "apfctl", doc="the factory's name: pilots, apfmon, ledger"),
    "harvesterID": Key("str", None, doc="new: the factory's id in PanDA's Harvester API (HARVESTER_ID); "
                                        "default factoryId"),
    "factoryAdminEmail": Key("str"),
    "factorySMTPServer": Key("str"),
    "factoryMinEmailRepeatSeconds": Key("int", 3600),
    "factoryUser": Key("str"),
    "enablequeues": Key("bool", True, doc="False disables every queue"),
    "queueConf": Key("list", None, doc="queue files, comma-separated (file:// prefix allowed)"),
    "queueDirConf": Key("path", None, doc="a folder whose *.conf files are queue files"),
    "authConf": Key("path", None),
    "monitorConf": Key("path", None, doc="monitor.conf: sections named by queues' monitorsection"),
    "mappingsConf": Key("path", None),
    "cycles": Key("int", None), "factory.sleep": Key("int", None),
    "cleanlogs.keepdays": Key("int", 14, minimum=0),
    "baseLogDir": Key("path", None, doc="pilot logs: baseLogDir/YYYY-MM-DD/<queue>/"),
    "baseLogDirUrl": Key("str", None, doc="the URL under which baseLogDir is served"),
    "logserver.enabled": Key("bool", False), "logserver.index": Key("bool", True),
    "logserver.allowrobots": Key("bool", False),
    "config.queues.plugin": Key("list", None, doc="queue config plugins, in override order (default File)"),
    "config.auth.plugin": Key("list", None),
    "config.reconfig": Key("bool", False), "config.reconfig.interval": Key("int", 3600),
    "authmanager.enabled": Key("bool", True), "authmanager.sleep": Key("int", None),
    "monitor": Key("str"), "abort_no_queues": Key("bool", False),
    "ledger.retention": Key("float", 30.0, minimum=0, doc="days of records the ledger keeps"),
    "ledger.timeout": Key("float", 10.0, minimum=0, doc="seconds to wait for a ledger locked by another process"),
    "apfctl.threads": Key("int", 8, minimum=1, doc="concurrent status queries (one per endpoint)"),
    **definitions.FACTORY_KEYS,   # resourcetype.<NAME>.<field>
}

# Keys of APF's shipped files that APF itself never read (dead plugins' keys): accepted silently.
LEGACY_QUEUE_PREFIXES = ("sched.activated.", "sched.simple.", "sched.trivial.", "globusrsl.")
LEGACY_QUEUE_KEYS = frozenset({"override", "autofill", "sched.statustest.allowed", "sched.statusoffline.allowed"})
LEGACY_FACTORY_KEYS = frozenset({
    "proxyConf", "proxymanager.enabled", "proxymanager.sleep", "monitor.section", "monitor.interval",
    "versionTag", "baseLogHttpPort", "monitorURL", "wmsstatus.maximum", "batchstatus.maxtime",
    "cyclesToDo", "sleepTime", "confFiles",
})
LEGACY_FACTORY_SUFFIXES = (".sleep", ".maxage")


def is_legacy_queue_key(key: str) -> bool:
    return key in LEGACY_QUEUE_KEYS or key.startswith(LEGACY_QUEUE_PREFIXES) or key.endswith(".queryargs")


def is_legacy_factory_key(key: str) -> bool:
    return key in LEGACY_FACTORY_KEYS or key.endswith(LEGACY_FACTORY_SUFFIXES)
