"""Benchmark numbered-equation extraction against hand labels.

Usage: python bench/equations.py [CORPUS_DIR] [--labels FILE] [--verbose] [--all]

CORPUS_DIR defaults to ../shared/corpus relative to the repository root; the labels
default to CORPUS_DIR/../eval/dev_equations.jsonl. Scores (arxiv_id, number, page):
recall over the labels, precision over the numbered equations reported for the
labelled papers only. ``--all`` also runs every other corpus PDF and reports counts
and timing (no scores: those papers have no labels).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from surveyor.evidence.equations import extract_equations  # noqa: E402


def _fail(message: str) -> None:
    print(f"bench/equations.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def _load_labels(path: Path) -> dict[str, set[tuple[str, int]]]:
    labels: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["arxiv_id"]].add((str(row["number"]), int(row["page"])))
    return labels


def _run(pdf: Path) -> tuple[set[tuple[str, int]], int, float]:
    start = time.perf_counter()
    equations = extract_equations(pdf)
    seconds = time.perf_counter() - start
    numbered = {(e.number, e.page) for e in equations if e.number is not None}
    return numbered, len(equations) - len(numbered), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "corpus"))
    parser.add_argument("--labels", default=None)
    parser.add_argument("--verbose", action="store_true", help="list misses and extras")
    parser.add_argument("--all", action="store_true", help="also time the unlabelled PDFs")
    args = parser.parse_args()

    corpus = Path(args.corpus)
    pdf_dir = corpus / "pdf"
    if not pdf_dir.is_dir():
        _fail(f"corpus not found: {pdf_dir} (pass the corpus folder as the first argument)")
    labels_path = Path(args.labels) if args.labels else corpus.parent / "eval" / "dev_equations.jsonl"
    if not labels_path.is_file():
        _fail(f"labels not found: {labels_path}")
    labels = _load_labels(labels_path)

    hits = reported = expected = 0
    times = []
    for arxiv_id, truth in sorted(labels.items()):
        pdf = pdf_dir / f"{arxiv_id}.pdf"
        if not pdf.is_file():
            _fail(f"labelled paper missing from corpus: {pdf}")
        found, unnumbered, seconds = _run(pdf)
        times.append(seconds)
        good = found & truth
        hits += len(good)
        reported += len(found)
        expected += len(truth)
        line = f"{arxiv_id:12s} labels {len(truth):3d}  found {len(found):3d}  correct {len(good):3d}"
        print(f"{line}  unnumbered {unnumbered:3d}  {seconds:5.2f}s")
        if args.verbose:
            for number, page in sorted(truth - found, key=lambda t: t[1]):
                print(f"    missed ({number}) p.{page}")
            for number, page in sorted(found - truth, key=lambda t: t[1]):
                print(f"    extra  ({number}) p.{page}")

    recall = hits / expected if expected else 0.0
    precision = hits / reported if reported else 0.0
    print(f"\nrecall    {recall:.3f}  ({hits}/{expected})")
    print(f"precision {precision:.3f}  ({hits}/{reported})")
    print(f"seconds per labelled paper {sum(times) / len(times):.2f}")

    if args.all:
        others = sorted(p for p in pdf_dir.glob("*.pdf") if p.stem not in labels)
        all_times = []
        for pdf in others:
            found, unnumbered, seconds = _run(pdf)
            all_times.append(seconds)
            print(f"{pdf.stem:16s} numbered {len(found):3d}  unnumbered {unnumbered:3d}  {seconds:5.2f}s")
        print(f"seconds per unlabelled paper {sum(all_times) / max(1, len(all_times)):.2f}")


if __name__ == "__main__":
    main()
