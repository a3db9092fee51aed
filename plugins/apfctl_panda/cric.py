"""The ``CRIC`` queues-config plugin: queue sections built from CRIC's PanDA-queue document.

Layering (docs/panda.md): for each filter group, the group's defaults file ``[DEFAULT]``,
then the CRIC-derived values (one layer whose ``defaults`` are that file's). Local
``queues.conf`` overrides come from the ``File`` plugin listed *after* this one:
``config.queues.plugin = CRIC, File``; the loader merges plugins in that order, later wins
key by key. Listing File first still works but lets CRIC override local values, so it
draws a warning.

The filter keys are APF's parallel lists: group i is (vos[i], clouds[i], activities[i],
pilotmanager[i], defaultsfiles[i]); a list of one value applies to every group, ``*`` matches
anything, and an unset list does not filter. A CRIC queue goes to the first group it matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apfctl.config.ini import parse_file
from apfctl.config.keys import Key
from apfctl.config.model import Origin, RawValue
from apfctl.errors import ConfigError
from apfctl.interfaces import ConfigLayer, QueuesConfigPlugin
from apfctl.resourcetypes.check import factory_types
from apfctl_panda.cric_doc import Filters, select
from apfctl_panda.cric_sections import Scale, build
from apfctl_panda.cric_source import CricSource
from apfctl_panda.http import HttpOptions

P = "config.queues.cric."
FILTER_FIELDS = {"vos": "vo", "clouds": "cloud", "activities": "activity", "pilotmanager": "pilot_manager"}
DEFAULT_PILOT_MANAGER = "apf"

FACTORY_KEYS: dict[str, Key] = {
    P + "url": Key("str", None, required=True,
                   doc="CRIC's PanDA-queue JSON: an http(s) URL, a file:// URL or a path "
                       "(e.g. https://atlas-cric.cern.ch/api/atlas/pandaqueue/query/?json)"),
    P + "refresh": Key("int", 3600, minimum=0, doc="seconds a fetched document is reused before CRIC is asked again"),
    P + "vos": Key("list", None, doc="vo_name of each group (parallel list); unset: any"),
    P + "clouds": Key("list", None, doc="cloud of each group; unset: any"),
    P + "activities": Key("list", None, doc="type (production, analysis, unified) of each group; unset: any"),
    P + "pilotmanager": Key("list", None, doc=f"pilot_manager of each group; default {DEFAULT_PILOT_MANAGER}"),
    P + "defaultsfiles": Key("list", None, doc="defaults file of each group: its [DEFAULT] comes under CRIC values"),
    P + "jobsperpilot": Key("float", 1.0, minimum=0.001, doc="jobs one pilot runs, for sched.scale.factor"),
    P + "numfactories": Key("int", 1, minimum=1, doc="factories feeding the same queues, for sched.scale.factor"),
    P + "verify": Key("str", "True", doc="check CRIC's certificate: True, False, or a CA bundle path"),
    P + "cert": Key("path", None, doc="client certificate or X.509 proxy"),
    P + "key": Key("path", None, doc="client key, when not in the certificate file"),
    P + "token": Key("path", None, doc="file holding a bearer token"),
    P + "timeout": Key("float", 60.0, minimum=0.1, doc="seconds to connect and for each read"),
    P + "retries": Key("int", 3, minimum=0, doc="further tries after a failure, with backoff"),
}


class CRIC(QueuesConfigPlugin):
    """One queue section per active CE of each selected CRIC PanDA queue."""

    FACTORY_KEYS = FACTORY_KEYS

    def _typed(self, suffix: str) -> Any:
        return self.factory.typed(P + suffix, FACTORY_KEYS[P + suffix])

    def _relative(self, key: str, text: str) -> Path:
        path = Path(text.removeprefix("file://")).expanduser()
        origin = self.factory.origin(key)
        return path if path.is_absolute() or origin is None else Path(origin.file).parent / path

    def _location(self) -> str:
        url = self._typed("url").strip()
        return url if url.startswith(("http://", "https://")) else str(self._relative(P + "url", url))

    def _groups(self) -> list[tuple[Filters, Path | None]]:
        suffixes = (*FILTER_FIELDS, "defaultsfiles")
        lists: dict[str, list[str]] = {suffix: self._typed(suffix) or [] for suffix in suffixes}
        lists["pilotmanager"] = lists["pilotmanager"] or [DEFAULT_PILOT_MANAGER]
        size = max(len(values) for values in lists.values())
        for suffix, values in lists.items():
            if values and len(values) not in (1, size):
                raise self.factory.error(P + suffix, f"has {len(values)} entries where the other filter lists have "
                                         f"{size}: the lists are parallel (one entry per group), give 1 or {size}",
                                         self.factory.get(P + suffix))

        def pick(suffix: str, index: int) -> str | None:
            values = lists[suffix]
            value = values[index if len(values) > 1 else 0] if values else None
            return None if value == "*" else value

        groups = []
        for index in range(size):
            filters = Filters(**{field: pick(suffix, index) for suffix, field in FILTER_FIELDS.items()})
            defaults = pick("defaultsfiles", index)
            groups.append((filters, self._relative(P + "defaultsfiles", defaults) if defaults else None))
        return groups

    def _options(self) -> HttpOptions:
        return HttpOptions(verify=self.factory.tls_verify(P + "verify"), cert=self._typed("cert"),
                           key=self._typed("key"), token_file=self._typed("token"),
                           timeout=self._typed("timeout"), retries=self._typed("retries"))

    def _order_warning(self) -> list[str]:
        order = [name.lower() for name in self.factory.getlist("config.queues.plugin")]
        if "file" in order and "cric" in order and order.index("file") < order.index("cric"):
            return ["config.queues.plugin lists File before CRIC: CRIC values override local queues.conf values "
                    "of the same sections; list CRIC, File so that local values win"]
        return []

    def _defaults(self, path: Path | None, warnings: list[str]) -> dict[str, RawValue]:
        if path is None:
            return {}
        layer = parse_file(path)
        if layer.sections:
            warnings.append(f"{path}: sections {', '.join(sorted(layer.sections))} ignored "
                            "(a CRIC defaults file gives only [DEFAULT])")
        return layer.defaults

    def layers(self) -> list[ConfigLayer]:
        location = self._location()
        label = f"cric:{self._typed('url').strip()}"
        warnings = self._order_warning()
        groups = [(filters, self._defaults(path, warnings)) for filters, path in self._groups()]
        source = CricSource(location, self.state_dir, float(self._typed("refresh")), self._options())
        document = source.load(warnings)
        if document is None:
            return [ConfigLayer(name=label, sections={}, warnings=warnings,
                                failed="CRIC could not be read and no copy is cached")]
        scale = Scale(jobs_per_pilot=self._typed("jobsperpilot"), factories=self._typed("numfactories"))
        types = factory_types(self.factory)
        origin = Origin(label)
        taken: set[str] = set()
        names: set[str] = set()
        layers = []
        for filters, defaults in groups:
            group_warnings: list[str] = []
            sections: dict[str, dict[str, RawValue]] = {}
            for pq in select(document.content, filters, taken, group_warnings):
                for name, values in build(pq, scale, group_warnings, types).items():
                    if name in names:
                        group_warnings.append(f"skipped section [{name}] of CRIC queue {pq.name}: "
                                              "another CRIC queue already made it")
                        continue
                    names.add(name)
                    sections[name] = {key: RawValue(text, origin) for key, text in values.items()}
            layers.append(ConfigLayer(name=f"{label} ({filters.describe()})", sections=sections,
                                      defaults=defaults, warnings=group_warnings))
        layers[0].warnings[:0] = warnings
        return layers


class Agis(QueuesConfigPlugin):
    """APF's AGIS plugin: AGIS is retired; recognised and refused."""

    REFUSED = "AGIS was replaced by CRIC: use config.queues.plugin = CRIC, File and config.queues.cric.* keys"

    def layers(self) -> list[ConfigLayer]:
        raise ConfigError(self.REFUSED)
