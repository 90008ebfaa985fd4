"""arXiv as a source of metadata, PDFs and LaTeX: search, id lookup, polite downloads.

Metadata goes through the `arxiv` package (its Atom parser and pager); files are
fetched with httpx, because arxiv 4.x no longer downloads and sets no timeouts.

    source = ArxivSource(settings.arxiv)
    metas = source.search("distillation", categories=["cs.CL"], since=date(2025, 3, 17), until=date(2025, 3, 23))
    path = source.download_pdf(metas[0], corpus_dir)        # <corpus>/2503.12345v2.pdf

Politeness and failure rules, all in this object:
- One request per `settings.delay_s` (arXiv's terms: one every 3 s), API calls and
  downloads alike, retries included, shared by every ArxivSource in the process that
  talks to the same endpoint; retries also back off exponentially.
- Every request has a connect and a read timeout.
- Before talking to the API, a TCP probe (bounded by `FAIL_FAST_S`) checks that the
  host can be reached at all, so a machine without network fails in seconds.
- Every network failure is a `NetworkError` with one line naming the URL and the
  number of attempts; bad arguments are `InputError`.
- A download lands under `<name>.part` and is renamed only once complete and
  checked; a failed one leaves nothing behind.

Workarounds for the `arxiv` package (4.x), each marked where it is made:
- `Client` has no base-URL argument: `query_url_format` is overridden per instance.
- `Client` passes no timeout to requests: a transport adapter mounted on its session
  supplies one, paces requests, and counts attempts per URL for error messages.
- `Client` retries every non-200 status (404 included) and connection errors, with a
  fixed pause, and never read timeouts: the adapter fails hopeless statuses at once,
  turns transient failures (read timeouts, cut bodies, a 200 that is not a feed, such
  as arXiv's plain "Rate exceeded.") into connection errors so they are retried, and
  adds exponential backoff.
- arXiv reports a malformed query as HTTP 200 with one entry titled "Error" and no
  <published>; the parser drops that entry, so the query would look merely empty.
  The adapter spots `arxiv.org/api/errors` and raises `InputError` with arXiv's text.
- `Client` asks for `page_size` results even when fewer are wanted; the page size is
  capped at `max_results`.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import arxiv
import httpx
import requests
import requests.adapters

from surveyor.errors import InputError, NetworkError
from surveyor.settings import ArxivSettings
from surveyor.sources.identity import safe_key, split_version
from surveyor.sources.metadata import FIELDS, PaperMeta, normalize_published

log = logging.getLogger(__name__)

FAIL_FAST_S = 8.0
"""With no network, `search`/`lookup` must fail within 10 s: the reachability probe
(all its attempts and pauses) never takes longer than this."""

PROBE_BACKOFF_S = 0.25
"""First pause between probe attempts (then doubled): enough to ride out a blip, small
against FAIL_FAST_S."""

ARXIV_START = date(1991, 8, 1)
"""arXiv's first day: the lower bound when only `until` is given."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try (throttling and server trouble); others fail at once."""

USER_AGENT = f"surveyor (arxiv.py/{arxiv.__version__}; httpx/{httpx.__version__})"
"""arXiv asks automated clients to identify themselves."""

_FIELDED = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate|lastUpdatedDate):|\b(?:AND|OR|ANDNOT)\b")
_CATEGORY = re.compile(r"[a-z\-]+(?:\.[A-Za-z\-]+)?")


class _Retryable(requests.exceptions.ConnectionError):
    """A transient failure the `arxiv` Client should retry (it retries ConnectionError only)."""


class _Rejected(requests.exceptions.RequestException):
    """arXiv answered with an Error entry: the request itself is wrong, retrying cannot help."""


class _Fatal(requests.exceptions.RequestException):
    """An HTTP status no retry can fix (404, 403, ...): the `arxiv` Client would retry it anyway."""


class _Throttle:
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


