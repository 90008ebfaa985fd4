"""Talking to arXiv politely: pacing, timeouts, retries with backoff, checked downloads, reachability.

Shared by every request surveyor sends to arXiv (the API through the `arxiv` package's
session, files through httpx). One pace per endpoint for the whole process; every
request has a connect and a read timeout; retries back off exponentially from the pace.
Downloads are retried with `tenacity` (attempts, stop rule, the pace as the wait);
what counts as worth another try is decided here, per response.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import arxiv
import httpx
import requests
import requests.adapters
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from surveyor.errors import NetworkError
from surveyor.settings import ArxivSettings

if TYPE_CHECKING:
    from surveyor.sources.arxiv import ArxivSource

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try (throttling and server trouble); others fail at once."""

USER_AGENT = f"surveyor (arxiv.py/{arxiv.__version__}; httpx/{httpx.__version__})"
"""arXiv asks automated clients to identify themselves."""


class Retryable(requests.exceptions.ConnectionError):
    """A transient failure the `arxiv` Client should retry (it retries ConnectionError only)."""


class Rejected(requests.exceptions.RequestException):
    """arXiv answered with an Error entry: the request itself is wrong, retrying cannot help."""


class Fatal(requests.exceptions.RequestException):
    """An HTTP status no retry can fix (404, 403, ...): the `arxiv` Client would retry it anyway."""


class Throttle:
    """At most one request start per `delay_s`. Retries back off exponentially from there:
    attempt k starts at least delay_s * 2**(k-2) after the previous one (delay_s, delay_s, 2 delay_s, ...)."""

    def __init__(self) -> None:
        self._last: float | None = None
        self._lock = threading.Lock()

    def wait(self, delay_s: float, attempt: int = 1) -> None:
        gap = delay_s * (2 ** max(0, attempt - 2))
        with self._lock:
            if self._last is not None:
                remaining = self._last + gap - time.monotonic()
                if remaining > 0:
                    time.sleep(remaining)
            self._last = time.monotonic()


_THROTTLES: dict[str, Throttle] = {}
_THROTTLES_LOCK = threading.Lock()


def shared_throttle(api_url: str) -> Throttle:
    """One pace per arXiv endpoint for the whole process: callers (ingest, fetch) create an
    ArxivSource per batch, and arXiv's limit is per client, not per object."""
    key = urlsplit(api_url).netloc.lower()
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(key, Throttle())


