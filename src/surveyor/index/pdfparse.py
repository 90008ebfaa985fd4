"""Parse a PDF with PyMuPDF into pages of text blocks in reading order, with sections.

Each block knows its page (1-based), section heading and kind:
"body", "caption" (Figure/Table captions) or "references" (the bibliography,
kept but not retrieved by default), and its lines with their boxes (the reference
parser reads indentation and spacing from them). Page text as PyMuPDF extracts it
is kept verbatim too: quotes are checked against it. A reader's notes (typed comments,
handwriting-font markup and summary pages: index.marks) are dropped here, from the blocks
and from the page text, so they never become chunks or quotable text.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from surveyor.errors import PdfError
from surveyor.index.marks import is_marked, reader_marks
from surveyor.index.pymupdf_core import pymupdf
from surveyor.sources.identity import STAMP
from surveyor.textnorm import collapse

pymupdf.TOOLS.mupdf_display_errors(False)

_NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+){0,3}\.?|[A-H](?:\.\d+){0,3}\.?|[IVX]{1,5}\.)\s+\S")
_KNOWN_HEADINGS = re.compile(
    r"^(?:abstract|introduction|related work|background|method(?:s|ology)?|approach|experiments?|results|"
    r"discussion|conclusions?|limitations?|future work|acknowledge?ments?|references|bibliography|appendix.*|"
    r"broader impacts?|evaluation|preliminaries)$",
    re.IGNORECASE,
)
_REFERENCES = re.compile(r"^(?:[\dIVX]+\.?\s+)?(?:references|bibliography|literature cited)$", re.IGNORECASE)
_APPENDIX = re.compile(r"^(?:appendix|appendices|supplementary|[A-H](?:\.\d+)*\.?\s+[A-Z])", re.IGNORECASE)
_CAPTION = re.compile(r"^(?:Figure|Fig\.|Table|Tab\.)\s*[A-Z]?\d+[.:]?", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    """One printed line of a block: its box in PDF points and its text."""
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Block:
    text: str
    bbox: tuple[float, float, float, float]
    page: int
    size: float
    bold: bool
    section: str = ""
    kind: str = "body"
    is_heading: bool = False
    lines: list[Line] = field(default_factory=list)


@dataclass
class Page:
    number: int
    text: str
    blocks: list[Block] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


@dataclass
class ParsedPdf:
    path: Path
    pages: list[Page]
    title: str | None
    stamp_id: str | None
    stamp_version: int | None
    stamp_date: str | None
    stamp_category: str | None

    @property
    def has_text(self) -> bool:
        return any(b.text.strip() for p in self.pages for b in p.blocks)

    def blocks(self):
        for page in self.pages:
            yield from page.blocks


def open_pdf(path: Path) -> pymupdf.Document:
    """Open a PDF or raise PdfError with one line that says what is wrong with it."""
    if not path.is_file():
        raise PdfError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise PdfError(f"{path}: empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF" not in head:
        raise PdfError(f"{path}: not a PDF (no %PDF header)")
    try:
        doc = pymupdf.open(path)
    except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for damaged files
        raise PdfError(f"{path}: cannot open PDF ({exc})") from None
    if doc.needs_pass or doc.is_encrypted:
        doc.close()
        raise PdfError(f"{path}: encrypted PDF (needs a password)")
    if doc.page_count == 0 or doc.is_repaired:
        doc.close()
        raise PdfError(f"{path}: truncated or damaged PDF")
    return doc


def _line_text(line: dict) -> str:
    return "".join(span["text"] for span in line["spans"])


@dataclass
class _Line:
    text: str
    size: float  # dominant span size (by characters)
    max_size: float
    bold: bool
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def line(self) -> Line:
        return Line(*(round(v, 1) for v in self.bbox), self.text)


def _is_bold(span: dict) -> bool:
    return bool(span["flags"] & 16) or bool(re.search(r"Bold|BX|Semibold|Medi|\.B$|-B$", span["font"]))


def _line_features(line: dict) -> _Line | None:
    text = _line_text(line).strip()
    if not text:
        return None
    sizes: Counter[float] = Counter()
    bold = 0
    for span in line["spans"]:
        n = len(span["text"].strip())
        sizes[round(span["size"], 1)] += n
        bold += n if _is_bold(span) else 0
    total = sum(sizes.values()) or 1
    return _Line(text, sizes.most_common(1)[0][0], max(sizes), bold / total > 0.6, tuple(line["bbox"]))


def _looks_like_heading(text: str, line: _Line, body_size: float) -> bool:
    if len(text) > 90 or len(text) < 3 or _CAPTION.match(text) or not re.search(r"[A-Za-z]{3}", text):
        return False
    if text.endswith((".", ",", ";", ":")) and not _NUMBERED_HEADING.match(text):
        return False
    styled = line.bold or line.max_size >= body_size + 0.9
    if not styled:
        return False
    bare = re.sub(r"^[\dIVX.]+\s*", "", text)
    return bool(_KNOWN_HEADINGS.match(bare)) or bool(_NUMBERED_HEADING.match(text))


def _blocks_from_dict(raw: dict, page_no: int, body_size: float) -> list[Block]:
    """One PDF text block, with a heading at its start split off into a block of its own."""
    lines = [f for ln in raw["lines"] if abs(ln["dir"][0] - 1.0) < 0.01 and (f := _line_features(ln))]
    if not lines:
        return []
    bbox = tuple(round(v, 1) for v in raw["bbox"])
    out: list[Block] = []
    # A section number often sits on a line of its own ("1" then "INTRODUCTION"): read them together.
    head_n = 2 if len(lines) > 1 and re.fullmatch(r"[\dA-H](?:\.\d+)*\.?", lines[0].text) else 1
    head_text = collapse(" ".join(ln.text for ln in lines[:head_n]))
    probe = _Line(head_text, lines[0].size, max(ln.max_size for ln in lines[:head_n]), all(ln.bold for ln in lines[:head_n]))
    if _looks_like_heading(head_text, probe, body_size):
        out.append(Block(head_text, bbox, page_no, probe.max_size, probe.bold, is_heading=True,
                         lines=[ln.line() for ln in lines[:head_n]]))
        lines = lines[head_n:]
    if lines:
        pieces: list[str] = []
        for line in lines:
            if pieces and pieces[-1].endswith("-") and line.text[:1].islower():
                pieces[-1] = pieces[-1][:-1] + line.text  # re-join a word hyphenated at the line end
            else:
                pieces.append(line.text)
        sizes = Counter({ln.size: len(ln.text) for ln in lines})
        bold = sum(len(ln.text) for ln in lines if ln.bold) / max(1, sum(len(ln.text) for ln in lines)) > 0.6
        out.append(Block(collapse(" ".join(pieces)), bbox, page_no, sizes.most_common(1)[0][0], bold,
                         lines=[ln.line() for ln in lines]))
    return out


def _body_size(page_dicts: list[dict]) -> float:
    sizes: Counter[float] = Counter()
    for page in page_dicts:
        for raw in page["blocks"]:
            for line in raw.get("lines", []):
                for span in line["spans"]:
                    sizes[round(span["size"], 1)] += len(span["text"].strip())
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _raw_text(raw: dict) -> str:
    return " ".join(_line_text(line) for line in raw.get("lines", []))


def _page_text(page_dict: dict) -> str:
    """The page as PyMuPDF's plain-text extraction gives it: blocks in stream order, one line per line."""
    return "\n".join(_line_text(line) for raw in page_dict["blocks"] for line in raw.get("lines", [])) + "\n"


