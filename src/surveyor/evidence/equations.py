"""Numbered display equations, found deterministically in a PDF's text layer.

A display equation is recognised by three signals that hold across TeX-made papers:

* its equation number "(n)" sits alone at the right edge of its text column,
* the content left of that number is set apart from the prose (indented, short, no
  run of ordinary words) and is typeset largely in math fonts (CMMI, CMSY, ...),
* display lines without a number directly above or below belong to the nearest number
  (multi-line equations, fractions, ``aligned`` blocks share one number).

Unnumbered displays are also reported (number ``None``) when they are strongly
mathematical and stand apart from the prose above and below.

The text layer decodes some TeX glyphs wrongly; equation_text.py maps the known wrong
decodings back. A page's text lines and columns are read in equation_layout.py and grouped
into displays in equation_displays.py; this module turns displays into equations with their
context, crop and LaTeX.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from surveyor.evidence.crops import save_crop
from surveyor.evidence.equation_displays import (
    _body_size,
    _Display,
    _document_columns,
    _in_column,
    _is_prose,
    _page_displays,
    _rows,
)
from surveyor.evidence.equation_layout import _Column, _page_pieces, _Piece
from surveyor.index.pdfparse import open_pdf
from surveyor.index.pymupdf_core import pymupdf

__all__ = ["Equation", "extract_equations", "extract_page_equations"]


@dataclass
class Equation:
    """One display equation, located on its page."""

    number: str | None
    page: int
    bbox: tuple[float, float, float, float]
    text: str
    latex: str | None = None
    image: str | None = None
    context: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "page": self.page,
            "bbox": [round(v, 1) for v in self.bbox],
            "text": self.text,
            "latex": self.latex,
            "image": self.image,
            "context": dict(self.context),
        }


# --------------------------------------------------------------------------- text


def _display_text(d: _Display) -> str:
    lines = [" ".join(p.text for p in row) for row in _rows(d.pieces)]
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in lines)


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if out.endswith("-") and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_WHERE_START = re.compile(r"^(where|with|here,?|in which|and where)\b", re.I)


def _prose_rows(d: _Display, col: _Column, pieces: list[_Piece]) -> tuple[list, list]:
    """Rows of text in the display's column above and below it, as (row, is_prose)."""
    x0, y0, x1, y1 = d.bbox
    own = {id(p) for p in d.pieces}
    in_col = [p for p in pieces if _in_column(p, col) and id(p) not in own]
    above = _rows([p for p in in_col if p.cy < y0])
    below = _rows([p for p in in_col if p.cy > y1])
    tagged = lambda rows: [(r, any(_is_prose(p, col) for p in r)) for r in rows]  # noqa: E731
    return tagged(above), tagged(below)


def _row_text(row: list[_Piece]) -> str:
    return " ".join(p.text for p in row)


def _context(d: _Display, col: _Column, pieces: list[_Piece], body_size: float) -> dict:
    """The prose sentence that introduces the display and the "where ..." sentence after it."""
    above, below = _prose_rows(d, col, pieces)
    max_gap = 2.0 * body_size  # a wider gap is a paragraph or section break
    intro_lines: list[str] = []
    top = d.bbox[1]
    for row, is_prose in reversed(above):
        bottom = max(p.y1 for p in row)
        if not is_prose or top - bottom > max_gap or len(intro_lines) >= 6:
            break
        text = _row_text(row)
        if intro_lines and re.search(r"[.!?]$", text):
            break  # the previous sentence ended on this row
        intro_lines.insert(0, text)
        top = min(p.y0 for p in row)
        if _SENTENCE_END.search(text):
            break
    intro = _join_lines(intro_lines)
    intro = _SENTENCE_END.split(intro)[-1] if intro else ""

    where_lines: list[str] = []
    bottom = d.bbox[3]
    for row, is_prose in below:
        top = min(p.y0 for p in row)
        if not is_prose or top - bottom > max_gap or len(where_lines) >= 6:
            break
        text = _row_text(row)
        where_lines.append(text)
        bottom = max(p.y1 for p in row)
        if re.search(r"[.!?]$", text) or _SENTENCE_END.search(text):
            break
    where = _join_lines(where_lines)
    where = _SENTENCE_END.split(where)[0] if _WHERE_START.match(where) else ""
    return {"intro": intro, "where": where}


# --------------------------------------------------------------------------- public


