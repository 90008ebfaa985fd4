"""A loopback arXiv: the export API's Atom feeds, /pdf/ and /e-print/, built from the shared corpus.

There is no network where surveyor's tests run, but the arXiv code path must be
exercised for real (HTTP, the `arxiv` package's parser and pager, retries,
timeouts). This server answers the way export.arxiv.org does:

    with ArxivReplay(corpus_dir) as server:
        settings = ArxivSettings(api_url=server.api_url, delay_s=0.05)
        ...
        server.requests        # paths (with query strings) of every request served, in order
        server.request_log     # (time.monotonic(), path) for each of them

Endpoints
    GET /api/query     search_query (all: ti: abs: au: cat: terms, "quoted phrases", AND / OR /
                       ANDNOT, parentheses, submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]),
                       id_list (comma separated, with or without version), start, max_results,
                       sortBy (relevance | submittedDate | lastUpdatedDate), sortOrder.
                       A malformed request gets what arXiv sends: HTTP 200 and a feed whose single
                       entry is titled "Error" with an id under http://arxiv.org/api/errors#.
    GET /pdf/<id>[vN]  the corpus PDF named by the record's `file`; 404 otherwise.
    GET /e-print/<id>[vN]  404 (the corpus has no LaTeX) unless `register_source` gave bytes.

Records come from `pdf/metadata.jsonl`; every paper is served as version 1. A record whose
`published` is null never matches a date query (nor sorts among dated ones), but id_list still
serves it. Real arXiv entries always carry <published> and <updated>, and the `arxiv` package's
parser drops entries without them (which then also breaks its pager: fewer entries than
totalResults makes it ask for a page that comes back empty). So such an entry carries a
stand-in date: the first day of the month its id encodes (arXiv assigns YYMM at first
submission), with `<arxiv:comment>replay: stand-in date</arxiv:comment>`. Never treat
that date as a fact in a test; set `serve_undated = False` to leave such papers out of
id_list answers instead (as if arXiv did not know them).

Fault knobs for tests
    fail_next(n, status=503, body=...)  the next n requests (any path) get that answer
    truncate_pdfs = True                 PDFs announce their full Content-Length, then the
                                         connection closes after half the bytes
    ignore_dates = True                  submittedDate terms match everything (a server that
                                         leaks papers from outside the window)
    slow_pdfs_s = 30.0                   PDFs send half their bytes, pause this long, then the rest
                                         (a download in flight that a test can interrupt)
"""
from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

# The shared corpus beside the checkout (../shared/corpus); SURVEYOR_TEST_CORPUS overrides.
DEFAULT_CORPUS = Path(os.environ.get("SURVEYOR_TEST_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))

_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?")
_ABS = "http://arxiv.org/abs/"
_OPENSEARCH = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
_ARXIV_NS = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'


def find_metadata(corpus_dir: Path) -> Path:
    """metadata.jsonl under `corpus_dir/pdf/` (the shared layout) or directly in `corpus_dir`."""
    for candidate in (Path(corpus_dir) / "pdf" / "metadata.jsonl", Path(corpus_dir) / "metadata.jsonl"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"arXiv replay needs the shared corpus: no metadata.jsonl under {corpus_dir} "
        "(expected ../shared/corpus/pdf/metadata.jsonl; set SURVEYOR_TEST_CORPUS to its folder)"
    )


def load_records(corpus_dir: Path) -> list[dict[str, Any]]:
    """The corpus records the replay serves, with a parsed `_published` datetime (UTC) or None."""
    metadata = find_metadata(corpus_dir)
    records = []
    for line in metadata.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(_prepare(json.loads(line), metadata.parent))
    return records


def _prepare(record: dict[str, Any], folder: Path | None) -> dict[str, Any]:
    record = dict(record)
    match = _ID.fullmatch(record.get("arxiv_id") or "")
    if not match:
        raise ValueError(f"replay record without a usable arxiv_id: {record.get('arxiv_id')!r}")
    record["arxiv_id"] = match["id"]
    published = record.get("published")
    record["_published"] = (
        datetime.fromisoformat(published.replace("Z", "+00:00")).astimezone(timezone.utc) if published else None
    )
    record["_pdf"] = (folder / record["file"]) if folder is not None and record.get("file") else None
    return record


class QueryError(ValueError):
    """A search_query arXiv would reject; the text becomes the Error entry's summary."""


# --- search_query: tokenizer, recursive-descent parser, matcher -------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lpar>\()|(?P<rpar>\))|
        (?P<range>submittedDate:\[\s*(?P<lo>\d{8,14})\s+TO\s+(?P<hi>\d{8,14})\s*\])|
        (?P<field>[A-Za-z]+):(?:"(?P<fphrase>[^"]*)"|(?P<fword>[^\s()"]+))|
        "(?P<phrase>[^"]*)"|
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_FIELDS = {"all", "ti", "abs", "au", "cat", "id"}
_OPERATORS = {"AND", "OR", "ANDNOT"}
Matcher = Callable[[dict[str, Any]], bool]