def _reading_order(blocks: list[Block], width: float) -> list[Block]:
    """Two-column pages: full-width blocks cut the page into bands; in each band left column, then right."""
    mid = width / 2
    left = [b for b in blocks if b.bbox[2] <= mid + 12]
    right = [b for b in blocks if b.bbox[0] >= mid - 12]
    if len(left) < 2 or len(right) < 2:
        return sorted(blocks, key=lambda b: (round(b.bbox[1]), b.bbox[0]))
    ordered: list[Block] = []
    band: list[Block] = []

    def flush() -> None:
        band_left = sorted((b for b in band if b.bbox[0] < mid - 12), key=lambda b: b.bbox[1])
        band_right = sorted((b for b in band if b.bbox[0] >= mid - 12), key=lambda b: b.bbox[1])
        ordered.extend(band_left + band_right)
        band.clear()

    for block in sorted(blocks, key=lambda b: b.bbox[1]):
        spans_both = block.bbox[0] < mid - 12 and block.bbox[2] > mid + 12
        if spans_both:
            flush()
            ordered.append(block)
        else:
            band.append(block)
    flush()
    return ordered


def _find_stamp(page_dict: dict, page_text: str) -> re.Match | None:
    for raw in page_dict["blocks"]:
        for line in raw.get("lines", []):
            if abs(line["dir"][0]) < 0.01:  # the arXiv stamp runs vertically in the margin
                match = STAMP.search(_line_text(line))
                if match:
                    return match
    return STAMP.search(page_text[:3000])


