"""Score evidence-card slots against the expert picks of ../shared/eval/dev_slots.jsonl.

Usage: python bench/slots.py [--corpus DIR] [--eval FILE] [--labelled] [--save FILE] [--compare FILE]
                             [--picks FILE] [--verbose]

Cards are built straight from the PDFs, no ingested home needed: the page text a quote is
checked against is the parser's own page text, which is what ingest stores in the catalog.
Equations and figures are extracted too (into a temporary folder), so the seconds per card
are those of a whole card (build_card; the page texts a catalog would hold are read first, untimed).

Scoring follows ../shared/eval/README.md exactly. A slot's pick is the card's first quote in
the matching field (innovation: innovations, result: metrics, limitation: limitations,
future_work, training). Both sides are lower-cased, NFKC-normalised and whitespace-collapsed;
the pick is right when it contains any key of any gold line of the slot, or at least 60% of
the content words (alphanumeric, not stopwords) of one gold sentence. On a null slot any pick
is a false positive and an empty slot is right. Datasets: the share of gold `names` found
(case-insensitive substring) among the card's dataset names.

--no-media skips equations and figures (for quick iterations; the seconds are then quotes only).

Also counts quotes taken from a reader's notes: text that occurs only in blocks index.marks finds
to be a reader's (typed comments, handwriting, summary pages), not in the paper's own blocks.

Reports per slot: top-1 right over the labelled papers (the target), how often any of the
card's quotes in that field is right (hit@5), and over all corpus papers the share of cards
with the field filled; then seconds per card (wall clock, and CPU seconds of this process, which
shared cores disturb less). --save writes the figures as JSON; --compare
prints a saved run (BEFORE) beside this one (AFTER).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from surveyor.evidence import cards as cards_module  # noqa: E402
from surveyor.index.pdfparse import parse_pdf  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402
from surveyor.sources.metadata import PaperMeta  # noqa: E402
from surveyor.textnorm import STOPWORDS, match_key  # noqa: E402

SLOT_FIELDS = {"innovation": "innovations", "result": "metrics", "limitation": "limitations",
               "future_work": "future_work", "training": "training"}
FILL_FIELDS = cards_module.QUOTE_FIELDS + ("dataset_names",)


# --------------------------------------------------------------------------- scoring (the README's rule)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def _content(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", _norm(text)) if w not in STOPWORDS}


def pick_is_right(pick: str, gold: list[dict]) -> bool:
    """Right when the pick contains a key of any gold line, or >= 60% of one gold sentence's content words."""
    text = _norm(pick)
    words = _content(pick)
    for line in gold:
        if any(_norm(key) in text for key in line.get("keys") or []):
            return True
        want = _content(line["sentence"] or "")
        if want and len(want & words) / len(want) >= 0.6:
            return True
    return False


