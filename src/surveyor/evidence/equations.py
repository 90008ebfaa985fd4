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

import re
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from surveyor.errors import PdfError

__all__ = ["Equation", "extract_equations", "open_pdf", "repair_math_text", "is_math_font"]


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


def is_math_font(name: str) -> bool:
    return bool(_MATH_FONT.search(name))


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
_TAG = re.compile(r"\(\s*((?:[A-Z]{1,3}[.\-]?)?\d{1,3}(?:[.\-]\d{1,3}){0,2}[a-z]?)\s*\)\s*$")


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
    boxes: list = field(default_factory=list, repr=False)  # (char, bbox) per character
    fonts: list = field(default_factory=list, repr=False)  # font per character

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def math_ratio(self) -> float:
        return self.n_math / max(1, self.n_chars)


def _make_piece(chars: list[tuple[str, tuple, str, float]]) -> _Piece | None:
    """Build a piece from (char, bbox, font, size) tuples; None if it holds no ink."""
    inked = [c for c in chars if not c[0].isspace()]
    if not inked:
        return None
    text = "".join(c[0] for c in chars).strip()
    n_math = sum(1 for c in inked if is_math_font(c[2]))
    sizes = sorted(c[3] for c in inked)
    # Words of running text: lower-case, full size (sub/superscripts are labels), text font.
    full_size = 0.8 * sizes[-1]
    prose_only = "".join(
        " " if is_math_font(c[2]) or c[3] < full_size else c[0] for c in chars
    )
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
        boxes=[(c[0], c[1]) for c in chars],
        fonts=[c[2] for c in chars],
    )


def _page_pieces(page: pymupdf.Page) -> list[_Piece]:
    pieces = []
    for block in page.get_text("rawdict", flags=_TEXT_FLAGS)["blocks"]:
        for line in block.get("lines", ()):
            if abs(line["dir"][1]) > 0.01:  # rotated text (arXiv stamp, axis labels)
                continue
            chars = []
            for span in line["spans"]:
                for ch in span["chars"]:
                    fixed = repair_math_text(ch["c"], span["font"])
                    chars.append((fixed, tuple(ch["bbox"]), span["font"], span["size"]))
            piece = _make_piece(chars)
            if piece is not None and piece.x1 > piece.x0:
                pieces.append(piece)
    return pieces


def _split_tag(piece: _Piece) -> tuple[_Piece | None, _Piece | None, str | None]:
    """Split a trailing "(n)" off a piece: (rest, tag, number)."""
    text = "".join(c for c, _ in piece.boxes)
    match = _TAG.search(text)
    if not match:
        return piece, None, None
    start = match.start()
    chars = [(c, b, f, piece.size) for (c, b), f in zip(piece.boxes, piece.fonts)]
    rest = _make_piece(chars[:start])
    tag = _make_piece(chars[start:])
    return rest, tag, match.group(1)


# --------------------------------------------------------------------------- columns