def _guess_title(page: Page) -> str | None:
    top = [b for b in page.blocks if b.bbox[1] < page.height * 0.45 and len(b.text) > 8]
    if not top:
        return None
    biggest = max(b.size for b in top)
    lines = [b.text for b in top if b.size >= biggest - 0.3]
    title = collapse(" ".join(lines))
    return title[:300] if title else None


def parse_pdf(path: Path) -> ParsedPdf:
    doc = open_pdf(path)
    try:
        flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
        dicts = [pdf_page.get_text("dict", flags=flags) for pdf_page in doc]
        sizes = [(p.rect.width, p.rect.height) for p in doc]
        marks = reader_marks(doc, dicts)
    except Exception as exc:  # noqa: BLE001 - damaged content streams surface here
        raise PdfError(f"{path}: cannot read page text ({exc})") from None
    finally:
        doc.close()
    for number in marks:  # a reader's notes are not the paper's text
        page_dict = dicts[number - 1]
        page_dict["blocks"] = [raw for raw in page_dict["blocks"]
                               if not is_marked(number, tuple(raw["bbox"]), _raw_text(raw), marks)]
    body_size = _body_size(dicts)
    pages: list[Page] = []
    for index, (page_dict, (width, height)) in enumerate(zip(dicts, sizes)):
        number = index + 1
        blocks = [b for raw in page_dict["blocks"] if raw["type"] == 0 for b in _blocks_from_dict(raw, number, body_size)]
        pages.append(Page(number, _page_text(page_dict), _reading_order(blocks, width), width, height))
    stamp = _find_stamp(dicts[0], pages[0].text)
    _assign_sections(pages)
    return ParsedPdf(
        path=path,
        pages=pages,
        title=_guess_title(pages[0]),
        stamp_id=stamp["id"] if stamp else None,
        stamp_version=int(stamp["v"]) if stamp and stamp["v"] else None,
        stamp_date=stamp["date"] if stamp else None,
        stamp_category=stamp["cat"] if stamp else None,
    )


def _assign_sections(pages: list[Page]) -> None:
    section, kind = "Front matter", "body"
    for page in pages:
        for block in page.blocks:
            if block.is_heading:
                section = block.text
                if _REFERENCES.match(block.text):
                    kind = "references"
                elif kind == "references" and _APPENDIX.match(block.text):
                    kind = "body"
            elif section == "Front matter" and re.match(r"^abstract\b", block.text, re.IGNORECASE):
                section = "Abstract"
            block.section = section
            block.kind = "caption" if kind == "body" and _CAPTION.match(block.text) else kind