def _tokenize(query: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    query = query.strip()
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if not match or match.end() == pos:
            raise QueryError(f"malformed query near {query[pos:pos + 20]!r}")
        pos = match.end()
        if match["lpar"]:
            tokens.append(("(", None))
        elif match["rpar"]:
            tokens.append((")", None))
        elif match["range"]:
            tokens.append(("range", (match["lo"].ljust(12, "0")[:12], match["hi"].ljust(12, "0")[:12])))
        elif match["field"]:
            field = match["field"]
            if field not in _FIELDS:
                raise QueryError(f"unknown field prefix {field}:")
            text = match["fphrase"] if match["fphrase"] is not None else match["fword"]
            if not text or not text.strip():
                raise QueryError(f"empty term after {field}:")
            tokens.append(("term", (field, text, match["fphrase"] is not None)))
        elif match["phrase"] is not None:
            tokens.append(("term", ("all", match["phrase"], True)))
        elif match["word"] in _OPERATORS:
            tokens.append(("op", match["word"]))
        elif re.match(r"[A-Za-z]+:", match["word"]):
            raise QueryError(f"malformed term {match['word']!r}")
        else:
            tokens.append(("term", ("all", match["word"], False)))
    if not tokens:
        raise QueryError("empty query")
    return tokens


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _field_text(record: dict[str, Any], field: str) -> str:
    parts = {
        "ti": [record.get("title") or ""],
        "abs": [record.get("abstract") or ""],
        "au": list(record.get("authors") or []),
    }
    if field == "all":
        return " ".join(parts["ti"] + parts["abs"] + parts["au"] + [record.get("arxiv_id") or ""])
    return " ".join(parts[field])


def _term_matcher(field: str, text: str, phrase: bool) -> Matcher:
    if field == "cat":
        pattern = re.compile(re.escape(text).replace(r"\*", ".*"), re.IGNORECASE)
        return lambda r: any(pattern.fullmatch(c) for c in r.get("categories") or [])
    if field == "id":
        return lambda r: r["arxiv_id"] == text.split("v")[0]
    wanted = _words(text)
    if not wanted:
        raise QueryError(f"no searchable words in {text!r}")
    if phrase:
        needle = " " + " ".join(wanted) + " "
        return lambda r: needle in " " + " ".join(_words(_field_text(r, field))) + " "
    return lambda r: set(wanted) <= set(_words(_field_text(r, field)))


class _Parser:
    """expr := unit (op unit)*, left to right; unit := '(' expr ')' | term | range.
    Adjacent units without an operator are joined with AND."""

    def __init__(self, tokens: list[tuple[str, Any]], server: "ArxivReplay"):
        self.tokens, self.pos, self.server = tokens, 0, server

    def parse(self) -> Matcher:
        matcher = self.expr()
        if self.pos != len(self.tokens):
            raise QueryError("unbalanced parentheses")
        return matcher

    def expr(self) -> Matcher:
        left = self.unit()
        while self.pos < len(self.tokens) and self.tokens[self.pos][0] != ")":
            kind, value = self.tokens[self.pos]
            op = "AND"
            if kind == "op":
                op = value
                self.pos += 1
            right = self.unit()
            left = self._combine(op, left, right)
        return left

    @staticmethod
    def _combine(op: str, left: Matcher, right: Matcher) -> Matcher:
        if op == "AND":
            return lambda r: left(r) and right(r)
        if op == "OR":
            return lambda r: left(r) or right(r)
        return lambda r: left(r) and not right(r)

    def unit(self) -> Matcher:
        if self.pos >= len(self.tokens):
            raise QueryError("query ends where a term was expected")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "(":
            inner = self.expr()
            if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != ")":
                raise QueryError("unbalanced parentheses")
            self.pos += 1
            return inner
        if kind == "term":
            return _term_matcher(*value)
        if kind == "range":
            lo, hi = value
            server = self.server

            def in_range(r: dict[str, Any]) -> bool:
                if r["_published"] is None:
                    return False
                return server.ignore_dates or lo <= r["_published"].strftime("%Y%m%d%H%M") <= hi

            return in_range
        raise QueryError(f"unexpected {value or kind!r}")


def _relevance(record: dict[str, Any], query: str) -> int:
    words = set(_words(re.sub(r"\b[A-Za-z]+:", " ", query))) - {w.lower() for w in _OPERATORS}
    text = _words(_field_text(record, "all"))
    return sum(1 for w in text if w in words)


# --- feed rendering ---------------------------------------------------------------------------

def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wrap(text: str, width: int, indent: str) -> str:
    """arXiv hard-wraps titles and abstracts; clients must normalise whitespace."""
    return ("\n" + indent).join(textwrap.wrap(" ".join(text.split()), width, break_long_words=False, break_on_hyphens=False)) if text else ""


def _feed(entries: list[str], total: int, start: int, per_page: int, self_href: str, title: str) -> bytes:
    now = _iso(datetime.now(timezone.utc).replace(hour=0, minute=0, second=0))
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" {_OPENSEARCH} {_ARXIV_NS}>\n'
        f'  <id>https://arxiv.org/api/{abs(hash(self_href)) & 0xFFFFFFFF:08x}</id>\n'
        f"  <title>arXiv Query: {escape(title)}</title>\n"
        f"  <updated>{now}</updated>\n"
        f'  <link href={quoteattr(self_href)} type="application/atom+xml"/>\n'
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
    )
    return (head + "".join(entries) + "</feed>\n").encode("utf-8")