class ApiAdapter(requests.adapters.HTTPAdapter):
    """Mounted on the `arxiv` Client's session: timeouts, pacing, attempt counts, error triage."""

    def __init__(self, owner: "ArxivSource"):
        super().__init__(max_retries=0)
        self._owner = owner

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        settings = self._owner.settings
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (settings.connect_timeout_s, settings.timeout_s)
        url = request.url or ""
        self._owner._attempts[url] += 1
        self._owner._throttle.wait(settings.delay_s, self._owner._attempts[url])
        try:
            response = super().send(request, **kwargs)
            if response.status_code in RETRY_STATUSES:
                return response  # the Client raises its HTTPError and retries; Throttle adds the backoff
            body = response.content
        except requests.exceptions.ReadTimeout:
            raise Retryable(f"no answer within {settings.timeout_s:g} s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise Retryable(f"response cut short ({exc.__class__.__name__})") from None
        if b"arxiv.org/api/errors" in body:  # arXiv's Error entry, whatever the status
            found = re.search(rb"<summary[^>]*>(.*?)</summary>", body, re.S)
            raise Rejected(found[1].decode("utf-8", "replace").strip() if found else "malformed query")
        if response.status_code != 200:
            raise Fatal(f"HTTP {response.status_code}")
        if b"<feed" not in body[:4096]:
            snippet = " ".join(body[:60].decode("utf-8", "replace").split())
            raise Retryable(f"HTTP 200 but not an Atom feed: {snippet!r}")
        return response


# --------------------------------------------------------------------------- downloads


class _TryAgain(Exception):
    """One download attempt failed in a way another attempt may fix (the message says how)."""


def attempts_text(attempts: int) -> str:
    return f"{attempts} attempt" + ("s" if attempts != 1 else "")


def download(url: str, final: Path, settings: ArxivSettings, throttle: Throttle, magic: tuple[bytes, ...],
             what: str, missing_ok: bool = False) -> Path | None:
    """GET `url` into `final` via `final.part`: paced, retried with backoff, size- and
    magic-checked, renamed atomically. Returns None on 404 when `missing_ok`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    # identity: the bytes on disk are the bytes arXiv stores (e-prints are gzip files;
    # a transparently decoded body would neither be .tar.gz nor match Content-Length).
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    retrying = Retrying(stop=stop_after_attempt(settings.retries), retry=retry_if_exception_type(_TryAgain),
                        before=lambda state: throttle.wait(settings.delay_s, state.attempt_number))
    try:
        with httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as client:
            return retrying(lambda: _attempt(client, url, part, final, magic, what, missing_ok,
                                             retrying.statistics.get("attempt_number", 1)))
    except RetryError as exc:
        attempts = exc.last_attempt.attempt_number
        raise NetworkError(f"download of {url} failed after {attempts_text(attempts)}: "
                           f"{exc.last_attempt.exception()}") from None
    finally:
        part.unlink(missing_ok=True)


def _attempt(client: httpx.Client, url: str, part: Path, final: Path, magic: tuple[bytes, ...], what: str,
             missing_ok: bool, attempt: int) -> Path | None:
    try:
        with client.stream("GET", url) as response:
            status = response.status_code
            if status == 404 and missing_ok:
                return None
            if status in RETRY_STATUSES:
                raise _TryAgain(f"HTTP {status}")
            if status != 200:
                raise NetworkError(f"download of {url} failed after {attempts_text(attempt)}: HTTP {status}")
            expected = response.headers.get("Content-Length")
            kind = response.headers.get("Content-Type", "unknown type")
            written, head = 0, b""
            with open(part, "wb") as fh:
                for chunk in response.iter_raw():
                    if len(head) < 8:
                        head += chunk[:8]
                    fh.write(chunk)
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
    except httpx.TransportError as exc:
        part.unlink(missing_ok=True)
        raise _TryAgain(reason(exc)) from None
    if expected is not None and expected.isdigit() and written != int(expected):
        part.unlink(missing_ok=True)
        raise _TryAgain(f"got {written} of {expected} bytes")
    if not head.startswith(magic):
        part.unlink(missing_ok=True)
        if missing_ok and head.startswith(b"%PDF"):
            return None  # arXiv offers only the PDF for this paper
        raise NetworkError(f"download of {url} failed after {attempts_text(attempt)}: not a {what} ({kind})")
    os.replace(part, final)
    return final


# --------------------------------------------------------------------------- failures and reachability


def reason(exc: BaseException) -> str:
    """A short, lower-case cause for one-line error messages."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, ConnectionRefusedError) or "refused" in lowered:
        return "connection refused"
    if isinstance(exc, socket.gaierror) or "name or service not known" in lowered or "resolve" in lowered:
        return "host name not resolved"
    if isinstance(exc, (socket.timeout, TimeoutError, httpx.TimeoutException, requests.exceptions.Timeout)):
        return "timed out"
    if isinstance(exc, httpx.RemoteProtocolError) or "incomplete" in lowered or "closed" in lowered:
        return "connection closed before the full response"
    return text.splitlines()[0] if text else exc.__class__.__name__


def probe(host: str, port: int, timeout: float) -> str | None:
    """One TCP connect to host:port; None on success, else a short reason. Name resolution
    runs in a daemon thread so a hanging DNS lookup cannot outlast `timeout`."""
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(reason(exc))

    worker = threading.Thread(target=connect, name="arxiv-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.1)
    return outcome[0] if outcome else "timed out"
