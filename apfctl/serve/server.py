"""Running the application: a listening socket bound here, then uvicorn until SIGINT or SIGTERM.

The socket is bound before uvicorn starts so that a port in use (or a privileged one) is
one clear line instead of uvicorn's log, and so that port 0 (tests) tells which port the
system chose. uvicorn's access log is off; requests that are refused are logged by the
application (``apfctl.serve``), and a client that goes away mid-answer is not an error.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import TYPE_CHECKING

from apfctl.errors import ApfctlError

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

BACKLOG = 2048             # pending connections the kernel keeps (socketserver's default was 5)


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; ApfctlError naming the address when that fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ApfctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        why = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ApfctlError(f"cannot listen on {host}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until stopped by SIGINT or SIGTERM, then return.

    uvicorn shuts down gracefully on either signal, then raises it again for the handler
    that was there before: SIGTERM's is set here to a normal exit, SIGINT's interrupt is
    caught, so a stopped service exits 0.
    """
    import signal
    import sys

    import uvicorn

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config(app)).run(sockets=[sock])


def config(app: ASGIApp) -> uvicorn.Config:
    """uvicorn's settings for apfctl: no access log or Server header, 5 s to finish on a stop."""
    import uvicorn

    return uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="off",
                          timeout_graceful_shutdown=5, server_header=False, backlog=BACKLOG)


def address(sock: socket.socket) -> str:
    """``http://host:port/`` of a listening socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