def _error_feed(message: str, self_href: str) -> bytes:
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    entry = (
        "  <entry>\n"
        f"    <id>http://arxiv.org/api/errors#{escape(slug)}</id>\n"
        "    <title>Error</title>\n"
        f"    <summary>{escape(message)}</summary>\n"
        "    <updated>2007-10-12T00:00:00Z</updated>\n"
        f'    <link href="http://arxiv.org/api/errors#{escape(slug)}" rel="alternate" type="text/html"/>\n'
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n"
    )
    return _feed([entry], 1, 0, 1, self_href, "Error")


def _month_of(arxiv_id: str) -> datetime:
    """The first day of the month an arXiv id encodes: 2401.12345 and hep-th/9901001 -> 2024-01 and 1999-01."""
    digits = arxiv_id.split("/")[-1][:4]
    yy, mm = int(digits[:2]), int(digits[2:4])
    return datetime(1900 + yy if yy >= 91 else 2000 + yy, mm, 1, tzinfo=timezone.utc)


def _entry(record: dict[str, Any], version: int, base_url: str) -> str:
    versioned = f"{record['arxiv_id']}v{version}"
    published = record["_published"] or _month_of(record["arxiv_id"])
    dates = f"    <updated>{_iso(published)}</updated>\n    <published>{_iso(published)}</published>\n"
    if record["_published"] is None:
        record = {**record, "comment": "replay: stand-in date"}
    authors = "".join(f"    <author>\n      <name>{escape(a)}</name>\n    </author>\n" for a in record.get("authors") or [])
    categories = list(record.get("categories") or [])
    primary = record.get("primary_category") or (categories[0] if categories else None)
    if primary and primary not in categories:
        categories.insert(0, primary)
    comment = f"    <arxiv:comment>{escape(record['comment'])}</arxiv:comment>\n" if record.get("comment") else ""
    return (
        "  <entry>\n"
        f"    <id>{_ABS}{escape(versioned)}</id>\n"
        f"{dates}"
        f"    <title>{escape(_wrap(record.get('title') or '', 70, '  '))}</title>\n"
        f"    <summary>  {escape(_wrap(record.get('abstract') or '', 78, ''))}\n</summary>\n"
        f"{authors}{comment}"
        f'    <link href={quoteattr(f"{base_url}/abs/{versioned}")} rel="alternate" type="text/html"/>\n'
        f'    <link title="pdf" href={quoteattr(f"{base_url}/pdf/{versioned}")} rel="related" type="application/pdf"/>\n'
        + (f'    <arxiv:primary_category term={quoteattr(primary)} scheme="http://arxiv.org/schemas/atom"/>\n' if primary else "")
        + "".join(f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>\n' for c in categories)
        + "  </entry>\n"
    )


# --- the server -------------------------------------------------------------------------------

class ArxivReplay:
    """Threaded loopback HTTP server on 127.0.0.1 (random port) that answers like arXiv."""

    def __init__(self, corpus_dir: Path | str = DEFAULT_CORPUS):
        self.records: list[dict[str, Any]] = load_records(Path(corpus_dir))
        self.requests: list[str] = []
        self.request_log: list[tuple[float, str]] = []
        self.truncate_pdfs = False
        self.ignore_dates = False
        self.slow_pdfs_s = 0.0
        self.serve_undated = True
        self._sources: dict[str, bytes] = {}
        self._pdf_bytes: dict[str, bytes] = {}
        self._failures: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # knobs ---------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503, body: bytes = b"Service Unavailable") -> None:
        """The next `n` requests, whatever their path, are answered with `status` and `body`."""
        with self._lock:
            self._failures.extend([(status, body)] * n)

    def register_source(self, arxiv_id: str, data: bytes) -> None:
        """Serve `data` at /e-print/<arxiv_id>[vN] (a gzipped tarball, as arXiv sends)."""
        self._sources[arxiv_id] = data

    def add_paper(self, record: dict[str, Any], pdf: bytes | Path | None = None) -> None:
        """Serve one more paper (e.g. an old-style id the corpus lacks), with optional PDF bytes."""
        prepared = _prepare(record, None)
        self.records = [r for r in self.records if r["arxiv_id"] != prepared["arxiv_id"]] + [prepared]
        if pdf is not None:
            self._pdf_bytes[prepared["arxiv_id"]] = Path(pdf).read_bytes() if isinstance(pdf, Path) else pdf

    # lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("ArxivReplay is not running; use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/query"

    def __enter__(self) -> "ArxivReplay":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="arxiv-replay", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    # request handling ----------------------------------------------------------------------
    def _take_failure(self) -> tuple[int, bytes] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _find(self, arxiv_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["arxiv_id"] == arxiv_id), None)

    def query(self, raw_query: str) -> bytes:
        """The Atom feed for one /api/query query string."""
        params = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        self_href = f"{self.api_url}?{raw_query}"
        search = params.get("search_query", "").strip()
        try:
            start = int(params.get("start", "0") or 0)
            per_page = int(params.get("max_results", "10") or 10)
        except ValueError:
            return _error_feed("start and max_results must be integers", self_href)
        if start < 0 or per_page < 0:
            return _error_feed("start and max_results must be non-negative", self_href)
        sort_by = params.get("sortBy", "relevance")
        sort_order = params.get("sortOrder", "descending")
        if sort_by not in {"relevance", "submittedDate", "lastUpdatedDate"}:
            return _error_feed(f"unknown sortBy {sort_by}", self_href)
        if sort_order not in {"ascending", "descending"}:
            return _error_feed(f"unknown sortOrder {sort_order}", self_href)

        wanted: list[tuple[dict[str, Any], int]] = []
        ids = [i.strip() for i in params.get("id_list", "").split(",") if i.strip()]
        for raw_id in ids:
            match = _ID.fullmatch(raw_id)
            if not match:
                return _error_feed(f"incorrect id format for {raw_id}", self_href)
            record = self._find(match["id"])
            version = int(match["v"] or 1)
            if record is not None and version == 1 and (self.serve_undated or record["_published"] is not None):
                wanted.append((record, version))
        try:
            matcher = _Parser(_tokenize(search), self).parse() if search else None
        except QueryError as exc:
            return _error_feed(str(exc), self_href)

        if ids:
            hits = [(r, v) for r, v in wanted if matcher is None or matcher(r)]
        elif matcher is not None:
            hits = [(r, 1) for r in self.records if matcher(r)]
        else:
            hits = []
        if not ids or sort_by != "relevance":
            hits = self._sorted(hits, sort_by, sort_order, search)
        page = hits[start:start + per_page]
        entries = [_entry(r, v, self.base_url) for r, v in page]
        title = f"search_query={search}&id_list={','.join(ids)}&start={start}&max_results={per_page}"
        return _feed(entries, len(hits), start, per_page, self_href, title)

    @staticmethod
    def _sorted(hits: list, sort_by: str, order: str, search: str) -> list:
        descending = order == "descending"
        if sort_by == "relevance":
            return sorted(hits, key=lambda h: _relevance(h[0], search), reverse=descending)
        dated = [h for h in hits if h[0]["_published"] is not None]
        undated = [h for h in hits if h[0]["_published"] is None]
        return sorted(dated, key=lambda h: (h[0]["_published"], h[0]["arxiv_id"]), reverse=descending) + undated

    def pdf(self, arxiv_id: str) -> bytes | None:
        if arxiv_id in self._pdf_bytes:
            return self._pdf_bytes[arxiv_id]
        record = self._find(arxiv_id)
        if record is not None and record["_pdf"] is not None and record["_pdf"].is_file():
            return record["_pdf"].read_bytes()
        return None


