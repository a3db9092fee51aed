"""JSON over HTTP(S) for PanDA and CRIC: timeouts, retries with backoff, TLS options.

Every failure becomes a :class:`BackendError` with one line an operator can act on (a TLS
problem names the host and the verification error; a timeout names the URL and the limit).
``requests`` is imported here only, inside :meth:`JsonClient._session_for_use`, so that
importing a plugin class (``apfctl --help``, ``apfctl decide``, ``config check``) stays cheap.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apfctl.bounded import (
    MAX_CREDENTIAL_BYTES,
    MAX_DOCUMENT_BYTES,
    DeadlineExceeded,
    TooLarge,
    call_with_deadline,
    read_text,
)
from apfctl.errors import BackendError

# Statuses worth another try: the server or a proxy in front of it is overloaded or restarting.
RETRY_STATUSES = (429, 500, 502, 503, 504)
_SNIPPET = 160


@dataclass(frozen=True)
class HttpOptions:
    """How to talk to one server. Hashable: it is part of a status plugin's endpoint key."""

    verify: bool | str = True        # True, False, or a CA bundle file/folder
    cert: str | None = None          # client certificate (or a proxy holding cert and key)
    key: str | None = None           # its key, when not in ``cert``
    token_file: str | None = None    # a file holding a bearer token, read at each fetch
    timeout: float = 30.0            # seconds, for connecting and for each read (see deadline)
    retries: int = 3                 # further tries after a failed one
    backoff: float = 0.5             # urllib3 backoff factor: 0, 2*f, 4*f, ... seconds between tries
    origin: str | None = None        # with a token: the VO, as PanDA's token check reads it (Origin header)

    @property
    def deadline(self) -> float:
        """Seconds the whole fetch may take, every try and wait included.

        ``timeout`` bounds each socket read only: a server that sends a byte every few
        seconds never trips it. The deadline is what every try at its timeout, and the
        waits between, add up to.
        """
        return self.timeout * (self.retries + 1) + self.backoff * 2 ** (self.retries + 1)


