"""A page's text lines as the equation detector reads them, and the text columns they form.

A piece is one horizontal run of characters (PyMuPDF's "line") that knows how much of it
is set in math fonts and how many words of running text it holds; a trailing "(n)" splits
off as its equation number. Columns are the left and right edges that many prose lines
share, on one page or across the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from surveyor.evidence.equation_text import _font_family, _repair_char, is_math_font
from surveyor.index.pymupdf_core import pymupdf

# --------------------------------------------------------------------------- pieces

_TEXT_FLAGS = pymupdf.TEXTFLAGS_RAWDICT | getattr(pymupdf, "TEXT_ACCURATE_BBOXES", 0)
_TEXT_FLAGS &= ~pymupdf.TEXT_PRESERVE_IMAGES

# Function names set upright in formulas: not evidence of prose.
_OPERATOR_WORDS = {
    "log", "exp", "max", "min", "arg", "argmax", "argmin", "sin", "cos", "tan", "tanh",
    "softmax", "sigmoid", "lim", "sup", "inf", "det", "tr", "diag", "mean", "std", "var",
    "Var", "Cov", "KL", "sgn", "sign", "clip", "mod", "len", "dim", "rank", "s.t", "if",
    "otherwise", "for", "and", "where", "st", "ln", "Pr", "concat", "Concat",
}
_WORD = re.compile(r"[A-Za-z\ufb00-\ufb06]{2,}")
_RELATION = re.compile(r"[=≤≥≈∝≜≡←→⇒∈∼<>]|:=")
_MATH_SYMBOL = re.compile(r"[=≤≥≈∝≜≡←→⇒∈∼∑∏∫√∂∇±×·∗⊙⊕⊗‖αβγδεϵζηθκλμνξπρστφϕχψωΓΔΘΛΞΠΣΦΨΩ^_]")
_TAG = re.compile(r"\(\s*((?:[A-Z]{1,3}[.\-]?)?[1-9]\d{0,2}(?:[.\-]\d{1,2}){0,2}[a-h]?)\s*\)\s*$")


@dataclass
class _Piece:
    """A horizontal run of characters on one text line (PyMuPDF's "line")."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    n_chars: int
    n_math: int
    size: float
    words: int
    chars: list = field(default_factory=list, repr=False)  # (char, bbox, is_math, size)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def math_ratio(self) -> float:
        return self.n_math / max(1, self.n_chars)


def _make_piece(chars: list[tuple[str, tuple, bool, float]]) -> _Piece | None:
    """Build a piece from (char, bbox, is_math, size) tuples; None if it holds no ink."""
    inked = [c for c in chars if not c[0].isspace()]
    if not inked:
        return None
    text = "".join(c[0] for c in chars).strip()
    n_math = sum(1 for c in inked if c[2])
    sizes = sorted(c[3] for c in inked)
    # Words of running text: lower-case, full size (sub/superscripts are labels), text font.
    full_size = 0.8 * sizes[-1]
    prose_only = "".join(" " if c[2] or c[3] < full_size else c[0] for c in chars)
    words = sum(
        1 for w in _WORD.findall(prose_only)
        if w not in _OPERATOR_WORDS and any(ch.islower() for ch in w)
    )
    return _Piece(
        x0=min(c[1][0] for c in inked),
        y0=min(c[1][1] for c in inked),
        x1=max(c[1][2] for c in inked),
        y1=max(c[1][3] for c in inked),
        text=text,
        n_chars=len(inked),
        n_math=n_math,
        size=sizes[len(sizes) // 2],
        words=words,
        chars=chars,
    )


def _page_pieces(page: pymupdf.Page) -> list[_Piece]:
    pieces = []
    for block in page.get_text("rawdict", flags=_TEXT_FLAGS)["blocks"]:
        for line in block.get("lines", ()):
            if abs(line["dir"][1]) > 0.01:  # rotated text (arXiv stamp, axis labels)
                continue
            chars = []
            for span in line["spans"]:
                font, size = span["font"], span["size"]
                math, family = is_math_font(font), _font_family(font)
                for ch in span["chars"]:
                    chars.append((_repair_char(ch["c"], family), ch["bbox"], math, size))
            piece = _make_piece(chars)
            if piece is not None and piece.x1 > piece.x0:
                pieces.append(piece)
    return pieces


def _split_tag(piece: _Piece) -> tuple[_Piece | None, _Piece | None, str | None]:
    """Split a trailing "(n)" off a piece: (rest, tag, number)."""
    if not piece.text.endswith(")"):
        return piece, None, None
    text = "".join(c[0] for c in piece.chars)
    match = _TAG.search(text)
    if not match:
        return piece, None, None
    rest = _make_piece(piece.chars[: match.start()])
    tag = _make_piece(piece.chars[match.start() :])
    return rest, tag, match.group(1)


# --------------------------------------------------------------------------- columns


@dataclass
class _Column:
    x0: float
    x1: float
    lines: int = 0  # prose lines that define it: the more, the more trusted
    # Left edges where text lines start on this page: the column edge, list indents.
    margins: tuple[float, ...] = ()

    def starts_line(self, x0: float) -> bool:
        return any(abs(x0 - m) < 3.5 for m in (self.x0, *self.margins))

    def overlaps(self, other: "_Column") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1


def _is_prose_like(p: _Piece, page_width: float) -> bool:
    return p.words >= 4 and p.math_ratio < 0.3 and (p.x1 - p.x0) > 0.2 * page_width


def _cluster(values: list[float], tol: float) -> list[list[float]]:
    groups: list[list[float]] = []
    for v in sorted(values):
        if groups and v - groups[-1][-1] <= tol:
            groups[-1].append(v)
        else:
            groups.append([v])
    return groups


def _columns_from(lines: list[_Piece], min_lines: int) -> list[_Column]:
    """Columns as (left, right) edges shared by several prose lines."""
    columns = []
    groups = _cluster([p.x1 for p in lines], tol=2.0)
    largest = max((len(g) for g in groups), default=0)
    for group in groups:
        # Justified columns share one right edge; ragged paragraph ends scatter.
        if len(group) < max(min_lines, 0.2 * largest):
            continue
        right = sorted(group)[len(group) // 2]
        members = [p for p in lines if abs(p.x1 - right) <= 4.0]
        # The most common left edge: full-width captions also end at a column's right edge.
        left_groups = _cluster([p.x0 for p in members], tol=2.0)
        left = min(max(left_groups, key=len))
        columns.append(_Column(left, right, len(members)))
    return _without_overlaps(columns)


def _without_overlaps(columns: list[_Column], keep: list[_Column] = ()) -> list[_Column]:
    """Drop columns overlapping a better supported one, so each line has one column."""
    kept = list(keep)
    for col in sorted(columns, key=lambda c: -c.lines):
        if not any(col.overlaps(k) for k in kept):
            kept.append(col)
    return kept


def _with_margins(col: _Column, pieces: list[_Piece]) -> _Column:
    """A copy of the column that knows where this page's justified lines start: besides
    the column edge, the indents of lists and paragraphs."""
    justified = [
        p.x0 for p in pieces
        if p.words >= 4 and abs(p.x1 - col.x1) < 3.5 and col.x0 - 4 <= p.x0 < col.x1
    ]
    margins = tuple(min(g) for g in _cluster(justified, tol=1.5) if len(g) >= 3)
    return _Column(col.x0, col.x1, col.lines, margins)


def _column_for(x1: float, columns: list[_Column]) -> _Column | None:
    best = min(columns, key=lambda c: abs(c.x1 - x1), default=None)
    if best is None or abs(best.x1 - x1) > 8.0:
        return None
    return best

