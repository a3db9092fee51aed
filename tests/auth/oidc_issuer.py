"""A local OIDC issuer on 127.0.0.1 for the token broker's tests (and scitokens-cpp's).

It serves the discovery document, its JWKS and a token endpoint for the client-credentials
grant, issuing RS256-signed JWTs (WLCG token profile claims) with a test key. ``mode``
switches it to the failures the broker must survive: ``slow`` (answers after ``delay``),
``fail`` (HTTP 500), ``badjson``, ``noexp`` (a token without ``exp``), ``wrongaud`` (a
token for another audience), ``expired``. ``clock`` is the issuer's notion of now (tests
pass a controlled one). With ``tls`` (a server certificate and key, PEM files) it speaks
HTTPS, as scitokens-cpp requires of an issuer.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "apfctl-test-key"
MODES = ("ok", "slow", "fail", "badjson", "noexp", "wrongaud", "expired")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(number: int) -> str:
    return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


class Issuer:
    """One issuer; ``start()`` serves it on a free port of 127.0.0.1, ``stop()`` ends it."""

    def __init__(self, client_id: str = "apfctl-factory", secret: str = "s3cret-client-value",
                 lifetime: int = 1200, tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1") -> None:
        self.client_id, self.secret, self.lifetime = client_id, secret, lifetime
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.mode = "ok"
        self.delay = 5.0
        self.clock: Callable[[], float] = time.time
        self.issued: list[dict] = []       # the claims of every token issued
        self.requests: list[str] = []      # request paths, in order
        self.tls, self.host = tls, host
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._server.server_address[1]}"

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID,
                          "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}]}

    def sign(self, claims: dict) -> str:
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = self.key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64(signature)}"

    def token_for(self, audience: str, scope: str) -> str:
        now = int(self.clock())
        words = scope.split()
        groups = [word.split(":", 1)[1] for word in words if word.startswith("wlcg.groups:")]
        claims = {"iss": self.url, "sub": self.client_id, "aud": audience, "wlcg.ver": "1.0",
                  "scope": " ".join(word for word in words if not word.startswith("wlcg.groups")),
                  "iat": now, "nbf": now, "exp": now + self.lifetime, "jti": str(uuid.uuid4())}
        if groups:
            claims["wlcg.groups"] = groups
        if self.mode == "noexp":
            del claims["exp"]
        elif self.mode == "wrongaud":
            claims["aud"] = "https://someone-else.example.org"
        elif self.mode == "expired":
            claims["iat"] = claims["nbf"] = now - 2 * self.lifetime
            claims["exp"] = now - self.lifetime
        self.issued.append(claims)
        return self.sign(claims)

    def start(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, document: dict, status: int = 200) -> None:
                self._answer(status, json.dumps(document).encode())

            def _trouble(self) -> bool:
                if issuer.mode == "slow":
                    time.sleep(issuer.delay)
                elif issuer.mode == "fail":
                    self._answer(500, b"internal error", "text/plain")
                    return True
                return False

            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    if not self._trouble():
                        self._json({"issuer": issuer.url, "token_endpoint": f"{issuer.url}/token",
                                    "jwks_uri": f"{issuer.url}/jwks",
                                    "grant_types_supported": ["client_credentials"]})
                elif self.path == "/jwks":
                    self._json(issuer.jwks())
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                issuer.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/token":
                    self._json({"error": "not_found"}, 404)
                    return
                if self._trouble():
                    return
                expected = "Basic " + base64.b64encode(f"{issuer.client_id}:{issuer.secret}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._json({"error": "invalid_client"}, 401)
                    return
                if form.get("grant_type") != "client_credentials":
                    self._json({"error": "unsupported_grant_type"}, 400)
                    return
                if issuer.mode == "badjson":
                    self._answer(200, b"{this is not json")
                    return
                token = issuer.token_for(form.get("audience", ""), form.get("scope", ""))
                self._json({"access_token": token, "token_type": "Bearer", "expires_in": issuer.lifetime})

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
