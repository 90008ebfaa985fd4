"""Benchmark result-table extraction (evidence.tables) over a folder of PDFs.

Usage: python bench/tables.py [--pdfs DIR] [--sample N] [--seed S] [--save FILE] [--recheck FILE]

Prints tables found, rows, rows per paper and seconds per paper over the folder (default: the
shared corpus), then a random sample of N rows (default 30), each with its page, caption and the
row's line on the page, to be checked by eye: is the value, the method and the benchmark right?
Titles and abstracts come from DIR/metadata.jsonl when present (they mark the paper's own method).
--save writes the sample (one JSON object a line); --recheck FILE prints, for each row of a saved
sample, how the current code labels the same value of the same row (or that its table is now
skipped, with the reason), so an earlier checked sample can be checked again.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from surveyor.evidence.tables import extract_tables  # noqa: E402

DEFAULT_PDFS = REPO.parent / "shared" / "corpus" / "pdf"


def titles(folder: Path) -> dict[str, tuple[str, str]]:
    meta = folder / "metadata.jsonl"
    out: dict[str, tuple[str, str]] = {}
    if meta.is_file():
        for line in meta.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                key = str(entry.get("arxiv_id") or entry.get("id") or entry.get("file", "")).removesuffix(".pdf")
                out[key] = (entry.get("title", ""), entry.get("abstract", ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", default=str(DEFAULT_PDFS))
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", help="write the sample here (JSON lines)")
    parser.add_argument("--recheck", help="a sample written by --save: print the current labels of its rows")
    args = parser.parse_args()
    folder = Path(args.pdfs)
    named = titles(folder)
    pdfs = sorted(folder.glob("*.pdf"))
    seconds, per_paper, notes = [], {}, 0
    rows = []
    tables = 0
    skipped: dict[str, list[str]] = {}
    for pdf in pdfs:
        started = time.perf_counter()
        found = extract_tables(pdf, *named.get(pdf.stem, ("", "")))
        seconds.append(time.perf_counter() - started)
        tables += found.tables
        per_paper[pdf.stem] = len(found.rows)
        notes += len(found.notes)
        skipped[pdf.stem] = found.skipped
        rows += [(pdf.stem, r) for r in found.rows]
    counts = list(per_paper.values())
    print(f"papers {len(pdfs)}  tables {tables}  rows {len(rows)}  notes {notes}")
    print(f"rows per paper: median {statistics.median(counts):.0f}, mean {statistics.mean(counts):.1f}, "
          f"max {max(counts)}, papers without rows {sum(c == 0 for c in counts)}")
    print(f"seconds per paper: median {statistics.median(seconds):.2f}, mean {statistics.mean(seconds):.2f}, "
          f"max {max(seconds):.2f}, total {sum(seconds):.1f}")
    print(f"tables skipped as not results: {sum(map(len, skipped.values()))}")
    print(f"rows with a verbatim row line: {sum(bool(r.row_text) for _, r in rows)}; own method: "
          f"{sum(r.own for _, r in rows)}")
    if args.recheck:
        recheck(Path(args.recheck), rows, skipped)
        return
    random.seed(args.seed)
    print(f"\nsample of {args.sample} rows (check value, method, benchmark against the row line):")
    sample = random.sample(rows, min(args.sample, len(rows)))
    if args.save:
        Path(args.save).write_text("".join(json.dumps({"paper": p, **r.to_dict()}) + "\n" for p, r in sample),
                                   encoding="utf-8")
    for number, (paper, r) in enumerate(sample, 1):
        print(f"{number:>2}. {paper} p.{r.page} Table {r.table}{' (own)' if r.own else ''}: method={r.method!r} "
              f"group={r.group!r} benchmark={r.benchmark!r} metric={r.metric!r} setting={r.setting!r} "
              f"value={r.value!r}")
        print(f"    caption: {r.caption[:140]}")
        print(f"    row:     {r.row_text[:160] or '(not contiguous on the page)'}")


def recheck(saved: Path, rows: list, skipped: dict[str, list[str]]) -> None:
    print(f"\nrecheck of {saved}:")
    for number, line in enumerate(saved.read_text(encoding="utf-8").splitlines(), 1):
        old = json.loads(line)
        same = [r for p, r in rows if p == old["paper"] and r.page == old["page"] and r.table == old["table"]
                and r.value == old["value"] and r.row_text.startswith(old["row_text"])]
        print(f"{number:>2}. {old['paper']} p.{old['page']} Table {old['table']} value={old['value']!r}")
        print(f"    before:  method={old['method']!r} group={old['group']!r} benchmark={old['benchmark']!r} "
              f"metric={old['metric']!r}")
        if not same:
            why = [s for s in skipped.get(old["paper"], []) if s.startswith(f"Table {old['table']} p.{old['page']}:")]
            print(f"    now:     {'skipped: ' + why[0] if why else 'no such row'}")
        for r in same[:2]:
            print(f"    now:     method={r.method!r} group={r.group!r} benchmark={r.benchmark!r} metric={r.metric!r} "
                  f"setting={r.setting!r}{' (own)' if r.own else ''}")
        print(f"    row:     {old['row_text'][:160] or '(not contiguous on the page)'}")


if __name__ == "__main__":
    main()
