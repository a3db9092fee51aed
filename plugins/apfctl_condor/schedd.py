"""The one seam through which every HTCondor plugin obtains its schedd.

:func:`get_schedd` returns an object with the part of the ``htcondor2.Schedd`` API the
plugins use (``query``, ``history``, ``submit``, ``act``, ``edit``). By default it locates
a real schedd; :func:`use_schedd_factory` swaps the factory, which is how the tests and
third-party plugin authors drop in :class:`apfctl_condor.testing.FakeSchedd`.

:func:`call` runs one schedd operation and turns whatever the bindings raise into a
:class:`~apfctl.errors.BackendError` naming the schedd, so a failure lands in the queue's
record as one line.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from apfctl.bounded import DeadlineExceeded, call_with_deadline
from apfctl.errors import BackendError

LOCAL_NAMES = frozenset({"", "localhost", "127.0.0.1", "::1"})
DEFAULT_PORT = 9618


@dataclass(frozen=True)
class Endpoint:
    """Where a schedd is: APF's ``scheddhost``, ``scheddport``, ``collectorhost``, ``collectorport``.

    ``scheddhost`` and ``collectorhost`` are ``localhost`` for the local schedd (the default).
    """

    scheddhost: str = "localhost"
    scheddport: int = DEFAULT_PORT
    collectorhost: str = "localhost"
    collectorport: int = DEFAULT_PORT

    @property
    def is_local(self) -> bool:
        return self.scheddhost.lower() in LOCAL_NAMES and self.collectorhost.lower() in LOCAL_NAMES

    @property
    def uses_collector(self) -> bool:
        """A collector other than the default local one locates the schedd (a second pool on
        this host listens on another port: 127.0.0.1 with a port of its own is such a collector)."""
        return self.collectorhost.lower() not in LOCAL_NAMES or self.collectorport != DEFAULT_PORT

    def __str__(self) -> str:
        if self.is_local:
            return "local schedd"
        if not self.uses_collector:
            return f"schedd {self.scheddhost}:{self.scheddport}"
        return f"schedd {self.scheddhost} via collector {self.collectorhost}:{self.collectorport}"


ScheddFactory = Callable[[Endpoint], Any]


def _resolve(host: str, port: int, what: str) -> None:
    try:
        socket.getaddrinfo(host, port)
    except OSError as exc:
        raise BackendError(f"{what} host {host!r} does not resolve: {exc.strerror or exc}") from None


def connect(endpoint: Endpoint) -> Any:
    """A real ``htcondor2.Schedd`` for ``endpoint``; BackendError when it cannot be located.

    A remote collector is asked where the schedd named ``scheddhost`` is; with a local
    collector and a remote schedd host, the schedd is addressed directly at host:port
    (APF ignored ``scheddhost`` in that case).
    """
    import classad2
    import htcondor2

    try:
        if endpoint.is_local:
            return htcondor2.Schedd()
        if endpoint.uses_collector:
            _resolve(endpoint.collectorhost, endpoint.collectorport, "collector")
            collector = htcondor2.Collector(f"{endpoint.collectorhost}:{endpoint.collectorport}")
            return htcondor2.Schedd(collector.locate(htcondor2.DaemonType.Schedd, endpoint.scheddhost))
        _resolve(endpoint.scheddhost, endpoint.scheddport, "schedd")
        location = classad2.ClassAd()
        location["MyAddress"] = f"<{endpoint.scheddhost}:{endpoint.scheddport}>"
        location["Name"] = endpoint.scheddhost
        location["CondorVersion"] = htcondor2.version()
        return htcondor2.Schedd(location)
    except BackendError:
        raise
    except Exception as exc:  # HTCondorException, ValueError: one line for the record
        raise BackendError(f"{endpoint}: cannot be located: {_first_line(exc)}") from None


_factory: ScheddFactory = connect


def get_schedd(endpoint: Endpoint) -> Any:
    """The schedd for ``endpoint`` from the current factory (real by default)."""
    return _factory(endpoint)


def set_schedd_factory(factory: ScheddFactory | None) -> ScheddFactory:
    """Replace the factory (``None`` restores the real one); returns the previous factory."""
    global _factory
    previous = _factory
    _factory = factory or connect
    return previous


@contextmanager
def use_schedd_factory(factory: ScheddFactory) -> Iterator[None]:
    """Use ``factory`` for every schedd inside the ``with`` block."""
    previous = set_schedd_factory(factory)
    try:
        yield
    finally:
        set_schedd_factory(previous)


T = TypeVar("T")


# The longest apfctl waits for one schedd operation (HTCondor's own timeouts may be longer).
CALL_DEADLINE = 300.0


def call(endpoint: Endpoint, what: str, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one schedd operation within :data:`CALL_DEADLINE`; anything it raises becomes a
    BackendError naming the schedd."""
    try:
        return call_with_deadline(lambda: operation(*args, **kwargs), CALL_DEADLINE, what)
    except DeadlineExceeded:
        raise BackendError(f"{endpoint}: {what} failed: no answer within {CALL_DEADLINE:g} s") from None
    except BackendError as exc:
        raise BackendError(f"{endpoint}: {what} failed: {exc}") from None
    except Exception as exc:
        raise BackendError(f"{endpoint}: {what} failed: {_first_line(exc)}") from None


# The history file is in the order jobs left the queue, not by EnteredCurrentStatus: a job
# can reach it hours after its last status change (left in the queue after completing, a
# schedd that was down). A scan therefore stops only this long before the time it needs,
# and the exact time stays in the constraint.
HISTORY_SLACK = 6 * 3600


def history_stop(t: float) -> str:
    """``Schedd.history(since=...)``: stop at ads whose status changed well before ``t``."""
    return f"EnteredCurrentStatus < {int(t) - HISTORY_SLACK}"


def act_reason(text: str) -> tuple[str, None]:
    """``Schedd.act``'s reason in the shape htcondor2 uses: (reason, code).

    htcondor2 25.x reads ``reason`` only when it is None or such a tuple; a plain str is
    silently dropped (the job then gets no reason of ours, and a factory removal would count
    as a fault).
    """
    return (text, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
