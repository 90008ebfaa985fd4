"""Reader marks: text a reader added to a PDF (typed notes, handwriting, summary pages), not the paper's.

PyMuPDF's text extraction renders annotation appearances and flattened markup along with
the page, so a reader's comments come out of `get_text()` like any other text. Two signals
tell them apart, neither tied to a particular paper:

- the text lies inside a typed-comment annotation (FreeText), whose rectangle and content the
  PDF records, and its words are the comment's (a comment box may be drawn over body text,
  which stays); highlights and underlines carry no text of their own;
- the text is set in a handwriting-style font (Noteworthy, Chalkboard, Marker Felt, Bradley
  Hand, Comic Sans, Segoe Print, ...) that carries only a small share of the document's
  characters: markup drawn with a tablet's note tool and flattened into the page, up to
  whole summary pages. A paper typeset in such a font keeps its text (the share is large).

`reader_marks` returns, per page, the marks (a rectangle, and for a comment its words);
`is_marked` says whether a text block is one. The parser (index.pdfparse) drops marked blocks,
so a reader's notes never reach page texts, chunks, the index or a card. Figure labels in a
comic font are caught too, which nobody misses: they are not prose.
"""
from __future__ import annotations

import re
from collections import Counter

from surveyor.index.pymupdf_core import pymupdf

Box = tuple[float, float, float, float]
Mark = tuple[Box, frozenset | None]  # a rectangle, and the words of a typed comment (None: any text inside)
_HANDWRITING = re.compile(
    r"noteworthy|chalkboard|marker ?felt|bradley|comic ?sans|segoe ?(?:print|script)|ink ?free|"
    r"kristen|papyrus|apple ?chancery|zapfino|snell|caveat|indie ?flower|patrick ?hand|shadows ?into|"
    r"kalam|gloria|architects ?daughter|handwrit|schoolbell|permanent ?marker|reenie|nanum ?pen", re.I)
MAX_MARK_SHARE = 0.3  # a handwriting font above this share of the document's characters is its body font
_MOSTLY = 0.5
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _font_name(name: str) -> str:
    return name.split("+", 1)[-1]  # "AAAAAK+Noteworthy-Light": the subset prefix says nothing


def reader_marks(doc: pymupdf.Document, page_dicts: list[dict]) -> dict[int, list[Mark]]:
    """Page number (1-based) → the marks a reader added to that page, from the open document and its
    pages' `get_text("dict")` (the parser's, so the blocks and their boxes are the same)."""
    marks: dict[int, list[Mark]] = {}
    handwriting_pages = []
    for index, page in enumerate(doc):
        for annot in page.annots() or []:
            content = (annot.info or {}).get("content") or ""
            if annot.type[1] == "FreeText" and content.strip():
                marks.setdefault(index + 1, []).append((tuple(annot.rect), frozenset(_words(content))))
        if any(_HANDWRITING.search(_font_name(font[3])) for font in page.get_fonts()):
            handwriting_pages.append(index)
    if handwriting_pages:
        total = sum(len(span["text"]) for d in page_dicts for raw in d["blocks"] for line in raw.get("lines", [])
                    for span in line["spans"])
        _add_handwriting(page_dicts, handwriting_pages, total, marks)
    return marks


def _add_handwriting(page_dicts: list[dict], pages: list[int], total_chars: int, marks: dict[int, list[Mark]]) -> None:
    blocks: list[tuple[int, Box, Counter]] = []
    in_hand: Counter = Counter()
    for index in pages:
        for raw in page_dicts[index]["blocks"]:
            chars: Counter = Counter()
            for line in raw.get("lines", []):
                for span in line["spans"]:
                    font = _font_name(span["font"])
                    chars[font] += len(span["text"].strip())
            blocks.append((index + 1, tuple(raw["bbox"]), chars))
            in_hand.update({f: n for f, n in chars.items() if _HANDWRITING.search(f)})
    foreign = {font for font, n in in_hand.items() if n <= MAX_MARK_SHARE * max(1, total_chars)}
    for page, box, chars in blocks:
        marked = sum(n for font, n in chars.items() if font in foreign)
        if marked and marked >= _MOSTLY * sum(chars.values()):
            marks.setdefault(page, []).append((box, None))


def is_marked(page: int, bbox: Box, text: str, marks: dict[int, list[Mark]]) -> bool:
    """Whether a block is a reader's: mostly inside a mark, and for a comment, mostly the comment's words."""
    area = _area(bbox)
    for box, comment in marks.get(page, ()):
        if area > 0.0:
            inside = _overlap(bbox, box) >= _MOSTLY * area
        else:
            inside = box[0] <= bbox[0] <= box[2] and box[1] <= bbox[1] <= box[3]
        if not inside:
            continue
        if comment is None:
            return True
        words = _words(text)
        if words and sum(w in comment for w in words) >= 0.8 * len(words):
            return True
    return False
