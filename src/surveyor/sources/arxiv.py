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
import re
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import arxiv
import requests
import requests.adapters

from surveyor.errors import InputError, NetworkError
from surveyor.settings import ArxivSettings
from surveyor.sources.identity import safe_key, split_version
from surveyor.sources.metadata import FIELDS, PaperMeta, normalize_published
from surveyor.sources.transport import ApiAdapter, Rejected, download, probe, reason, shared_throttle

log = logging.getLogger(__name__)

FAIL_FAST_S = 8.0
"""With no network, `search`/`lookup` must fail within 10 s: the reachability probe
(all its attempts and pauses) never takes longer than this."""

PROBE_BACKOFF_S = 0.25
"""First pause between probe attempts (then doubled): enough to ride out a blip, small
against FAIL_FAST_S."""

ARXIV_START = date(1991, 8, 1)
"""arXiv's first day: the lower bound when only `until` is given."""

_FIELDED = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate|lastUpdatedDate):|\b(?:AND|OR|ANDNOT)\b")
_CATEGORY = re.compile(r"[a-z\-]+(?:\.[A-Za-z\-]+)?")




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
        self._throttle = shared_throttle(settings.api_url)
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
        return probe(*self._probe_target(), timeout) is None

    # --- files ------------------------------------------------------------------------------

    def download_pdf(self, meta: PaperMeta, dest_dir: Path) -> Path:
        """Fetch the PDF of `meta` to `<dest_dir>/<safe_key(id)>v<version>.pdf` and return its path."""
        key, version = self._key(meta)
        url = meta.pdf_url or f"{self.files_base}/pdf/{meta.arxiv_id}{version}"
        final = Path(dest_dir) / f"{key}{version}.pdf"
        path = download(_https_for_arxiv(url), final, self.settings, self._throttle, magic=(b"%PDF",), what="PDF")
        assert path is not None
        return path

    def download_source(self, meta: PaperMeta, dest_dir: Path) -> Path | None:
        """Fetch arXiv's e-print (the LaTeX source, gzipped) to `<dest_dir>/<key>v<n>.tar.gz`.
        None when arXiv has no source for the paper (404, or only the PDF is offered).
        arXiv gzips single-file submissions without tar; the name stays .tar.gz."""
        key, version = self._key(meta)
        url = f"{self.files_base}/e-print/{meta.arxiv_id}{version}"
        final = Path(dest_dir) / f"{key}{version}.tar.gz"
        return download(url, final, self.settings, self._throttle, magic=(b"\x1f\x8b",), what="gzipped source",
                        missing_ok=True)

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
            raise RuntimeError(f"arxiv {arxiv.__version__}: Client._session is gone; update surveyor.sources.arxiv")
        adapter = ApiAdapter(self)
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
        except Rejected as exc:
            raise InputError(f"arXiv rejected the query ({exc}): {search.query or ','.join(search.id_list)}") from None
        except arxiv.HTTPError as exc:
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(exc.url)}: HTTP {exc.status}") from None
        except arxiv.UnexpectedEmptyPageError as exc:
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(exc.url)}: empty page in mid-results") from None
        except requests.exceptions.RequestException as exc:
            req_url = exc.request.url if exc.request is not None else None
            raise NetworkError(f"arXiv API failed at {url} after {self._tries(req_url)}: {reason(exc)}") from None
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
            reason = probe(host, port, min(per_try, left))
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

# --- helpers ------------------------------------------------------------------------------------

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