def _image_name(prefix: str, page: int, number: str | None, index: int) -> str:
    label = number if number is not None else f"u{index}"
    label = re.sub(r"[^A-Za-z0-9.\-]", "_", label)
    return f"{prefix}-p{page}-{label}.png"


def _crop_rect(d: _Display) -> pymupdf.Rect:
    rect = pymupdf.Rect(d.bbox) + (-3, -3, 3, 3)
    if d.tag is not None and d.bbox[2] <= d.tag.x0:
        rect.x1 = min(rect.x1, d.tag.x0 - 1)  # show the body, not the number
    return rect


def extract_equations(
    pdf_path: Path,
    assets_dir: Path | None = None,
    latex_source: Path | None = None,
    image_prefix: str = "eq",
) -> list[Equation]:
    """All display equations of a PDF in reading order (page, then column, then y).

    Raises PdfError for PDFs that cannot be opened; never for odd page content.
    """
    doc = open_pdf(Path(pdf_path))
    try:
        return _extract(doc, assets_dir, latex_source, image_prefix)
    finally:
        doc.close()


def extract_page_equations(pdf_path: Path, pages: Iterable[int]) -> dict[int, list[Equation]]:
    """The display equations of the given 1-based pages, each page read on its own.

    A page's text columns then come from its own prose lines instead of the whole document's.
    On the 74 papers of the test corpus this finds the same 245 numbered equations, with the
    same text and context, as extract_equations; it costs ~11 ms a page instead of ~0.25 s a
    paper, which a question answered within 2 s can afford. Pages past the end are left out.
    """
    doc = open_pdf(Path(pdf_path))
    try:
        found: dict[int, list[Equation]] = {}
        for number in sorted(set(pages)):
            if not 1 <= number <= doc.page_count:
                continue
            page = doc[number - 1]
            try:
                pieces = _page_pieces(page)
                columns = _document_columns([pieces], page.rect.width)
                found[number] = [eq for eq, _ in _page_equations(page, pieces, columns)] if pieces else []
            except Exception:  # a damaged page has no equations; the other pages still count
                found[number] = []
        return found
    finally:
        doc.close()


def _extract(doc, assets_dir, latex_source, image_prefix) -> list[Equation]:
    pages_pieces = []
    for page in doc:
        try:
            pages_pieces.append(_page_pieces(page))
        except Exception:  # a damaged page loses its equations, not the whole paper
            pages_pieces.append([])
    if not any(p.n_math for pieces in pages_pieces for p in pieces):
        return []  # no math fonts anywhere: a scan, or a document without formulas
    doc_columns = _document_columns(pages_pieces, doc[0].rect.width)
    latex = _latex_map(latex_source)
    if assets_dir is not None:
        Path(assets_dir).mkdir(parents=True, exist_ok=True)
    equations: list[Equation] = []
    for page_index, pieces in enumerate(pages_pieces):
        if not pieces:
            continue
        page = doc[page_index]
        try:
            found = _page_equations(page, pieces, doc_columns)
        except Exception:  # odd page content must not cost the other pages
            continue
        for eq, crop in found:
            if eq.number is not None:
                eq.latex = latex.get(eq.number)
            if assets_dir is not None:
                unnumbered = sum(1 for e in equations if e.number is None) + 1
                eq.image = _image_name(image_prefix, eq.page, eq.number, unnumbered)
                save_crop(page, crop, Path(assets_dir) / eq.image)
            equations.append(eq)
    return equations


def _page_equations(page: pymupdf.Page, pieces: list[_Piece], doc_columns: list[_Column]):
    """(Equation, crop rect) pairs of one page, column by column, top to bottom."""
    displays, split, _ = _page_displays(page, pieces, doc_columns)
    body_size = _body_size(pieces)
    displays.sort(key=lambda dc: (dc[1].x0, dc[0].bbox[1]))
    seen_numbers: set[str] = set()
    found = []
    for d, col in displays:
        if d.number is not None:
            if d.number in seen_numbers:
                continue  # "(3)" twice on a page: the first is the display
            seen_numbers.add(d.number)
        eq = Equation(
            number=d.number,
            page=page.number + 1,
            bbox=tuple(round(v, 2) for v in d.bbox),
            text=_display_text(d),
            context=_context(d, col, split, body_size),
        )
        found.append((eq, _crop_rect(d)))
    return found


def _latex_map(latex_source: Path | None) -> dict[str, str]:
    if latex_source is None:
        return {}
    from surveyor.evidence.latex import parse_latex_equations

    return parse_latex_equations(Path(latex_source))
