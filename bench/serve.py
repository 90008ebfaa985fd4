"""Benchmark `surveyor serve` and the page views' highlights.

Usage: python bench/serve.py --home HOME [--qa FILE] [--limit N] [--port P] [--verbose]

HOME must be an ingested home holding the full corpus; page views are cached under
HOME/index/pages (emptied before the request timings), so use a copy of a shared home.

Prints:
  start            seconds from launching `surveyor serve` to its first answered request (bar <= 3 s)
  page requests    p50/p95 ms of GET /paper/ID/page/N?q=QUOTE plus its image, cold (first view: the page
                   is rendered and the quote searched) and warm (cached) (bar: p95 <= 200 ms)
  highlight        over the citations of `ask --llm none` on the dev questions: a citation is precise when
                   something is highlighted and >= 95% of the highlighted words are the quote's words
                   (a word is the quote's when its letters and digits occur in the quote's letters and
                   digits); also word precision and quote coverage on average, and how each was found
                   (bar: precise on >= 95% of citations)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import quote as urlquote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from surveyor.index.catalog import Catalog  # noqa: E402
from surveyor.render.pageview import page_view  # noqa: E402
from surveyor.retrieve.retriever import Retriever  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402
from surveyor.write.ask.answer import answer  # noqa: E402

DEFAULT_QA = REPO.parent / "shared" / "eval" / "dev_qa.jsonl"


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def highlight_scores(quote: str, words: list[str]) -> tuple[float, float]:
    """(word precision, quote coverage) of the highlighted page words against the quote."""
    target = _key(quote)
    keys = [k for k in (_key(w) for w in words) if k]
    if not keys or not target:
        return 0.0, 0.0
    precision = sum(k in target for k in keys) / len(keys)
    coverage = min(1.0, sum(len(k) for k in keys if k in target) / len(target))
    return precision, coverage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--qa", default=str(DEFAULT_QA))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = load_settings(Path(args.home))
    questions = [json.loads(line) for line in Path(args.qa).read_text().splitlines() if line.strip()]
    questions = questions[:args.limit] if args.limit else questions

    # Highlight precision on the citations of `ask --llm none`.
    retriever = Retriever(settings)
    catalog = Catalog(settings.index_dir)
    cites: list[tuple[str, int, str]] = []
    for q in questions:
        result = answer(settings, q["question"], llm_spec="none", retriever=retriever)
        cites += [(c.arxiv_id, c.page, c.quote) for c in result.citations]
    cites = list(dict.fromkeys(cites))
    precise = highlighted = 0
    precisions, coverages, methods = [], [], Counter()
    for paper_id, page, quote in cites:
        record = catalog.paper(paper_id)
        view = page_view(settings.home / record.file, record.sha256, page, quote, settings.index_dir / "pages")
        precision, coverage = highlight_scores(quote, view.highlight.words)
        methods[view.highlight.method] += 1
        highlighted += bool(view.highlight.boxes)
        precise += bool(view.highlight.boxes) and precision >= 0.95
        precisions.append(precision)
        coverages.append(coverage)
        if args.verbose and (precision < 0.95 or coverage < 0.9):
            print(f"  {paper_id} p.{page} {view.highlight.method} precision {precision:.2f} coverage {coverage:.2f}"
                  f"\n    quote: {quote[:160]}\n    shown: {' '.join(view.highlight.words)[:160]}")
    catalog.close()
    n = len(cites)
    print(f"highlight: {n} distinct citations from {len(questions)} questions (ask --llm none)")
    print(f"  precise (>=95% of highlighted words are the quote's): {precise}/{n} = {precise / n:.1%} (bar >= 95%)")
    print(f"  highlighted at all: {highlighted}/{n}; mean word precision {statistics.mean(precisions):.3f}; "
          f"mean quote coverage {statistics.mean(coverages):.3f}")
    print(f"  found by: {dict(methods)}")

    # Start time and page requests against a real `surveyor serve` process.
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "surveyor", "--home", str(settings.home), "serve", "--llm", "none",
                               "--port", str(port)], env={**os.environ, "PYTHONPATH": str(REPO / "src")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 60:
                    raise SystemExit("surveyor serve did not start")
                time.sleep(0.02)
        start_s = time.perf_counter() - started
        print(f"start: {start_s:.2f} s to the first answered request (bar <= 3 s)")
        # The page-view cache is emptied first: each first request renders its page and searches its quote.
        shutil.rmtree(settings.index_dir / "pages", ignore_errors=True)
        pages = list(dict.fromkeys((p, n) for p, n, _ in cites))
        shown = {(p, n): q for p, n, q in cites}
        cold, warm = [], []
        for times in (cold, warm):
            for paper_id, page in pages:
                url = f"{base}/paper/{urlquote(paper_id)}/page/{page}?q={urlquote(shown[(paper_id, page)])}"
                times.append(_get(url) + _get(f"{base}/paper/{urlquote(paper_id)}/image/{page}"))
        for label, times in (("cold (page rendered, quote searched)", cold), ("warm", warm)):
            print(f"page requests, {label}: n={len(times)} p50 {statistics.median(times) * 1000:.0f} ms, "
                  f"p95 {_pct(times, 0.95) * 1000:.0f} ms (bar p95 <= 200 ms)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
