"""ArxivSource against the loopback arXiv (tests/arxiv_replay.py): real HTTP, the real `arxiv`
package, no mocks. Expected answers are computed from the shared corpus's metadata.jsonl."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import socket
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arxiv_replay import DEFAULT_CORPUS, ArxivReplay  # noqa: E402
from surveyor.errors import InputError, NetworkError  # noqa: E402
from surveyor.settings import ArxivSettings  # noqa: E402
from surveyor.sources.arxiv import ArxivSource  # noqa: E402
from surveyor.sources.metadata import PaperMeta  # noqa: E402

METADATA = DEFAULT_CORPUS / "pdf" / "metadata.jsonl"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    if not METADATA.is_file():
        pytest.fail(f"shared corpus missing: {METADATA} not found (these tests replay arXiv from it; "
                    "set SURVEYOR_TEST_CORPUS to the corpus folder)", pytrace=False)
    return [json.loads(line) for line in METADATA.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture()
def server(records):
    with ArxivReplay(DEFAULT_CORPUS) as srv:
        yield srv


def make_source(url: str, **overrides) -> ArxivSource:
    return ArxivSource(ArxivSettings(**{"api_url": url, "delay_s": 0.05, "connect_timeout_s": 2.0,
                                        "timeout_s": 5.0, **overrides}))


def published_day(record: dict) -> date | None:
    value = record.get("published")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).date() if value else None


def expected_ids(records, since, until, categories=None, word=None) -> set[str]:
    out = set()
    for r in records:
        day = published_day(r)
        if day is None or not since <= day <= until:
            continue
        if categories and not set(categories) & set(r.get("categories") or []):
            continue
        text = " ".join([r.get("title") or "", r.get("abstract") or "", *(r.get("authors") or [])]).lower()
        if word and not re.search(rf"\b{word}\b", text):
            continue
        out.add(r["arxiv_id"])
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port_url() -> str:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/query"


# --- search -----------------------------------------------------------------------------------

@pytest.mark.parametrize("day", [date(2025, 3, 18), date(2024, 1, 18)])
def test_search_date_window_returns_only_papers_inside(server, records, day):
    since = day - timedelta(days=day.weekday())  # the Monday-to-Sunday week holding `day`
    until = since + timedelta(days=6)
    cats = ["cs.CL", "eess.AS", "cs.IR"]
    found = make_source(server.api_url).search(categories=cats, since=since, until=until)
    assert {m.arxiv_id for m in found} == expected_ids(records, since, until, cats)
    for meta in found:
        assert since <= meta.published_date().date() <= until
        assert meta.sources["published"] == "arxiv" and meta.version == 1
    assert "submittedDate%3A%5B" + since.strftime("%Y%m%d") + "0000+TO+" + until.strftime("%Y%m%d") + "2359" in server.requests[-1]


def test_search_query_category_and_window(server, records):
    since, until = date(2024, 1, 15), date(2024, 1, 21)
    found = make_source(server.api_url).search("language", categories=["cs.CL", "eess.AS"], since=since, until=until)
    expected = expected_ids(records, since, until, ["cs.CL", "eess.AS"], "language")
    assert len(expected) >= 2, "fixture window should hold several papers"
    assert {m.arxiv_id for m in found} == expected
    by_id = {r["arxiv_id"]: r for r in records}
    for meta in found:
        record = by_id[meta.arxiv_id]
        assert meta.title == " ".join(record["title"].split())  # arXiv wraps titles; we unwrap
        assert meta.authors == record["authors"]
        assert meta.abstract == " ".join(record["abstract"].split())
        assert meta.pdf_url == f"{server.base_url}/pdf/{meta.arxiv_id}v1"


def test_post_filter_drops_papers_a_leaky_server_returns(server, records):
    server.ignore_dates = True  # the server now ignores submittedDate and returns everything dated
    since, until = date(2025, 3, 24), date(2025, 3, 30)
    found = make_source(server.api_url).search(categories=["cs.IR"], since=since, until=until)
    assert {m.arxiv_id for m in found} == expected_ids(records, since, until, ["cs.IR"]) == {"2504.08748"}


def test_search_pages_through_results(server, records):
    source = make_source(server.api_url, page_size=5)
    found = source.search(categories=["cs.CL"], max_results=12)
    assert len(found) == 12 and len({m.arxiv_id for m in found}) == 12
    assert sum("/api/query" in r for r in server.requests) == 3
    days = [m.published for m in found]
    assert days == sorted(days, reverse=True)  # no query: newest first


def test_search_input_errors(server):
    source = make_source(server.api_url)
    with pytest.raises(InputError, match="after"):
        source.search("x", since=date(2025, 3, 20), until=date(2025, 3, 1))
    with pytest.raises(InputError, match="since"):
        source.search("x", since="2025-13-40")
    with pytest.raises(InputError):
        source.search()
    with pytest.raises(InputError):
        source.search("x", categories=["cs.CL) OR (all:y"])
    with pytest.raises(InputError, match="rejected"):
        source.search("ti:")  # arXiv's HTTP-200 Error entry
    assert len(server.requests) == 1  # bad arguments never reach the network; the rejection is not retried


# --- lookup -----------------------------------------------------------------------------------

def test_lookup_by_id(server, records):
    found = make_source(server.api_url).lookup(["1706.03741", "2401.10020v1", "2401.99999"])
    assert set(found) == {"1706.03741", "2401.10020"}
    by_id = {r["arxiv_id"]: r for r in records}
    for arxiv_id, meta in found.items():
        assert meta.arxiv_id == arxiv_id and meta.version == 1
        assert meta.published == by_id[arxiv_id]["published"]
        assert meta.categories == by_id[arxiv_id]["categories"]
    assert make_source(server.api_url).lookup([]) == {}
    undated = [r["arxiv_id"] for r in records if not r.get("published")]
    assert undated and undated[0] in make_source(server.api_url).lookup(undated[:1])  # served, stand-in date
    server.serve_undated = False
    assert make_source(server.api_url).lookup(undated[:1]) == {}
    with pytest.raises(InputError):
        make_source(server.api_url).lookup(["not-an-id"])


# --- downloads --------------------------------------------------------------------------------

def test_pdf_download_is_byte_identical(server, records, tmp_path):
    source = make_source(server.api_url)
    meta = source.lookup(["1706.03741"])["1706.03741"]
    path = source.download_pdf(meta, tmp_path)
    assert path == tmp_path / "1706.03741v1.pdf"
    assert sha256(path) == sha256(METADATA.parent / "1706.03741.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1706.03741v1.pdf"]


def test_truncated_download_leaves_nothing_and_raises(server, tmp_path):
    server.truncate_pdfs = True
    meta = PaperMeta(arxiv_id="1707.06347", version=1, pdf_url=f"{server.base_url}/pdf/1707.06347v1")
    with pytest.raises(NetworkError) as caught:
        make_source(server.api_url).download_pdf(meta, tmp_path)
    message = str(caught.value)
    assert meta.pdf_url in message and "3 attempts" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []
    assert server.requests.count("/pdf/1707.06347v1") == 3


def test_503_then_success_is_retried(server, tmp_path):
    source = make_source(server.api_url)
    server.fail_next(1, status=503)
    assert [m.arxiv_id for m in source.search("ti:Self-Rewarding")] == ["2401.10020"]
    assert len(server.requests) == 2
    server.fail_next(2, status=503)
    meta = PaperMeta(arxiv_id="2401.10020", version=1, pdf_url=f"{server.base_url}/pdf/2401.10020v1")
    assert source.download_pdf(meta, tmp_path).is_file()
    assert server.requests[-3:] == ["/pdf/2401.10020v1"] * 3


def test_rate_limit_page_is_retried(server):
    server.fail_next(1, status=200, body=b"Rate exceeded.")  # arXiv's throttling answer is not a feed
    assert set(make_source(server.api_url).lookup(["1707.06347"])) == {"1707.06347"}
    assert len(server.requests) == 2


def test_persistent_503_names_url_and_attempts(server):
    server.fail_next(10, status=503)
    with pytest.raises(NetworkError, match=rf"{re.escape(server.api_url)} after 3 attempts: HTTP 503"):
        make_source(server.api_url).search("ti:anything")


def test_requests_are_spaced_by_delay(server, tmp_path):
    delay = 0.25  # stands in for arXiv's 3 s
    source = make_source(server.api_url, delay_s=delay)
    meta = source.lookup(["1706.03741"])["1706.03741"]
    server.fail_next(2, status=503)
    source.download_pdf(meta, tmp_path)  # fails twice, succeeds on the third attempt
    server.fail_next(1, status=502)
    source.search("ti:preferences")  # the API path (arxiv.Client) fails once, then succeeds
    times = [t for t, _ in server.request_log]
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert len(gaps) == 5, server.requests
    # The server logs a request when its handler runs, a few ms after the client started it (up to
    # ~40 ms on a loaded machine), so a gap can read that much short; unpaced gaps would be ~5 ms.
    jitter = 0.06
    assert min(gaps) >= delay - jitter, gaps  # API calls and downloads share one pace
    assert gaps[2] >= 2 * delay - jitter, gaps  # the second retry backs off (delay, then 2 x delay)


def test_hopeless_status_is_not_retried(server):
    server.fail_next(1, status=404)
    with pytest.raises(NetworkError, match=r"after 1 attempt: HTTP 404"):
        make_source(server.api_url).search("ti:preferences")
    assert len(server.requests) == 1


def test_old_style_id_stays_inside_dest_dir(server, tmp_path):
    pdf = (METADATA.parent / "1706.03741.pdf").read_bytes()
    server.add_paper({"arxiv_id": "hep-th/9901001", "title": "An old-style paper", "authors": ["A. Author"],
                      "published": "1999-01-04T12:00:00Z", "categories": ["hep-th"], "abstract": "Strings."}, pdf=pdf)
    source = make_source(server.api_url)
    meta = source.lookup(["hep-th/9901001"])["hep-th/9901001"]
    assert meta.pdf_url == f"{server.base_url}/pdf/hep-th/9901001v1"
    path = source.download_pdf(meta, tmp_path)
    assert path == tmp_path / "hep-th_9901001v1.pdf" and path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == ["hep-th_9901001v1.pdf"]
    assert path.read_bytes() == pdf


def test_source_download_404_is_none_and_registered_tarball_is_saved(server, tmp_path):
    source = make_source(server.api_url)
    meta = PaperMeta(arxiv_id="2401.10020", version=1)
    assert source.download_source(meta, tmp_path) is None
    assert server.requests[-1] == "/e-print/2401.10020v1"
    tarball = gzip.compress(b"\\documentclass{article}")
    server.register_source("2401.10020", tarball)
    path = source.download_source(meta, tmp_path)
    assert path == tmp_path / "2401.10020v1.tar.gz" and path.read_bytes() == tarball
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2401.10020v1.tar.gz"]


def test_source_base_is_arxiv_org_for_export_api():
    assert ArxivSource(ArxivSettings()).files_base == "https://arxiv.org"
    assert ArxivSource(ArxivSettings(api_url="http://127.0.0.1:8000/api/query")).files_base == "http://127.0.0.1:8000"


# --- no network -------------------------------------------------------------------------------

def test_unreachable_endpoint_fails_fast(tmp_path):
    url = closed_port_url()
    source = make_source(url, connect_timeout_s=5.0, delay_s=3.0)  # production pacing: must still be quick
    assert source.reachable(timeout=1.0) is False
    for call in (lambda: source.search("distillation"), lambda: source.lookup(["1706.03741"])):
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            call()
        assert time.monotonic() - started < 10
        assert str(caught.value) == f"arXiv unreachable at {url} after 3 attempts: connection refused"


def test_download_from_unreachable_host_raises(tmp_path):
    url = closed_port_url()
    meta = PaperMeta(arxiv_id="1706.03741", version=1, pdf_url=url.replace("/api/query", "/pdf/1706.03741v1"))
    with pytest.raises(NetworkError, match="after 3 attempts: connection refused"):
        make_source(url).download_pdf(meta, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_reachable_true_for_live_server(server):
    assert make_source(server.api_url).reachable() is True


def test_silent_server_times_out_with_retries():
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/query"
        with pytest.raises(NetworkError, match=r"after 3 attempts: no answer within 0.3 s"):
            make_source(url, timeout_s=0.3).search("distillation")