_THROTTLES: dict[str, _Throttle] = {}
_THROTTLES_LOCK = threading.Lock()


def _shared_throttle(api_url: str) -> _Throttle:
    """One pace per arXiv endpoint for the whole process: callers (ingest, fetch) create an
    ArxivSource per batch, and arXiv's limit is per client, not per object."""
    key = urlsplit(api_url).netloc.lower()
    with _THROTTLES_LOCK:
        return _THROTTLES.setdefault(key, _Throttle())


class _ApiAdapter(requests.adapters.HTTPAdapter):
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
                return response  # the Client raises its HTTPError and retries; _Throttle adds the backoff
            body = response.content
        except requests.exceptions.ReadTimeout:
            raise _Retryable(f"no answer within {settings.timeout_s:g} s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise _Retryable(f"response cut short ({exc.__class__.__name__})") from None
        if b"arxiv.org/api/errors" in body:  # arXiv's Error entry, whatever the status
            found = re.search(rb"<summary[^>]*>(.*?)</summary>", body, re.S)
            raise _Rejected(found[1].decode("utf-8", "replace").strip() if found else "malformed query")
        if response.status_code != 200:
            raise _Fatal(f"HTTP {response.status_code}")
        if b"<feed" not in body[:4096]:
            snippet = " ".join(body[:60].decode("utf-8", "replace").split())
            raise _Retryable(f"HTTP 200 but not an Atom feed: {snippet!r}")
        return response


class ArxivSource:
    """arXiv search, id lookup and downloads, honouring `ArxivSettings` (endpoint, pacing, timeouts, retries)."""

    def __init__(self, settings: ArxivSettings):
        if settings.retries < 1:
            raise InputError(f"arxiv.retries must be at least 1, got {settings.retries}")
        self.settings = settings
        self._attempts: Counter[str] = Counter()
        api = urlsplit(settings.api_url)
        if api.scheme not in ("http", "https") or not api.hostname:
            raise InputError(f"arxiv.api_url is not an http(s) URL: {settings.api_url!r}")
        self._throttle = _shared_throttle(settings.api_url)
        self._api_host = api.hostname
        self._api_port = api.port or (443 if api.scheme == "https" else 80)
        # export.arxiv.org serves the API only; papers and sources live on arxiv.org.
        if api.hostname == "export.arxiv.org":
            self.files_base = "https://arxiv.org"
        else:
            self.files_base = f"{api.scheme}://{api.netloc}"

    # --- metadata ---------------------------------------------------------------------------

    def search(
        self,
        query: str | None = None,
        categories: list[str] | None = None,
        since: date | str | None = None,
        until: date | str | None = None,
        max_results: int = 50,
    ) -> list[PaperMeta]:
        """Papers matching `query` (words or arXiv syntax), in any of `categories`, first
        submitted within [since, until] (UTC days, inclusive). Newest first unless a query
        ranks by relevance. The date window is also enforced on the results themselves, so
        a paper from outside it never comes back, even if arXiv returned one."""
        if max_results < 1:
            raise InputError(f"max_results must be at least 1, got {max_results}")
        since_d, until_d = _as_date(since, "since"), _as_date(until, "until")
        if since_d and until_d and since_d > until_d:
            raise InputError(f"since ({since_d}) is after until ({until_d})")
        clauses = []
        if query and query.strip():
            clauses.append(_query_clause(query))
        if categories:
            bad = [c for c in categories if not _CATEGORY.fullmatch(c)]
            if bad:
                raise InputError(f"not an arXiv category: {bad[0]!r}")
            clauses.append("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
        if since_d or until_d:
            lo = since_d or ARXIV_START
            hi = until_d or datetime.now(timezone.utc).date()
            clauses.append(f"submittedDate:[{lo:%Y%m%d}0000 TO {hi:%Y%m%d}2359]")
        if not clauses:
            raise InputError("an arXiv search needs a query, categories or a date window")
        sort_by = arxiv.SortCriterion.Relevance if query else arxiv.SortCriterion.SubmittedDate
        found = arxiv.Search(query=" AND ".join(clauses), max_results=max_results, sort_by=sort_by,
                             sort_order=arxiv.SortOrder.Descending)
        metas = self._run(found)
        if since_d or until_d:
            metas = [m for m in metas if _inside(m, since_d, until_d)]
        return metas

    def lookup(self, ids: Iterable[str]) -> dict[str, PaperMeta]:
        """Bare arXiv id -> metadata for each id arXiv knows; unknown ids are simply absent.
        Ids may carry a version (that version is asked for) or not (the latest)."""
        wanted: list[str] = []
        for raw in ids:
            bare, version = split_version(raw)
            if not bare:
                raise InputError(f"not an arXiv id: {raw!r}")
            wanted.append(f"{bare}v{version}" if version else bare)
        out: dict[str, PaperMeta] = {}
        wanted = list(dict.fromkeys(wanted))
        for start in range(0, len(wanted), self.settings.page_size):
            chunk = wanted[start:start + self.settings.page_size]
            for meta in self._run(arxiv.Search(id_list=chunk, max_results=len(chunk))):
                out.setdefault(meta.arxiv_id, meta)
        return out

    def reachable(self, timeout: float = 2.0) -> bool:
        """Whether arXiv's API host (or the proxy in front of it) accepts a TCP connection
        within `timeout` seconds. Sends no request, so it costs nothing against the rate limit."""
        return _probe(*self._probe_target(), timeout) is None

    # --- files ------------------------------------------------------------------------------

    def download_pdf(self, meta: PaperMeta, dest_dir: Path) -> Path:
        """Fetch the PDF of `meta` to `<dest_dir>/<safe_key(id)>v<version>.pdf` and return its path."""
        key, version = self._key(meta)
        url = meta.pdf_url or f"{self.files_base}/pdf/{meta.arxiv_id}{version}"
        final = Path(dest_dir) / f"{key}{version}.pdf"
        path = self._download(_https_for_arxiv(url), final, magic=(b"%PDF",), what="PDF")
        assert path is not None
        return path

    def download_source(self, meta: PaperMeta, dest_dir: Path) -> Path | None:
        """Fetch arXiv's e-print (the LaTeX source, gzipped) to `<dest_dir>/<key>v<n>.tar.gz`.
        None when arXiv has no source for the paper (404, or only the PDF is offered).
        arXiv gzips single-file submissions without tar; the name stays .tar.gz."""
        key, version = self._key(meta)
        url = f"{self.files_base}/e-print/{meta.arxiv_id}{version}"
        final = Path(dest_dir) / f"{key}{version}.tar.gz"
        return self._download(url, final, magic=(b"\x1f\x8b",), what="gzipped source", missing_ok=True)

    # --- internals --------------------------------------------------------------------------

    def _client(self, max_results: int | None) -> arxiv.Client:
        page_size = min(self.settings.page_size, max_results or self.settings.page_size)
        client = arxiv.Client(page_size=page_size, delay_seconds=self.settings.delay_s,
                              num_retries=self.settings.retries - 1)
        # Workaround: no base-URL argument in arxiv.Client.
        sep = "&" if "?" in self.settings.api_url else "?"
        client.query_url_format = self.settings.api_url + sep + "{}"
        # Workaround: timeouts, pacing and error triage via the (private) requests session.
        session = getattr(client, "_session", None)
        if not isinstance(session, requests.Session):
            raise RuntimeError(f"arxiv {arxiv.__version__}: Client._session is gone; update surveyor.arxiv_source")
        adapter = _ApiAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return client

    def _run(self, search: arxiv.Search) -> list[PaperMeta]:
        """Run one search through the `arxiv` Client, turning its failures into ours."""
        self._ensure_reachable()
        self._attempts.clear()
        url = self.settings.api_url
        client = self._client(search.max_results)
        try:
            results = list(client.results(search))
        except _Rejected as exc:
            raise InputError(f"arXiv rejected the query ({exc}): {search.query or ','.join(search.id_list)}") from None
        except arxiv.HTTPError as exc:
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(exc.url)}: HTTP {exc.status}") from None
        except arxiv.UnexpectedEmptyPageError as exc:
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(exc.url)}: empty page in mid-results") from None
        except requests.exceptions.RequestException as exc:
            req_url = exc.request.url if exc.request is not None else None
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(req_url)}: {_reason(exc)}") from None
        finally:
            client._session.close()
        metas, seen = [], set()
        for result in results:
            meta = _meta_from_result(result)
            if meta is not None and meta.arxiv_id not in seen:
                seen.add(meta.arxiv_id)
                metas.append(meta)
        return metas

    def _tries(self, url: str | None) -> str:
        n = self._attempts.get(url or "", 0) or max(self._attempts.values(), default=1)
        return f"{n} attempt" + ("s" if n != 1 else "")

    def _probe_target(self) -> tuple[str, int]:
        """The host to probe: the API host, or the proxy requests/httpx would go through."""
        scheme = "https" if self._api_port == 443 else "http"
        proxy = urllib.request.getproxies().get(scheme)
        if proxy and not urllib.request.proxy_bypass(self._api_host):
            parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if parts.hostname:
                return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        return self._api_host, self._api_port

    def _ensure_reachable(self) -> None:
        """Up to `retries` TCP probes with short backoff, all within FAIL_FAST_S."""
        host, port = self._probe_target()
        attempts = self.settings.retries
        pauses = [PROBE_BACKOFF_S * 2**k for k in range(attempts - 1)]
        per_try = min(self.settings.connect_timeout_s, max(0.5, (FAIL_FAST_S - sum(pauses)) / attempts))
        deadline = time.monotonic() + FAIL_FAST_S
        reason, tried = "no attempt made", 0
        for attempt in range(attempts):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            tried += 1
            reason = _probe(host, port, min(per_try, left))
            if reason is None:
                return
            if attempt < len(pauses):
                time.sleep(min(pauses[attempt], max(0.0, deadline - time.monotonic())))
        plural = "s" if tried != 1 else ""
        raise NetworkError(f"arXiv unreachable at {self.settings.api_url} after {tried} attempt{plural}: {reason}")

    def _key(self, meta: PaperMeta) -> tuple[str, str]:
        if not meta.arxiv_id:
            raise InputError(f"cannot download from arXiv without an arXiv id: {meta.title or meta}")
        try:
            key = safe_key(meta.arxiv_id)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return key, f"v{meta.version}" if meta.version else ""

    def _download(self, url: str, final: Path, magic: tuple[bytes, ...], what: str,
                  missing_ok: bool = False) -> Path | None:
        """GET `url` into `final` via `final.part`: paced, retried with backoff, size- and
        magic-checked, renamed atomically. Returns None on 404 when `missing_ok`."""
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        settings = self.settings
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        # identity: the bytes on disk are the bytes arXiv stores (e-prints are gzip files;
        # a transparently decoded body would neither be .tar.gz nor match Content-Length).
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        reason = "no attempt made"
        attempt = 0
        try:
            with httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as client:
                for attempt in range(1, settings.retries + 1):
                    self._throttle.wait(settings.delay_s, attempt)
                    try:
                        with client.stream("GET", url) as response:
                            status = response.status_code
                            if status == 404 and missing_ok:
                                return None
                            if status in RETRY_STATUSES:
                                reason = f"HTTP {status}"
                                continue
                            if status != 200:
                                raise NetworkError(f"download of {url} failed after {_n(attempt)}: HTTP {status}")
                            expected = response.headers.get("Content-Length")
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
                        reason = _reason(exc)
                        part.unlink(missing_ok=True)
                        continue
                    if expected is not None and expected.isdigit() and written != int(expected):
                        reason = f"got {written} of {expected} bytes"
                        part.unlink(missing_ok=True)
                        continue
                    if not head.startswith(magic):
                        part.unlink(missing_ok=True)
                        if missing_ok and head.startswith(b"%PDF"):
                            return None  # arXiv offers only the PDF for this paper
                        kind = response.headers.get("Content-Type", "unknown type")
                        raise NetworkError(f"download of {url} failed after {_n(attempt)}: not a {what} ({kind})")
                    os.replace(part, final)
                    return final
        finally:
            part.unlink(missing_ok=True)
        raise NetworkError(f"download of {url} failed after {_n(attempt)}: {reason}")


