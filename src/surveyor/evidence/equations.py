"""Numbered display equations, found deterministically in a PDF's text layer.

A display equation is recognised by three signals that hold across TeX-made papers:

* its equation number "(n)" sits alone at the right edge of its text column,
* the content left of that number is set apart from the prose (indented, short, no
  run of ordinary words) and is typeset largely in math fonts (CMMI, CMSY, ...),
* display lines without a number directly above or below belong to the nearest number
  (multi-line equations, fractions, ``aligned`` blocks share one number).

Unnumbered displays are also reported (number ``None``) when they are strongly
mathematical and stand apart from the prose above and below.

The text layer decodes some TeX glyphs wrongly; :func:`repair_math_text` maps the known
wrong decodings back (raw font codes of CMMI/CMSY/CMEX, Apple "menu glyphs" such as
⇡ for π, blackboard letters of MSBM).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from surveyor.errors import PdfError
from surveyor.index.pymupdf_core import pymupdf

__all__ = ["Equation", "extract_equations", "extract_page_equations", "open_pdf", "repair_math_text", "is_math_font", "save_crop"]


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


# --------------------------------------------------------------------------- fonts

# Names of fonts that only set mathematics. Roman text fonts (CMR, CMBX, ...) also set
# digits and operators in formulas but are body fonts in many papers, so they are neutral.
_MATH_FONT = re.compile(
    r"CMMI|CMSY|CMEX|CMBSY|MSBM|MSAM|EUFM|EUSM|EUEX|EURM|RSFS|BBOLD|BBM|DSROM|STMARY|WASY|"
    r"ESINT|LASY|Math|txsy|txmi|txex|pxsy|pxmi|pxex|zxsy|zxmi|FdSymbol|MTExtra|MT-Extra|"
    r"Euclid|STIXSize|STIXNonUni|STIXVariants|STIXIntegrals|(?<![A-Za-z])Symbol(?!s)",
    re.I,
)


@functools.lru_cache(maxsize=1024)
def is_math_font(name: str) -> bool:
    return bool(_MATH_FONT.search(name))


@functools.lru_cache(maxsize=1024)
def _font_family(name: str) -> str | None:
    """The TeX font encoding a font uses, when its raw codes can be decoded by table."""
    upper = name.upper()
    for family in ("CMMI", "CMSY", "CMEX", "MSBM"):
        if family in upper:
            return family.lower()
    if "CMBSY" in upper:
        return "cmsy"
    if re.search(r"TXEX|PXEX", upper):
        return "cmex"
    if re.match(r"(.*\+)?CM(R|BX|SS|TI|SL)\d", upper):
        return "cmr"
    return None


def _table(start: int, chars: str) -> dict[int, str]:
    return {start + i: c for i, c in enumerate(chars)}


# TeX font layouts (OML, OMS, OMX, OT1): code -> Unicode of the glyph at that code.
_CMMI = _table(0x00, "ΓΔΘΛΞΠΣΥΦΨΩαβγδϵζηθικλμνξπρστυϕχψωεϑϖϱςφ↼↽⇀⇁")
_CMMI.update(_table(0x2E, "▷◁"))
_CMSY = _table(
    0x00,
    "−·×∗÷⋄±∓⊕⊖⊗⊘⊙◯∘•≍≡⊆⊇≤≥⪯⪰∼≈⊂⊃≪≫≺≻←→↑↓↔↗↘≃⇐⇒⇑⇓⇔↖↙∝′∞∈∋△▽/↦∀∃¬∅ℜℑ⊤⊥",
)
_CMSY.update(_table(0x5B, "∪∩⊎∧∨⊢⊣⌊⌋⌈⌉{}⟨⟩|‖↕⇕\\≀√⨿∇∫⊔⊓⊑⊒§†‡¶♣♢♡♠"))
_CMEX = _table(0x00, "()[]⌊⌋⌈⌉{}⟨⟩|‖/\\()()[]⌊⌋⌈⌉{}⟨⟩/\\()[]⌊⌋⌈⌉{}⟨⟩/\\/\\")
_CMEX.update(_table(0x30, "⎛⎞⎡⎤⎣⎦⎢⎥⎧⎫⎩⎭⎨⎬⎪⏐⎝⎠⎜⎟⟨⟩⊔⊔∮∮⊙⊙⊕⊕⊗⊗∑∏∫⋃⋂⊎⋀⋁∑∏∫⋃⋂⊎⋀⋁"))
_CMEX.update(_table(0x60, "∐∐^^^~~~[]⌊⌋⌈⌉{}√√√√√⎷⎷‖↑↓⏞⏟⏞⏟⇑⇓"))
_CMR = _table(0x00, "ΓΔΘΛΞΠΣΥΦΨΩ\ufb00\ufb01\ufb02\ufb03\ufb04ıȷ`´ˇ˘¯˚¸ßæœøÆŒØ")

# Some PDF producers (Apple Quartz among them) map a TeX glyph's raw code 0x00-0x1F to
# the Apple menu glyph with that code, so π (CMMI 0x19) reads as ⇡ and × (CMSY 0x02) as ⇥.
_APPLE_MENU_GLYPH_CODE = {
    "⇥": 0x02, "⇤": 0x03, "⌤": 0x04, "⇧": 0x05, "⌃": 0x06, "⌥": 0x07, "␣": 0x09,
    "⌦": 0x0A, "↵": 0x0B, "↩": 0x0B, "↪": 0x0C, "✏": 0x0F, "⇣": 0x10, "⌘": 0x11,
    "✓": 0x12, "◆": 0x13, "⌫": 0x17, "⇠": 0x18, "⇡": 0x19, "⇢": 0x1A, "⎋": 0x1B,
    "⌧": 0x1C, "『": 0x1D, "』": 0x1E,
}
_FAMILY_TABLE = {"cmmi": _CMMI, "cmsy": _CMSY, "cmex": _CMEX, "cmr": _CMR}

# ASCII that a correctly decoded glyph of these fonts never yields, so it is a raw code.
_RAW_ASCII = {
    "cmmi": set("!\"#$%&'"),
    "cmsy": set("!\"#$%&'()*+,-./0123456789:;<=>?[]^_`abcdefghijklmnopqrstuvwxyz~"),
    "cmex": set("!\"#$%&'*+,-.0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz~"),
}
_DOUBLE_STRUCK = {"C": "ℂ", "H": "ℍ", "N": "ℕ", "P": "ℙ", "Q": "ℚ", "R": "ℝ", "Z": "ℤ"}


def _repair_char(ch: str, family: str | None) -> str:
    if ch == "µ":
        return "μ"
    if family is None:
        return ch
    if family == "msbm":
        if "A" <= ch <= "Z":
            return _DOUBLE_STRUCK.get(ch, chr(0x1D538 + ord(ch) - ord("A")))
        return ch
    table = _FAMILY_TABLE[family]
    code = ord(ch)
    if code < 0x20:
        return table.get(code, ch)
    if ch in _APPLE_MENU_GLYPH_CODE:
        return table.get(_APPLE_MENU_GLYPH_CODE[ch], ch)
    if ch in _RAW_ASCII.get(family, ()):
        return table.get(code, ch)
    return ch


def repair_math_text(text: str, font: str) -> str:
    """Undo known wrong decodings of TeX math glyphs set in ``font``."""
    family = _font_family(font)
    return "".join(_repair_char(ch, family) for ch in text)


# --------------------------------------------------------------------------- opening


def open_pdf(pdf_path: Path) -> pymupdf.Document:
    """Open a PDF or raise PdfError (missing, not a PDF, encrypted, no pages)."""
    path = Path(pdf_path)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # pymupdf raises several unrelated types for bad files
        raise PdfError(f"cannot open {path}: {exc}") from exc
    if doc.needs_pass:
        doc.close()
        raise PdfError(f"{path} is encrypted")
    if doc.page_count == 0:
        doc.close()
        raise PdfError(f"{path} has no pages")
    return doc


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


# --------------------------------------------------------------------------- grouping


def _is_prose(p: _Piece, col: _Column) -> bool:
    """A line of running text rather than part of a display."""
    width = p.x1 - p.x0
    col_width = max(1.0, col.x1 - col.x0)
    starts_at_margin = col.starts_line(p.x0)
    if starts_at_margin and abs(p.x1 - col.x1) < 3.5 and p.words >= 2:
        return True  # a justified line of a paragraph, however much inline math it holds
    if p.math_ratio >= 0.5:
        return False
    indent_left, indent_right = p.x0 - col.x0, col.x1 - p.x1
    if indent_left > 8 and abs(indent_left - indent_right) < 12 and p.words < 8:
        return False  # centred like a display
    if p.words >= 6:
        return True
    if p.words >= 3 and width > 0.75 * col_width:
        return True
    if starts_at_margin and p.words >= 2:
        return True  # first or last line of a paragraph
    if starts_at_margin and p.words >= 1 and not _RELATION.search(p.text):
        return True  # "form", "step t:" ending a paragraph
    return False


def _rows(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Pieces grouped into visual rows, top to bottom, each row left to right."""
    rows: list[list[_Piece]] = []
    for p in sorted(pieces, key=lambda p: p.cy):
        if rows and min(q.y0 for q in rows[-1]) <= p.cy <= max(q.y1 for q in rows[-1]):
            rows[-1].append(p)
        else:
            rows.append([p])
    return [sorted(row, key=lambda p: p.x0) for row in rows]