def snippet(text: str) -> str:
    """The start of a body, on one line, for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET] + "..."


def _tls_reason(exc: BaseException) -> str:
    """The useful part of an SSL error: ``certificate verify failed: self-signed ...``."""
    text = str(exc)
    found = re.search(r"(certificate verify failed[^'()\]\"]*|wrong version number|"
                      r"hostname mismatch[^'()\]\"]*|tlsv1 alert [a-z ]+|"
                      r"sslv3 alert [a-z ]+|no such file[^'()\]\"]*)", text, re.IGNORECASE)
    return found.group(1).strip().rstrip(",") if found else snippet(text)


class JsonClient:
    """GETs JSON documents from one server, keeping one connection pool for the invocation."""

    def __init__(self, options: HttpOptions) -> None:
        self.options = options
        self._session: Any = None

    def _session_for_use(self) -> Any:
        if self._session is None:
            import requests
            from requests.adapters import HTTPAdapter
            from urllib3.util.retry import Retry

            retry = Retry(
                total=self.options.retries, connect=self.options.retries, read=self.options.retries,
                status=self.options.retries, other=0, backoff_factor=self.options.backoff,
                status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                raise_on_status=False, respect_retry_after_header=False,
            )
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self.options.cert:
                session.cert = (self.options.cert, self.options.key) if self.options.key else self.options.cert
            session.headers["Accept"] = "application/json"
            session.headers["User-Agent"] = "apfctl"
            self._session = session
        return self._session

    def _headers(self) -> dict[str, str]:
        if not self.options.token_file:
            return {}
        path = Path(self.options.token_file).expanduser()
        try:
            token = read_text(path, MAX_CREDENTIAL_BYTES).strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise BackendError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        if not token or any(c.isspace() for c in token):
            raise BackendError(f"the token file {path} does not hold one bearer token")
        headers = {"Authorization": f"Bearer {token}"}
        if self.options.origin:
            headers["Origin"] = self.options.origin
        return headers

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        """The decoded JSON body of ``GET url``; BackendError naming the URL otherwise.

        The body is read up to :data:`~apfctl.bounded.MAX_DOCUMENT_BYTES`, and the whole
        fetch ends within :attr:`HttpOptions.deadline` (a hung fetch is cut off by closing
        its connection).
        """
        session = self._session_for_use()
        headers = self._headers()
        opened: list[Any] = []

        def cut_off() -> None:   # shutdown, not close: close waits for the reader's buffer lock
            for response in opened:
                connection = getattr(response.raw, "_connection", None)
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)

        try:
            status, reason, kind, body = call_with_deadline(lambda: self._fetch(session, url, params, headers, opened),
                                                            self.options.deadline, f"GET {url}", on_timeout=cut_off)
        except DeadlineExceeded:
            raise BackendError(f"no whole answer from {url} within {self.options.deadline:g} s (every try, "
                               f"at {self.options.timeout:g} s each)") from None
        except TooLarge as exc:
            raise BackendError(f"the answer from {url} is {exc.strerror}") from None
        text = body.decode("utf-8", "replace")
        if status >= 400:
            raise BackendError(f"HTTP {status} from {url}: {snippet(text) or reason}")
        try:
            return json.loads(body)
        except ValueError:
            raise BackendError(f"the answer from {url} is not JSON ({kind}): {snippet(text)!r}") from None

    def _fetch(self, session: Any, url: str, params: dict[str, str] | None, headers: dict[str, str],
               opened: list[Any]) -> tuple[int, str, str, bytes]:
        """(status, reason, content type, body) of one GET, the body read to its size limit."""
        import requests

        host = urlsplit(url).netloc or url
        try:
            # verify per request: requests lets $REQUESTS_CA_BUNDLE override a Session's verify
            response = session.get(url, params=params, headers=headers, timeout=self.options.timeout,
                                   verify=self.options.verify, stream=True)
            opened.append(response)
            with response:
                parts, size = [], 0
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > MAX_DOCUMENT_BYTES:
                        raise TooLarge(url, MAX_DOCUMENT_BYTES)
                    parts.append(chunk)
        except (requests.exceptions.RequestException, OSError) as exc:
            if isinstance(exc, TooLarge):
                raise
            raise BackendError(self._describe(exc, url, host)) from None
        kind = response.headers.get("Content-Type", "no content type")
        return response.status_code, response.reason or "", kind, b"".join(parts)

    def request_json(self, method: str, url: str, *, body: Any = None, params: dict[str, str] | None = None,
                     timeout: float, max_bytes: int) -> Any:
        """The decoded JSON answer to ``method url`` (a POST sends ``body`` as JSON); BackendError otherwise.

        A POST is never retried here (the caller keeps the call for later). At most ``timeout``
        seconds to connect and per read, and at most ``max_bytes`` of answer read.
        """
        import requests

        session = self._session_for_use()
        headers = self._headers()
        if method == "POST":
            headers["Content-Type"] = "application/json"
        host = urlsplit(url).netloc or url
        try:
            response = session.request(method, url, json=body if method == "POST" else None, params=params,
                                       headers=headers, timeout=timeout, verify=self.options.verify, stream=True)
            with response:
                raw = response.raw.read(max_bytes + 1, decode_content=True)
        except (requests.exceptions.RequestException, OSError) as exc:
            raise BackendError(self._describe(exc, url, host)) from None
        except Exception as exc:   # urllib3's own errors while streaming the body
            raise BackendError(f"request to {url} failed: {snippet(str(exc))}") from None
        if len(raw) > max_bytes:
            raise BackendError(f"the answer from {url} is larger than {max_bytes} bytes; not read")
        text = raw.decode("utf-8", errors="replace")
        if response.status_code >= 400:
            raise BackendError(f"HTTP {response.status_code} from {url}: {snippet(text) or response.reason}")
        try:
            return json.loads(text)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise BackendError(f"the answer from {url} is not JSON ({kind}): {snippet(text)!r}") from None

    def _describe(self, exc: BaseException, url: str, host: str) -> str:
        """One line for a failed request, from the innermost urllib3 reason."""
        import ssl

        import requests
        import urllib3.exceptions as u3

        reason: BaseException = exc
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, u3.MaxRetryError) and inner.reason is not None:
            reason = inner.reason
        elif isinstance(inner, BaseException):
            reason = inner
        tries = f" (tried {self.options.retries + 1} times)" if self.options.retries else ""
        if isinstance(exc, requests.exceptions.SSLError) or isinstance(reason, (u3.SSLError, ssl.SSLError)):
            return f"TLS error talking to {host}: {_tls_reason(reason)}"
        if isinstance(reason, u3.NewConnectionError):  # refused, unresolvable: before the timeout check
            text = str(reason)
            for marker in ("new connection: ", "Failed to resolve"):
                if marker in text:
                    text = text[text.index(marker):].removeprefix("new connection: ")
            return f"cannot connect to {host}: {snippet(text)}{tries}"
        if isinstance(exc, requests.exceptions.Timeout) or isinstance(reason, u3.TimeoutError):
            return f"no answer from {url} within {self.options.timeout:g} s{tries}"
        return f"request to {url} failed: {snippet(str(reason))}"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
