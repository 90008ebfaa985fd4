"""Display equations of a page: a column's lines that are not prose, grouped one display per number.

Lines of running text are told apart from display lines; display lines close together
form one display, shared among the numbers beside them. A numbered display must look
like mathematics and not like a table; an unnumbered one must also be centred, set
apart from the prose around it and not lie over a plot or picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from surveyor.evidence.equation_layout import (
    _MATH_SYMBOL,
    _RELATION,
    _Column,
    _column_for,
    _columns_from,
    _is_prose_like,
    _Piece,
    _split_tag,
    _with_margins,
    _without_overlaps,
)
from surveyor.index.pymupdf_core import pymupdf

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

