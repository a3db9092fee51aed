"""Errors that apfctl reports as one clear line instead of a traceback.

Every expected failure is an :class:`ApfctlError`; its ``exit_code`` follows docs/architecture.md §4.6:
2 for bad usage, configuration or input (nothing was done), 1 for a failure of some queue.
"""

from __future__ import annotations


class ApfctlError(Exception):
    """An expected error: printed as one line on stderr, no traceback."""

    exit_code = 2


class ConfigError(ApfctlError):
    """A configuration problem, located by file, section, key and value where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        section: str | None = None,
        key: str | None = None,
        value: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.section = section
        self.key = key
        self.value = value
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file:
            where.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.section:
            where.append(f"[{self.section}]")
        if self.key:
            where.append(self.key if self.value is None else f"{self.key} = {self.value!r}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class RecordError(ApfctlError):
    """A record (JSON line) that cannot be used: names the source, line and field."""

    def __init__(self, message: str, *, source: str = "<stdin>", line: int | None = None,
                 field: str | None = None) -> None:
        self.source = source
        self.line = line
        self.field = field
        where = f"{source}:{line}" if line else source
        detail = f" (field {field})" if field else ""
        super().__init__(f"{where}: {message}{detail}")


class LedgerError(ApfctlError):
    """The ledger database cannot be opened or written (corrupt, locked, unwritable)."""


class PluginError(ApfctlError):
    """A plugin name that no installed package provides, or a refused (dead) plugin."""


class BackendError(Exception):
    """A batch system, WMS or service could not be reached or refused a request.

    Not an :class:`ApfctlError`: it is caught per queue and written into that queue's record.
    """
