"""The audience a CE expects in a token (the WLCG token profile's ``aud``), from its endpoint.

HTCondor-CE checks for ``<host>:<port>`` (port 9619 by default, SCITOKENS_SERVER_AUDIENCE);
ARC CE's REST interface for its https URL without path. Endpoints as CRIC publishes them
(``gsiftp://host:2811/...``, the old GridFTP interface) are mapped to ``https://host``
(port 443), where the same CE takes tokens today.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HTCONDOR_CE_PORT = 9619
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_LEGACY_PORTS = {2811, 443}


class AudienceError(ValueError):
    """No audience can be derived (no host, or an endpoint that is not one)."""


def _host(host: str | None) -> str:
    if not host or not _HOST.match(host):
        raise AudienceError(f"{host!r} is not a host name" if host else "no CE host")
    return host.lower()


def htcondor_ce(host: str | None, port: int | None = None) -> str:
    """``host:port`` for an HTCondor-CE (port 9619 unless configured)."""
    port = HTCONDOR_CE_PORT if port is None else port
    if not 0 < port < 65536:
        raise AudienceError(f"port {port} is out of range")
    return f"{_host(host)}:{port}"


def arc_ce(endpoint: str | None) -> str:
    """``https://host[:port]`` for an ARC CE given as a host, an https URL or a gsiftp URL."""
    if not endpoint or not endpoint.strip():
        raise AudienceError("no CE host")
    endpoint = endpoint.strip()
    if "://" not in endpoint:
        return f"https://{_host(endpoint.split(':')[0])}"
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "gsiftp"):
        raise AudienceError(f"{endpoint!r}: an ARC CE is reached over https (or gsiftp, mapped to https)")
    try:
        port = parts.port
    except ValueError:
        raise AudienceError(f"{endpoint!r} has a bad port") from None
    host = _host(parts.hostname)
    if port is None or port in _LEGACY_PORTS or scheme == "gsiftp":
        return f"https://{host}"
    return f"https://{host}:{port}"
