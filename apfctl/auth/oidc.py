"""Obtaining a token from an OIDC issuer: discovery, then the OAuth2 client-credentials grant.

Only what the broker needs: the token endpoint from ``/.well-known/openid-configuration``
and one ``POST`` with the client's id and secret (HTTP Basic, RFC 6749 §2.3.1), the scopes
(``wlcg.groups:<group>`` for each group, as the WLCG token profile asks them) and the
audience. Every request is bounded in time and size; messages never carry the secret or the
token, only the issuer's URL, the HTTP status and the OAuth2 ``error`` code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apfctl.auth import CredentialError

MAX_BYTES = 1 << 20     # a discovery document or token response is a few kB
_ERROR_CODE = re.compile(r"^[\x20-\x7e]{1,80}$")


@dataclass(frozen=True)
class Client:
    """One client of one issuer (an auth.conf token profile with ``token.issuer``)."""

    issuer: str
    client_id: str
    secret: str
    timeout: float
    ca_file: str | None = None      # a CA bundle to verify the issuer with (default: the system's)


def _get_json(session: Any, method: str, url: str, client: Client, what: str, **kwargs: Any) -> dict[str, Any]:
    import requests

    try:
        response = session.request(method, url, timeout=client.timeout, stream=True, allow_redirects=False,
                                   verify=client.ca_file or True, **kwargs)
    except requests.RequestException as exc:
        raise CredentialError(f"{what} {url} unreachable: {type(exc).__name__}") from None
    with response:
        body = response.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(body) > MAX_BYTES:
        raise CredentialError(f"{what} {url}: the answer is larger than {MAX_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeError):
        document = None
    if response.status_code != 200:
        code = document.get("error") if isinstance(document, dict) else None
        detail = f" ({code})" if isinstance(code, str) and _ERROR_CODE.match(code) else ""
        raise CredentialError(f"{what} {url} answered HTTP {response.status_code}{detail}")
    if not isinstance(document, dict):
        raise CredentialError(f"{what} {url} did not answer a JSON object")
    return document


def discover(session: Any, client: Client) -> str:
    """The issuer's token endpoint, from its discovery document (checked to be the same issuer)."""
    url = client.issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(session, "GET", url, client, "discovery")
    endpoint = document.get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise CredentialError(f"discovery {url}: no token_endpoint URL")
    if document.get("issuer") != client.issuer:
        raise CredentialError(f"discovery {url}: issuer {str(document.get('issuer'))[:100]!r} "
                              f"is not {client.issuer!r}")
    return endpoint


def request_token(client: Client, audience: str, scopes: Sequence[str], groups: Sequence[str]) -> str:
    """A new access token for ``audience`` (the token's text; checked by the caller)."""
    import requests

    words = [*scopes, *(f"wlcg.groups:{group}" for group in groups)]
    with requests.Session() as session:
        session.trust_env = False    # no proxies or netrc credentials from the environment
        endpoint = discover(session, client)
        form = {"grant_type": "client_credentials", "audience": audience}
        if words:
            form["scope"] = " ".join(words)
        document = _get_json(session, "POST", endpoint, client, "token endpoint", data=form,
                             auth=(client.client_id, client.secret), headers={"Accept": "application/json"})
    token = document.get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise CredentialError(f"token endpoint {endpoint}: no access_token in the answer")
    return token.strip()
