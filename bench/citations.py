"""Benchmark the citation graph: references parsed from the corpus PDFs, matched to corpus papers.

Usage: python bench/citations.py [CORPUS_DIR] [--labels FILE] [--verbose] [--paper ID]

Ingests nothing: each PDF goes through the ingest's own parse (index.pdfparse) and reference
extraction (index.references), and references are matched with the ingest's matcher against
the corpus ids and titles of CORPUS_DIR/pdf/metadata.jsonl. Scores (citing, cited) edges among
corpus papers against CORPUS_DIR/../eval/dev_citations.jsonl: precision and recall over the
labelled citing papers, with each paper's misses and extras. Also prints references parsed and
matched over every PDF, and the seconds reference extraction adds per paper (the parse itself
is the ingest's and is timed apart).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from surveyor.index.pdfparse import parse_pdf  # noqa: E402
from surveyor.index.references import CorpusIndex, extract_references  # noqa: E402


def _fail(message: str) -> None:
    print(f"bench/citations.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def _corpus(pdf_dir: Path) -> dict[str, tuple[str, str | None]]:
    """file name -> (paper id, title), from metadata.jsonl (the id the ingest would give)."""
    papers = {}
    for line in (pdf_dir / "metadata.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            papers[row["file"]] = (row.get("arxiv_id") or Path(row["file"]).stem, row.get("title"))
    return papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--labels", default=None)
    parser.add_argument("--verbose", action="store_true", help="print every matched reference")
    parser.add_argument("--paper", action="append", default=[], help="only these citing papers (repeatable)")
    args = parser.parse_args()

    corpus = Path(args.corpus)
    pdf_dir = corpus / "pdf"
    if not (pdf_dir / "metadata.jsonl").is_file():
        _fail(f"corpus not found: {pdf_dir}/metadata.jsonl (pass the corpus folder as the first argument)")
    labels_path = Path(args.labels) if args.labels else corpus.parent / "eval" / "dev_citations.jsonl"
    labels = {}
    if labels_path.is_file():
        for line in labels_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                labels[row["arxiv_id"]] = set(row["cites"])
    papers = _corpus(pdf_dir)
    index = CorpusIndex((pid, pid, title) for pid, title in papers.values())

    found: dict[str, set[str]] = {}
    n_refs = n_matched = 0
    parse_s = refs_s = 0.0
    empty = []
    for pdf in sorted(pdf_dir.glob("*.pdf")):
        pid = papers.get(pdf.name, (pdf.stem, None))[0]
        if args.paper and pid not in args.paper:
            continue
        start = time.perf_counter()
        parsed = parse_pdf(pdf)
        middle = time.perf_counter()
        refs = extract_references(parsed)
        matches = [(r, index.match(r, citing=pid)) for r in refs.entries]
        end = time.perf_counter()
        parse_s += middle - start
        refs_s += end - middle
        n_refs += len(refs.entries)
        n_matched += sum(1 for _, m in matches if m)
        found[pid] = {m for _, m in matches if m}
        if not refs.entries:
            empty.append(f"{pid} ({refs.note})")
        if args.verbose:
            print(f"{pid}: {len(refs.entries)} references, {sum(1 for _, m in matches if m)} matched")
            for ref, match in matches:
                if match:
                    print(f"    -> {match}  [{ref.ordinal}] {ref.raw[:150]}")

    n = len(found)
    print(f"papers: {n}   references parsed: {n_refs}   matched to a corpus paper: {n_matched}   "
          f"edges: {sum(len(v) for v in found.values())}")
    print(f"seconds per paper: reference extraction + matching {refs_s / max(1, n):.4f}   "
          f"(the ingest's own parse_pdf {parse_s / max(1, n):.3f}, not added by references)")
    if empty:
        print(f"no references: {', '.join(empty)}")
    scored = [pid for pid in labels if pid in found]
    if not scored:
        print("no labelled paper among those run: no precision/recall")
        return
    gold = {(c, d) for c in scored for d in labels[c]}
    got = {(c, d) for c in scored for d in found[c]}
    hits = gold & got
    precision = len(hits) / len(got) if got else 1.0
    recall = len(hits) / len(gold) if gold else 1.0
    print(f"dev_citations ({len(scored)} citing papers, {len(gold)} edges): precision {precision:.3f} "
          f"({len(hits)}/{len(got)})   recall {recall:.3f} ({len(hits)}/{len(gold)})")
    for pid in scored:
        missed, extra = labels[pid] - found[pid], found[pid] - labels[pid]
        if missed or extra:
            print(f"  {pid}: missed {sorted(missed)}  extra {sorted(extra)}")


if __name__ == "__main__":
    main()
