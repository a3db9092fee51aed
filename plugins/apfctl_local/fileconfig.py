"""The ``File`` queues-config plugin: APF's queueConf files and queueDirConf folder."""

from __future__ import annotations

from pathlib import Path

from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.ini import parse_file
from apfctl.errors import ConfigError
from apfctl.interfaces import ConfigLayer, QueuesConfigPlugin


class FileQueuesConfig(QueuesConfigPlugin):
    """Queue sections from ``queueConf`` (comma list, in order) then every ``*.conf`` in
    ``queueDirConf`` (sorted by name). Each file is its own layer, so its ``[DEFAULT]``
    applies to its own sections (APF read the folder with one parser; see docs/migration).
    """

    def _sources(self) -> list[Path]:
        sources: list[Path] = []
        base = self._base()
        for entry in self.factory.getlist("queueConf"):
            text = entry.removeprefix("file://")
            if "://" in text:
                raise self.factory.error("queueConf", "only local files are supported here "
                                         "(use config.queues.plugin = CRIC for remote queue definitions)", entry)
            path = Path(text).expanduser()
            sources.append(path if path.is_absolute() else base / path)
        folder = self.factory.typed("queueDirConf", FACTORY_KEYS["queueDirConf"])
        if folder:
            directory = Path(folder)
            if not directory.is_dir():
                raise self.factory.error("queueDirConf", "folder not found", folder)
            sources.extend(sorted(directory.glob("*.conf")))
        if not sources:
            raise self._no_sources()
        return sources

    def _no_sources(self) -> ConfigError:
        """No queue files: at the key that looks like a misspelt queueConf, if there is one."""
        import difflib

        for key in self.factory:
            close = difflib.get_close_matches(key, ("queueConf", "queueDirConf"), n=1, cutoff=0.75)
            if close and key != close[0]:
                return self.factory.error(key, f"no queue files: unknown key; did you mean {close[0]!r}?",
                                          self.factory.raw(key))
        return self.factory.error(None, "no queue files: set queueConf or queueDirConf")

    def _base(self) -> Path:
        origin = self.factory.origin("queueConf")
        return Path(origin.file).parent if origin else Path.cwd()

    def layers(self) -> list[ConfigLayer]:
        return [parse_file(path) for path in self._sources()]