def _justified_rows(pieces: list[_Piece], col: _Column) -> list[_Piece]:
    """Pieces of rows that run from margin to margin with words in them: a line of prose
    that inline math broke into fragments ("where ℓk = 1/N ∑ log ... along text")."""
    found = []
    for row in _rows(pieces):
        spans_column = col.starts_line(row[0].x0) and abs(max(p.x1 for p in row) - col.x1) < 3.5
        if len(row) > 1 and spans_column and sum(p.words for p in row) >= 2:
            found.extend(row)
    return found


@dataclass
class _Display:
    pieces: list[_Piece]
    tag: _Piece | None = None
    number: str | None = None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (
            min(p.x0 for p in self.pieces),
            min(p.y0 for p in self.pieces),
            max(p.x1 for p in self.pieces),
            max(p.y1 for p in self.pieces),
        )


def _in_column(p: _Piece, col: _Column) -> bool:
    return p.x0 >= col.x0 - 4 and p.x1 <= col.x1 + 4


def _vertical_gap(a: _Piece, b: _Piece) -> float:
    return max(0.0, max(a.y0, b.y0) - min(a.y1, b.y1))


def _displays_in_column(pieces: list[_Piece], tags: list[tuple[_Piece, str]], col: _Column,
                        body_size: float) -> list[_Display]:
    """Group the column's display pieces into equations, one per number."""
    tag_ids = {id(t) for t, _ in tags}
    members = [p for p in pieces if _in_column(p, col) and id(p) not in tag_ids]
    prose = [p for p in members if _is_prose(p, col)]
    prose += _justified_rows([p for p in members if not _is_prose(p, col)], col)
    prose_ids = {id(p) for p in prose}
    # Fragments on the same row as a prose line belong to that line (inline math).
    display = [
        p for p in members
        if id(p) not in prose_ids and not any(q.y0 < p.cy < q.y1 for q in prose)
    ]
    items = sorted(
        [(p, "d") for p in display] + [(p, "p") for p in prose] + [(t, "t") for t, _ in tags],
        key=lambda it: (it[0].y0, it[0].x0),
    )
    groups: list[list[tuple[_Piece, str]]] = []
    bottom = -1e9
    max_gap = 0.9 * body_size
    for piece, kind in items:
        if kind == "p":
            bottom = -1e9
            groups.append([])
            continue
        if not groups or piece.y0 > bottom + max_gap:
            groups.append([])
        groups[-1].append((piece, kind))
        bottom = max(bottom, piece.y1)
    numbers = {id(t): n for t, n in tags}
    displays = []
    for group in groups:
        group_tags = [p for p, k in group if k == "t"]
        bodies = [p for p, k in group if k == "d"]
        if not bodies:
            continue
        if not group_tags:
            displays.append(_Display(bodies))
            continue
        by_tag: dict[int, list[_Piece]] = {id(t): [] for t in group_tags}
        for body in bodies:
            nearest = min(group_tags, key=lambda t: (_vertical_gap(body, t), abs(body.cy - t.cy)))
            by_tag[id(nearest)].append(body)
        for t in group_tags:
            if by_tag[id(t)]:
                displays.append(_Display(by_tag[id(t)], t, numbers[id(t)]))
    return displays