def load_labels(path: Path) -> dict[str, dict[str, list[dict]]]:
    labels: dict[str, dict[str, list[dict]]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            labels.setdefault(row["arxiv_id"], {}).setdefault(row["slot"], []).append(row)
    return labels


# --------------------------------------------------------------------------- building a card from a PDF


class _PageTexts:
    """The one catalog method build_card needs: the page text ingest would have stored."""

    def __init__(self, pdf: Path):
        self.parsed = parse_pdf(pdf)
        self.pages = [p.text for p in self.parsed.pages]

    def page_text(self, paper_id: str, page: int) -> str | None:
        return self.pages[page - 1] if 1 <= page <= len(self.pages) else None


@dataclass
class _Record:  # the fields of index.catalog.PaperRecord that build_card reads
    paper_id: str
    file: str
    meta: PaperMeta
    arxiv_id: str | None = None

    @property
    def title(self) -> str:
        return self.meta.title or self.paper_id


def _metadata(corpus: Path) -> dict[str, dict]:
    path = corpus / "pdf" / "metadata.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["file"]: row for row in rows}


def build(pdf: Path, row: dict, settings) -> tuple[object, float, float]:
    paper_id = row.get("arxiv_id") or pdf.stem
    meta = PaperMeta(title=row.get("title"), published=row.get("published"))
    record = _Record(paper_id, str(pdf.resolve()), meta, row.get("arxiv_id"))
    pages = _PageTexts(pdf)  # what the catalog would hold: not part of building a card
    started, cpu = time.perf_counter(), time.process_time()
    card = cards_module.build_card(settings, record, pages)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    card.reader_quotes = _reader_quotes(card, pdf, pages.parsed)
    return card, took, cpu


def _reader_quotes(card, pdf: Path, parsed) -> list[str] | None:
    """Quotes whose text occurs only in a reader's notes (index.marks), not in the paper's own blocks (the parser
    drops the notes, so its blocks are the paper's own); None: no index.marks."""
    try:
        from surveyor.index.marks import is_marked, reader_marks
        from surveyor.index.pymupdf_core import pymupdf
    except ImportError:  # an extractor from before reader marks were dropped at parse
        return None
    flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
    with pymupdf.open(pdf) as doc:
        dicts = [page.get_text("dict", flags=flags) for page in doc]
        marks = reader_marks(doc, dicts)
    if not marks:
        return []
    marked = [match_key(text) for number in marks for raw in dicts[number - 1]["blocks"]
              if (text := " ".join("".join(s["text"] for s in ln["spans"]) for ln in raw.get("lines", [])))
              and is_marked(number, tuple(raw["bbox"]), text, marks)]
    own = [match_key(block.text) for block in parsed.blocks()]
    out = []
    for _, quote in card.quotes():
        key = match_key(quote.text)[:60]
        if any(key in m for m in marked) and not any(key in o for o in own):
            out.append(f"{card.paper_id} p.{quote.page}: {quote.text[:100]}")
    return out


# --------------------------------------------------------------------------- report


def score(cards: dict[str, object], labels: dict) -> dict:
    out: dict = {}
    for slot, field in SLOT_FIELDS.items():
        right = hit5 = labelled = nulls = false_pos = 0
        misses: list[str] = []
        for paper_id, slots in labels.items():
            if slot not in slots or paper_id not in cards:
                continue
            labelled += 1
            quotes = getattr(cards[paper_id], field)
            gold = [g for g in slots[slot] if g.get("sentence")]
            if not gold:
                nulls += 1
                ok = not quotes
                false_pos += 0 if ok else 1
                right += ok
                hit5 += ok
                if not ok:
                    misses.append(f"{paper_id} (null) got: {quotes[0].text[:150]}")
                continue
            ok = bool(quotes) and pick_is_right(quotes[0].text, gold)
            right += ok
            hit5 += any(pick_is_right(q.text, gold) for q in quotes)
            if not ok:
                misses.append(f"{paper_id} got: {quotes[0].text[:150] if quotes else '(empty)'}")
        out[slot] = {"right": right, "labelled": labelled, "hit5": hit5, "nulls": nulls,
                     "null_false_pos": false_pos, "misses": misses}
    shares = []
    for paper_id, slots in labels.items():
        if "datasets" in slots and paper_id in cards:
            names = [n.lower() for n in cards[paper_id].dataset_names]
            gold = slots["datasets"][0]["names"]
            found = [g for g in gold if any(g.lower() in n for n in names)]
            shares.append((paper_id, len(found) / len(gold), [g for g in gold if g not in found]))
    out["datasets"] = {"recall": sum(s for _, s, _ in shares) / max(1, len(shares)),
                       "misses": [f"{p} missing {m} (have {cards[p].dataset_names[:8]})" for p, _, m in shares if m]}
    return out


def _row(slot: str, figures: dict) -> str:
    if slot == "datasets":
        return f"{100 * figures['recall']:5.1f}% recall"
    f = figures
    return (f"{f['right']:>2}/{f['labelled']:<2} {100 * f['right'] / max(1, f['labelled']):5.1f}%  "
            f"hit@5 {100 * f['hit5'] / max(1, f['labelled']):5.1f}%  null FP {f['null_false_pos']}/{f['nulls']}")


def report(result: dict, before: dict | None) -> None:
    print("slot precision on dev_slots (top-1 right / labelled papers):")
    head = f"  {'slot':<12} {'BEFORE':<44} AFTER" if before else f"  {'slot':<12}"
    print(head)
    for slot in list(SLOT_FIELDS) + ["datasets"]:
        now = _row(slot, result["slots"][slot])
        print(f"  {slot:<12} {_row(slot, before['slots'][slot]):<44} {now}" if before else f"  {slot:<12} {now}")
    print(f"cards with the field filled ({result['papers']} papers):")
    for name in FILL_FIELDS:
        now = f"{result['filled'][name]:>3} ({100 * result['filled'][name] / result['papers']:5.1f}%)"
        was = before["filled"].get(name) if before else None
        prefix = f"{was:>3} ({100 * was / before['papers']:5.1f}%)  ->  " if was is not None else ""
        print(f"  {name:<14} {prefix}{now}")
    for label, data in (("BEFORE", before), ("AFTER" if before else "now", result)):
        if data and data.get("reader_quotes") is not None:
            print(f"quotes taken from a reader's notes ({label}): {len(data['reader_quotes'])}")
            for line in data["reader_quotes"]:
                print(f"  {line}")
    for label, data in (("BEFORE", before), ("AFTER" if before else "now", result)):
        if data:
            s = data["seconds"]
            cpu = f"; CPU mean {s['cpu_mean']:.2f}, max {s['cpu_max']:.2f}" if "cpu_mean" in s else ""
            print(f"seconds per card ({label}): mean {s['mean']:.2f}, max {s['max']:.2f} ({s['max_paper']}); "
                  f"quotes only: mean {s['quotes_mean']:.2f}, max {s['quotes_max']:.2f}{cpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval" / "dev_slots.jsonl")
    parser.add_argument("--labelled", action="store_true", help="only the labelled papers (fill shares over them)")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--compare", type=Path, help="a saved run to print beside this one")
    parser.add_argument("--picks", type=Path, help="write every card's quotes as JSON (for reading)")
    parser.add_argument("--verbose", action="store_true", help="list the wrong picks")
    parser.add_argument("--no-media", action="store_true", help="skip equations and figures (quotes only, faster)")
    args = parser.parse_args()

    labels = load_labels(args.eval)
    meta = _metadata(args.corpus)
    pdfs = sorted((args.corpus / "pdf").glob("*.pdf"))
    temp = tempfile.TemporaryDirectory(prefix="bench-slots-")
    settings = load_settings(Path(temp.name) / "home")

    # Time the quote extraction apart from equations and figures (crops are the slow part).
    media_seconds = [0.0]

    def timed(fn):
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                media_seconds[0] += time.perf_counter() - started
        return wrapper

    if args.no_media:
        cards_module._key_equations = lambda *a, **k: []
        cards_module._figures = lambda *a, **k: []
    cards_module._key_equations = timed(cards_module._key_equations)
    cards_module._figures = timed(cards_module._figures)

    cards, seconds, quote_seconds, cpu_seconds = {}, {}, {}, {}
    for pdf in pdfs:
        row = meta.get(pdf.name, {})
        paper_id = row.get("arxiv_id") or pdf.stem
        if args.labelled and paper_id not in labels:
            continue
        media_seconds[0] = 0.0
        card, took, cpu = build(pdf, row, settings)
        cards[paper_id], seconds[paper_id], quote_seconds[paper_id] = card, took, took - media_seconds[0]
        cpu_seconds[paper_id] = cpu
    temp.cleanup()

    slowest = max(seconds, key=seconds.get)
    reader = [getattr(c, "reader_quotes", None) for c in cards.values()]
    result = {
        "reader_quotes": None if None in reader else [q for quotes in reader for q in quotes],
        "papers": len(cards),
        "slots": score(cards, labels),
        "filled": {name: sum(1 for c in cards.values() if getattr(c, name)) for name in FILL_FIELDS},
        "seconds": {"mean": sum(seconds.values()) / len(seconds), "max": seconds[slowest], "max_paper": slowest,
                    "quotes_mean": sum(quote_seconds.values()) / len(seconds),
                    "quotes_max": max(quote_seconds.values()),
                    "cpu_mean": sum(cpu_seconds.values()) / len(cpu_seconds), "cpu_max": max(cpu_seconds.values())},
    }
    before = json.loads(args.compare.read_text()) if args.compare else None
    report(result, before)
    if args.verbose:
        for slot, figures in result["slots"].items():
            for miss in figures["misses"]:
                print(f"  MISS {slot}: {miss}")
    if args.save:
        args.save.write_text(json.dumps(result, indent=1))
    if args.picks:
        args.picks.write_text(json.dumps({pid: {name: [[q.text, q.page, q.section] for q in getattr(c, name)]
                                                for name in cards_module.QUOTE_FIELDS} | {"dataset_names": c.dataset_names}
                                          for pid, c in cards.items()}, indent=1))


if __name__ == "__main__":
    main()