# --- helpers ------------------------------------------------------------------------------------

def _n(attempts: int) -> str:
    return f"{attempts} attempt" + ("s" if attempts != 1 else "")


def _as_date(value: date | str | None, name: str) -> date | None:
    """Accept a date, a datetime (taken in UTC) or an ISO 'YYYY-MM-DD' string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(timezone.utc)).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"{name} must be a date like 2025-03-17, got {value!r}")


def _query_clause(query: str) -> str:
    """Plain words become `all:` terms joined by AND ("quoted phrases" stay phrases);
    text already in arXiv syntax (field prefixes, AND/OR/ANDNOT) passes through as is."""
    if _FIELDED.search(query):
        return f"({query.strip()})"
    terms = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', query):
        text = " ".join(re.sub(r"[^\w\-.+ ]", " ", phrase or word).split())
        if text:
            terms.append(f'all:"{text}"' if " " in text else f"all:{text}")
    if not terms:
        raise InputError(f"nothing searchable in query {query!r}")
    return terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")"


def _inside(meta: PaperMeta, since: date | None, until: date | None) -> bool:
    published = meta.published_date()
    if published is None:
        return False
    day = published.date()
    return (since is None or day >= since) and (until is None or day <= until)


def _meta_from_result(result: arxiv.Result) -> PaperMeta | None:
    arxiv_id, version = split_version(result.get_short_id())
    if not arxiv_id:
        log.warning("arXiv returned an entry with an unrecognised id: %s", result.entry_id)
        return None
    meta = PaperMeta(
        arxiv_id=arxiv_id,
        version=version,
        title=" ".join(result.title.split()) or None,
        authors=[a.name for a in result.authors if a.name],
        published=normalize_published(result.published),
        categories=list(dict.fromkeys(([result.primary_category] if result.primary_category else []) + result.categories)),
        abstract=" ".join(result.summary.split()) or None,
        pdf_url=result.pdf_url,
    )
    meta.sources = {f: "arxiv" for f in FIELDS if getattr(meta, f) not in (None, [], "")}
    return meta


def _https_for_arxiv(url: str) -> str:
    """Feeds still say http://arxiv.org/pdf/...; going straight to https saves a redirect
    (which would be an unpaced second request)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "").endswith("arxiv.org"):
        return "https" + url[len("http"):]
    return url


def _reason(exc: BaseException) -> str:
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


def _probe(host: str, port: int, timeout: float) -> str | None:
    """One TCP connect to host:port; None on success, else a short reason. Name resolution
    runs in a daemon thread so a hanging DNS lookup cannot outlast `timeout`."""
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(_reason(exc))

    worker = threading.Thread(target=connect, name="arxiv-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.1)
    return outcome[0] if outcome else "timed out"


def arxiv_reachable(settings: ArxivSettings) -> bool:
    """True when arXiv's API answers at all (a few seconds at most): says which advice fits an empty topic."""
    import httpx

    try:
        httpx.head(settings.api_url, timeout=min(3.0, settings.connect_timeout_s))
        return True
    except httpx.HTTPError:
        return False