def _looks_like_math(d: _Display) -> bool:
    n_math = sum(p.n_math for p in d.pieces)
    text = " ".join(p.text for p in d.pieces)
    return n_math >= 1 or bool(_MATH_SYMBOL.search(text))


def _numbered_display_ok(d: _Display, body_size: float) -> bool:
    """Checks a numbered display must pass. Equation numbers are set in the body size (a
    little smaller under \\resizebox), so "(260k)" in a table's small print is not one."""
    return (
        d.tag.size >= 0.7 * body_size
        and _looks_like_math(d)
        and _tag_row_is_display(d)
        and not _looks_like_table(d, body_size)
    )


def _tag_row_is_display(d: _Display) -> bool:
    """The number must not end a line of prose or sit beside table cells far to its left."""
    tag = d.tag
    row = [p for p in d.pieces if p.y0 < tag.cy < p.y1 or tag.y0 < p.cy < tag.y1]
    if not row:
        return True  # a tag centred between lines of a tall display
    nearest = max(row, key=lambda p: p.x1)
    return tag.x0 - nearest.x1 >= 1.5


def _looks_like_table(d: _Display, body_size: float) -> bool:
    """Three or more cells on a row, separated by wide gaps."""
    for row in _rows(d.pieces):
        gaps = [b.x0 - a.x1 for a, b in zip(row, row[1:])]
        if sum(1 for g in gaps if g > 3 * body_size) >= 2:
            return True
    return False