@dataclass
class _Column:
    x0: float
    x1: float


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
        lefts = sorted(p.x0 for p in members)
        left = lefts[len(lefts) // 10]
        columns.append(_Column(left, right))
    return columns


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
    starts_at_margin = abs(p.x0 - col.x0) < 3.5
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
    if starts_at_margin and p.words >= 1 and p.n_math == 0 and not _RELATION.search(p.text):
        return True
    return False


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


def _tag_row_is_display(d: _Display) -> bool:
    """The number must not end a line of prose or sit beside table cells far to its left."""
    tag = d.tag
    row = [p for p in d.pieces if p.y0 < tag.cy < p.y1 or tag.y0 < p.cy < tag.y1]
    if not row:
        return True  # a tag centred between lines of a tall display
    nearest = max(row, key=lambda p: p.x1)
    return tag.x0 - nearest.x1 >= 1.5


def _standalone_unnumbered(d: _Display, col: _Column, body_size: float) -> bool:
    """Conservative test for an unnumbered display: centred, mathematical, not a table."""
    x0, y0, x1, y1 = d.bbox
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


# --------------------------------------------------------------------------- page


def _body_size(pieces: list[_Piece]) -> float:
    sizes = sorted(p.size for p in pieces if p.words >= 4)
    return sizes[len(sizes) // 2] if sizes else 10.0


def _document_columns(pages_pieces: list[list[_Piece]], width: float) -> list[_Column]:
    lines = [p for pieces in pages_pieces for p in pieces if _is_prose_like(p, width)]
    return _columns_from(lines, min_lines=8)


def _page_displays(pieces: list[_Piece], width: float, doc_columns: list[_Column]):
    """(display, column) pairs on one page."""
    body = _body_size(pieces)
    page_columns = _columns_from([p for p in pieces if _is_prose_like(p, width)], min_lines=3)
    columns = page_columns + [
        c for c in doc_columns if all(abs(c.x1 - pc.x1) > 8 for pc in page_columns)
    ]
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
    results = []
    for col in columns:
        tags = tags_by_column.get(id(col), [])
        for d in _displays_in_column(split, tags, col, body):
            if d.number is not None:
                if _looks_like_math(d) and _tag_row_is_display(d):
                    results.append((d, col))
            elif _standalone_unnumbered(d, col, body):
                results.append((d, col))
    return results, split, columns


# --------------------------------------------------------------------------- text


def _display_text(d: _Display) -> str:
    rows: list[list[_Piece]] = []
    for p in sorted(d.pieces, key=lambda p: p.cy):
        if rows and p.cy <= max(q.y1 for q in rows[-1]) and p.cy >= min(q.y0 for q in rows[-1]):
            rows[-1].append(p)
        else:
            rows.append([p])
    lines = [" ".join(p.text for p in sorted(row, key=lambda p: p.x0)) for row in rows]
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


def _context(d: _Display, col: _Column, pieces: list[_Piece]) -> dict:
    """The prose sentence that introduces the display and the "where ..." sentence after it."""
    x0, y0, x1, y1 = d.bbox
    in_col = sorted((p for p in pieces if _in_column(p, col)), key=lambda p: p.y0)
    above = [p for p in in_col if p.y1 <= y0 + 1]
    below = [p for p in in_col if p.y0 >= y1 - 1 and p is not d.tag]
    intro_lines: list[str] = []
    for p in reversed(above):
        if not _is_prose(p, col) or (intro_lines and p.y1 < y0 - 60 - 14 * len(intro_lines)):
            break
        intro_lines.insert(0, p.text)
        if len(intro_lines) >= 6 or re.search(r"[.!?]$", p.text) and len(intro_lines) > 1:
            break
    intro = _join_lines(intro_lines)
    intro = _SENTENCE_END.split(intro)[-1] if intro else ""
    where_lines: list[str] = []
    for p in below[:8]:
        if not _is_prose(p, col):
            break
        where_lines.append(p.text)
        if re.search(r"\.$", p.text):
            break
    where = _join_lines(where_lines)
    if where and _WHERE_START.match(where):
        where = _SENTENCE_END.split(where)[0]
    else:
        where = ""
    return {"intro": intro, "where": where}


# --------------------------------------------------------------------------- public


def _image_name(prefix: str, page: int, number: str | None, index: int) -> str:
    label = number if number is not None else f"u{index}"
    label = re.sub(r"[^A-Za-z0-9.\-]", "_", label)
    return f"{prefix}-p{page}-{label}.png"


def _save_crop(page: pymupdf.Page, bbox, path: Path) -> None:
    rect = pymupdf.Rect(bbox) + (-3, -3, 3, 3)
    rect &= page.rect
    page.get_pixmap(clip=rect, dpi=150).save(path)


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


def _extract(doc, assets_dir, latex_source, image_prefix) -> list[Equation]:
    width = doc[0].rect.width
    pages_pieces = []
    for page in doc:
        try:
            pages_pieces.append(_page_pieces(page))
        except Exception:  # a damaged page loses its equations, not the whole paper
            pages_pieces.append([])
    doc_columns = _document_columns(pages_pieces, width)
    latex = _latex_map(latex_source)
    if assets_dir is not None:
        Path(assets_dir).mkdir(parents=True, exist_ok=True)
    equations: list[Equation] = []
    unnumbered = 0
    for page_index, pieces in enumerate(pages_pieces):
        if not pieces:
            continue
        displays, split, _ = _page_displays(pieces, doc[page_index].rect.width, doc_columns)
        displays.sort(key=lambda dc: (dc[1].x0, dc[0].bbox[1]))
        for d, col in displays:
            if d.number is None:
                unnumbered += 1
            eq = Equation(
                number=d.number,
                page=page_index + 1,
                bbox=tuple(round(v, 2) for v in d.bbox),
                text=_display_text(d),
                latex=latex.get(d.number) if d.number else None,
                context=_context(d, col, split),
            )
            if assets_dir is not None:
                eq.image = _image_name(image_prefix, eq.page, d.number, unnumbered)
                _save_crop(doc[page_index], d.bbox, Path(assets_dir) / eq.image)
            equations.append(eq)
    return equations


def _latex_map(latex_source: Path | None) -> dict[str, str]:
    if latex_source is None:
        return {}
    from surveyor.evidence.latex import parse_latex_equations

    return parse_latex_equations(Path(latex_source))
