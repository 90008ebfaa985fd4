"""Build evidence cards for every corpus paper and report how full and how faithful they are.

Usage: python bench/cards.py [--home HOME] [--corpus DIR] [--cached] [--verbose]

Without --home, the corpus PDFs are ingested into a temporary home first (minutes:
every page is embedded). With --home, that already-ingested home is used as is.
Cards are rebuilt (cached ones deleted first) unless --cached is given, so the
seconds per card are extraction time.

Reports: cards built, the share of cards with at least one item per field, quotes
found verbatim on their page (must be 100%), how often a benchmark named in the
paper's arXiv abstract is quoted in the card's datasets or metrics, and seconds per card.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from surveyor.evidence.cards import QUOTE_FIELDS, EvidenceCard, card_path, get_card  # noqa: E402
from surveyor.evidence.datasets import dataset_names_in  # noqa: E402
from surveyor.grounding import quote_on_page  # noqa: E402
from surveyor.index.catalog import Catalog  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402

FIELDS = QUOTE_FIELDS + ("equations", "figures", "dataset_names")


def _ingest(corpus: Path, home: Path) -> None:
    from surveyor.index.ingest import Ingestor

    settings = load_settings(home)
    started = time.perf_counter()
    report = Ingestor(settings, arxiv_lookup=False, progress=True).run([corpus / "pdf"])
    print(f"ingested {report.added} papers into {home} in {time.perf_counter() - started:.0f} s"
          f" ({len(report.failed)} failed)", file=sys.stderr)


def _abstracts(corpus: Path) -> dict[str, str]:
    path = corpus / "pdf" / "metadata.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    return {row["arxiv_id"]: row.get("abstract") or "" for row in rows if row.get("arxiv_id")}


def _check(card: EvidenceCard, catalog: Catalog) -> tuple[int, list[str]]:
    """(quotes, failures): every quote must be found on its page."""
    failures = [f"{card.paper_id} {field} p.{q.page}: {q.text[:80]}" for field, q in card.quotes()
                if not quote_on_page(q.text, catalog.page_text(card.paper_id, q.page))]
    return len(card.quotes()), failures


def _benchmark_hit(card: EvidenceCard, abstract: str) -> bool | None:
    """None when the abstract names no benchmark; else whether the card quotes one of them."""
    named = dataset_names_in(abstract)
    if not named:
        return None
    quoted = " ".join(q.text for q in card.datasets + card.metrics).lower()
    return any(name.lower() in quoted for name in named)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an already-ingested home (skips ingesting)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--cached", action="store_true", help="use cached cards instead of rebuilding them")
    parser.add_argument("--verbose", action="store_true", help="one line per paper")
    args = parser.parse_args()

    temp = None
    if args.home is None:
        temp = tempfile.TemporaryDirectory(prefix="bench-cards-")
        args.home = Path(temp.name) / "home"
        _ingest(args.corpus, args.home)
    settings = load_settings(args.home)
    catalog = Catalog(settings.index_dir)
    abstracts = _abstracts(args.corpus)

    built, failed, seconds = [], [], []
    quotes, bad_quotes, hits = 0, [], []
    for record in catalog.papers():
        if not args.cached:
            card_path(settings, record).unlink(missing_ok=True)
        started = time.perf_counter()
        try:
            card = get_card(settings, record.paper_id, catalog)
        except Exception as exc:  # noqa: BLE001 - a bench reports every failure and goes on
            failed.append(f"{record.paper_id}: {type(exc).__name__}: {exc}")
            continue
        seconds.append(time.perf_counter() - started)
        built.append(card)
        n, bad = _check(card, catalog)
        quotes += n
        bad_quotes += bad
        hit = _benchmark_hit(card, abstracts.get(record.arxiv_id or "", ""))
        if hit is not None:
            hits.append((record.paper_id, hit))
        if args.verbose:
            counts = " ".join(f"{f[:5]}={len(getattr(card, f))}" for f in FIELDS)
            print(f"{record.paper_id:<14} {seconds[-1]:5.1f}s {counts} {card.note}")

    total = len(catalog.papers())
    print(f"cards built: {len(built)}/{total}" + (f" ({len(failed)} failed)" if failed else ""))
    for line in failed:
        print(f"  failed: {line}")
    print("cards with >= 1 item per field:")
    for field in FIELDS:
        have = sum(1 for card in built if getattr(card, field))
        print(f"  {field:<14} {have:>3}/{len(built)}  {100 * have / max(1, len(built)):5.1f}%")
    share = 100 * (quotes - len(bad_quotes)) / max(1, quotes)
    print(f"quotes verified verbatim on their page: {quotes - len(bad_quotes)}/{quotes} ({share:.1f}%)")
    for line in bad_quotes[:20]:
        print(f"  NOT ON PAGE: {line}")
    if hits:
        found = sum(1 for _, hit in hits if hit)
        print(f"abstract benchmark quoted in datasets/metrics: {found}/{len(hits)} papers whose abstract names one")
        if args.verbose:
            print("  missed: " + ", ".join(pid for pid, hit in hits if not hit))
    empty = [card for card in built if card.note]
    if empty:
        print("cards with a note: " + "; ".join(f"{c.paper_id}: {c.note}" for c in empty))
    if seconds:
        print(f"seconds per card: mean {sum(seconds) / len(seconds):.2f}, max {max(seconds):.2f}, "
              f"total {sum(seconds):.0f}")
    catalog.close()
    if temp is not None:
        temp.cleanup()
    if bad_quotes or failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