def _standalone_unnumbered(d: _Display, col: _Column, body_size: float) -> bool:
    """Conservative test for an unnumbered display: centred, mathematical, not a table."""
    x0, y0, x1, y1 = d.bbox
    sizes = sorted(p.size for p in d.pieces)
    if sizes[len(sizes) // 2] < 0.8 * body_size:
        return False  # small print: a figure, table or algorithm, not a display
    if any(p.text.startswith(("▷", "▹", "//", "#")) or re.match(r"\d{1,2}:", p.text)
           for p in d.pieces):
        return False  # algorithm listing
    if _looks_like_table(d, body_size):
        return False
    n_chars = sum(p.n_chars for p in d.pieces)
    n_math = sum(p.n_math for p in d.pieces)
    words = sum(p.words for p in d.pieces)
    text = " ".join(p.text for p in d.pieces)
    indent_left = x0 - col.x0
    indent_right = col.x1 - x1
    centred = indent_left > 10 and abs(indent_left - indent_right) < 0.25 * (col.x1 - col.x0)
    return (
        n_chars >= 5
        and n_math / n_chars >= 0.4
        and words <= 3
        and bool(_RELATION.search(text))
        and centred
        and (y1 - y0) < 6 * body_size
    )


def _set_apart(d: _Display, col: _Column, pieces: list[_Piece], body_size: float) -> bool:
    """Displays get extra space above and below; lines of an algorithm or a list do not."""
    x0, y0, x1, y1 = d.bbox
    own = {id(p) for p in d.pieces}
    near = [p for p in pieces if id(p) not in own and _in_column(p, col) and p.x0 < x1 and p.x1 > x0]
    above = [y0 - p.y1 for p in near if p.y1 <= y0 + 1]
    below = [p.y0 - y1 for p in near if p.y0 >= y1 - 1]
    min_space = 0.25 * body_size
    return min(above, default=99) >= min_space and min(below, default=99) >= min_space


# --------------------------------------------------------------------------- page


def _body_size(pieces: list[_Piece]) -> float:
    sizes = sorted(p.size for p in pieces if p.words >= 4)
    return sizes[len(sizes) // 2] if sizes else 10.0


def _document_columns(pages_pieces: list[list[_Piece]], width: float) -> list[_Column]:
    lines = [p for pieces in pages_pieces for p in pieces if _is_prose_like(p, width)]
    return _columns_from(lines, min_lines=8)


def _page_displays(page: pymupdf.Page, pieces: list[_Piece], doc_columns: list[_Column]):
    """(display, column) pairs on one page."""
    body = _body_size(pieces)
    width = page.rect.width
    page_columns = _columns_from([p for p in pieces if _is_prose_like(p, width)], min_lines=3)
    columns = [_with_margins(c, pieces) for c in _without_overlaps(doc_columns, keep=page_columns)]
    split: list[_Piece] = []
    tags_by_column: dict[int, list[tuple[_Piece, str]]] = {}
    for piece in pieces:
        rest, tag, number = _split_tag(piece)
        col = _column_for(tag.x1, columns) if tag else None
        if tag is None or col is None:
            split.append(piece)
            continue
        if rest is not None:
            split.append(rest)
        tags_by_column.setdefault(id(col), []).append((tag, number))
    graphics = _PageGraphics(page)
    results = []
    for col in columns:
        tags = tags_by_column.get(id(col), [])
        for d in _displays_in_column(split, tags, col, body):
            if d.number is not None:
                if _numbered_display_ok(d, body):
                    results.append((d, col))
            elif (
                _standalone_unnumbered(d, col, body)
                and _set_apart(d, col, split, body)
                and not graphics.under(d)
            ):
                results.append((d, col))
    return results, split, columns


class _PageGraphics:
    """Vector paths and images of a page, read once and only when a test needs them."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self._rects: list[tuple[pymupdf.Rect, bool]] | None = None

    def rects(self) -> list[tuple[pymupdf.Rect, bool]]:
        """(rect, is_image) pairs; get_drawings is costly on busy pages, hence lazy."""
        if self._rects is None:
            try:
                images = [(pymupdf.Rect(i["bbox"]), True) for i in self.page.get_image_info()]
                paths = [(pymupdf.Rect(d["rect"]), False) for d in self.page.get_drawings()]
            except Exception:
                images, paths = [], []
            self._rects = images + paths
        return self._rects

    def under(self, d: _Display) -> bool:
        """Text over a plot or picture: vector paths other than rules, or raster images."""
        x0, y0, x1, y1 = d.bbox
        for r, is_image in self.rects():
            # lines have zero-width rects, which Rect.intersects would ignore
            if not (r.x0 <= x1 and r.x1 >= x0 and r.y0 <= y1 and r.y1 >= y0):
                continue
            if is_image or (r.height > 4 and (r.width < 2 or r.width > 4)):
                return True  # axes, arrows, boxes and curves; fraction bars are flat
        return False


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


def save_crop(page: pymupdf.Page, rect: pymupdf.Rect, path: Path) -> None:
    """PNG of a region given in text coordinates, as the page displays it (no annotations)."""
    shown = (pymupdf.Rect(rect) * page.rotation_matrix) & page.rect  # rotated pages
    page.get_pixmap(clip=shown, dpi=150, annots=False).save(path)


def extract_equations(
    pdf_path: Path,
    assets_dir: Path | None = None,
    latex_source: Path | None = None,
    image_prefix: str = "eq",
) -> list[Equation]:
    """All display equations of a PDF in reading order (page, then column, then y).

    Raises PdfError for PDFs that cannot be opened; never for odd page content.
    """
    doc = open_pdf(pdf_path)
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
    doc = open_pdf(pdf_path)
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