def _make_handler(server: ArxivReplay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "arxiv-replay/1"

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            with server._lock:
                server.requests.append(self.path)
                server.request_log.append((time.monotonic(), self.path))
            failure = server._take_failure()
            if failure is not None:
                status, body = failure
                return self._send(status, body, "text/plain")
            url = urlsplit(self.path)
            if url.path == "/api/query":
                return self._send(200, server.query(url.query), "application/atom+xml; charset=utf-8")
            for prefix, kind in (("/pdf/", "pdf"), ("/e-print/", "src")):
                if url.path.startswith(prefix):
                    match = _ID.fullmatch(url.path[len(prefix):].removesuffix(".pdf"))
                    if not match or int(match["v"] or 1) != 1:
                        break
                    if kind == "pdf":
                        data = server.pdf(match["id"])
                        if data is not None:
                            return self._send(200, data, "application/pdf", truncate=server.truncate_pdfs,
                                              pause=server.slow_pdfs_s)
                    elif match["id"] in server._sources:
                        return self._send(200, server._sources[match["id"]], "application/x-eprint-tar")
                    break
            self._send(404, b"Not Found", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str, truncate: bool = False,
                  pause: float = 0.0) -> None:
            self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if pause and not truncate:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(pause)
                body = body[len(body) // 2:]
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            if truncate:
                self.close_connection = True

    return Handler
