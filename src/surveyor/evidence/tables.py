"""A paper's result tables as data: (method, benchmark, metric, value, table, page, caption) rows.

Read from the PDF's text layer by layout, anchored on each "Table N:" caption. PyMuPDF's
`page.find_tables()` was measured on the corpus first and not kept: 0.6-2.5 s a page with both
the "lines" and the "text" strategy (35 s for 2305.04091), and on these PDFs its cells split
decimals from their digits ("687\\n.") where the text layer says 68.7. Here, text lines of the
caption's column are grouped into visual rows by height; the rows next to the caption (below
it, or above when more tabular rows lie there) are the table; rows before the first one with a
number are its header. What each value is (method, benchmark, metric, setting), which way round
the table is and whether it holds results at all is `evidence.table_labels`; tables that are not
results (statistics, hyper-parameters, prompts) are listed in `skipped` with the reason. Every value is
checked on the page's text and a row's `row_text` (its lines in the page's text order) is kept
only when it is on the page verbatim, so an answer can quote it.

A table that is an image has no text rows: no rows, no error. Nothing raises to the caller:
a page that fails to read gives a note instead. Cached per paper (versions.TABLES + PDF hash).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from surveyor import versions
from surveyor.evidence.table_labels import (
    column_labels,
    is_metric,
    names_own,
    non_result,
    own_names,
    split_labels,
    transposed,
)
from surveyor.files import atomic_write_json
from surveyor.grounding import quote_on_page
from surveyor.index.catalog import PaperRecord
from surveyor.index.pdfparse import open_pdf
from surveyor.settings import Settings
from surveyor.sources.identity import safe_key
from surveyor.textnorm import collapse, numbers_in

log = logging.getLogger(__name__)

CAPTION = re.compile(r"^\s*Table\s+([A-Z]?\d+)\s*[:.|]\s*", re.IGNORECASE)
_NUMBER_CELL = re.compile(r"^[-−+]?\(?[-−+]?\d+(?:[.,]\d+)*\s*%?\)?(?:\s*(?:[±/]|\+/-)\s*\d+(?:\.\d+)?%?)*"
                          r"\s*(?:\([-−+]?\d+(?:\.\d+)?%?\))?[†‡*∗§]*(?:\s*\[\d+\])?$")
_DECIMAL = re.compile(r"^[-−+]?\d+[.,]\d+%?[†‡*∗§]*$|^\d+(?:\.\d+)?%$")
_DASHES = {"-", "–", "—", "−", "N/A", "n/a", "/"}
ROW_GAP = 4.0          # points: lines whose centres are this close are one visual row
TABLE_GAP = 26.0       # points: a larger vertical gap ends the table
CELL_GAP = 4.5         # points: words further apart are separate cells
PROSE_WORDS = 9        # a line of this many words, mostly not numbers, is running text
MAX_CAPTION = 300
HEADER_MAX_WORDS = 6   # a header cell is short
HEADER_ROWS = 4        # the header is at most this many rows over the first row of numbers


@dataclass
class ResultRow:
    method: str
    benchmark: str
    metric: str
    value: str
    table: str
    page: int
    caption: str
    own: bool = False
    row_text: str = ""      # the row as on the page (verbatim-checkable); "" when its lines are not contiguous
    group: str = ""         # the label of the block of rows it sits in ("MultiArith", "Zero-Shot"), if any
    setting: str = ""       # what else the labels say: "5-shot", a model size beside the method ("129M")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PaperTables:
    tables: int = 0
    rows: list[ResultRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "Table 10 p.22: caption names statistics, ..."


@dataclass
class _Line:
    order: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    bold: bool
    words: list[tuple[float, float, str]]

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def prose(self) -> bool:
        words = self.text.split()
        long = len(words) >= PROSE_WORDS or (len(words) >= PROSE_WORDS - 3 and len(self.text) >= 40)  # narrow column
        return long and sum(bool(_NUMBER_CELL.match(w)) for w in words) < len(words) / 3


# =========================================================================== page layout


def _page_lines(page) -> list[_Line]:
    raw = page.get_text("dict")
    buckets: dict[int, list[tuple[float, float, float, str]]] = {}  # words by height band, matched by position
    for w in page.get_text("words"):
        cy = (w[1] + w[3]) / 2
        buckets.setdefault(int(cy // 4), []).append(((w[0] + w[2]) / 2, cy, w[0], w[2], w[4]))
    lines: list[_Line] = []
    for block in raw["blocks"]:
        for line in block.get("lines", []):
            text = "".join(s["text"] for s in line["spans"])
            if not text.strip():
                continue
            spans = [s for s in line["spans"] if s["text"].strip()]
            bold = bool(spans) and all(s["flags"] & 16 or "bold" in s.get("font", "").lower() for s in spans)
            x0, y0, x1, y1 = line["bbox"]
            words = sorted((w[2], w[3], w[4]) for band in range(int(y0 // 4), int(y1 // 4) + 1)
                           for w in buckets.get(band, []) if x0 - 1 <= w[0] <= x1 + 1 and y0 - 1 <= w[1] <= y1 + 1)
            lines.append(_Line(len(lines), x0, y0, x1, y1, text, bold, words))
    return lines


def _cells(row: list[_Line]) -> list[tuple[float, float, str, bool, list]]:
    """A visual row's cells left to right: (x0, x1, text, bold, words); words further apart than CELL_GAP
    split cells, and so does a decimal number set close to a name or another number ("[63] 67.3", "62.5 8.5")."""
    cells: list[list] = []
    for line in row:
        words = line.words or [(line.x0, line.x1, line.text.strip())]
        current: list | None = None
        for x0, x1, word in words:
            if current is not None and x0 - current[1] <= CELL_GAP and not (
                    _DECIMAL.match(word) and not re.search(r"(?:±|/|\(|\+/-)$", current[2])):
                current[1], current[2] = x1, f"{current[2]} {word}"
                current[4].append((x0, x1, word))
            else:
                current = [x0, x1, word, line.bold, [(x0, x1, word)]]
                cells.append(current)
    return [(c[0], c[1], collapse(c[2]), c[3], c[4]) for c in sorted(cells, key=lambda c: c[0])]


def _visual_rows(lines: list[_Line]) -> list[list[_Line]]:
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda ln: ln.cy):
        if rows and abs(line.cy - sum(x.cy for x in rows[-1]) / len(rows[-1])) <= ROW_GAP:
            rows[-1].append(line)
        else:
            rows.append([line])
    return rows


def _is_number(text: str) -> bool:
    return bool(_NUMBER_CELL.match(text.strip()))


def _table_rows(caption: _Line, caption_lines: list[_Line], lines: list[_Line], width: float,
                stops: list[float]) -> list[list[_Line]]:
    """The visual rows of the table a caption names: the tabular run below it, or above when longer."""
    x0 = min(ln.x0 for ln in caption_lines)
    x1 = max(ln.x1 for ln in caption_lines)
    mid = width / 2
    # A caption within one half keeps its table to that half when running text fills the other half
    # (two columns, or a table set beside the text); a short caption alone on its page does not.
    right_text = sum(ln.prose and ln.x0 >= mid - 15 for ln in lines) >= 3
    left_text = sum(ln.prose and ln.x1 <= mid + 15 for ln in lines) >= 3
    lo, hi = (0.0, width)
    if x1 <= mid + 15 and right_text:
        lo, hi = 0.0, mid + 5
    elif x0 >= mid - 15 and left_text:
        lo, hi = mid - 5, width
    top = min(ln.y0 for ln in caption_lines)
    bottom = max(ln.y1 for ln in caption_lines)
    skip = {id(ln) for ln in caption_lines}
    pool = [ln for ln in lines if id(ln) not in skip and ln.x0 >= lo - 2 and ln.x1 <= hi + 2]
    below = _run([r for r in _visual_rows([ln for ln in pool if ln.y0 >= bottom - 1]) if r], bottom,
                 [s for s in stops if s > bottom], down=True)
    above = _run(list(reversed(_visual_rows([ln for ln in pool if ln.y1 <= top + 1]))), top,
                 [s for s in stops if s < top], down=False)
    numeric = lambda rows: sum(any(_is_number(c[2]) for c in _cells(r)) for r in rows)  # noqa: E731
    # Most venues caption a table above it: below wins whenever it holds a table at all.
    return below if numeric(below) >= min(2, numeric(above)) else list(reversed(above))


def _run(rows: list[list[_Line]], start: float, stops: list[float], down: bool) -> list[list[_Line]]:
    out: list[list[_Line]] = []
    edge = start
    for row in rows:
        y0, y1 = min(ln.y0 for ln in row), max(ln.y1 for ln in row)
        gap = y0 - edge if down else edge - y1
        if gap > TABLE_GAP or any(ln.prose for ln in row) or any((y0 >= s) if down else (y1 <= s) for s in stops):
            break
        if any(CAPTION.match(ln.text) for ln in row):
            break
        out.append(row)
        edge = y1 if down else y0
    return out


# =========================================================================== rows of one table


def _row_text(row: list[_Line], page_lines: list[_Line], page_text: str) -> str:
    """The row as the page's text has it: its lines in text order, or the run of text from its first line to
    its last when at most two label lines of a neighbouring row sit inside ("Retroformer (w/ LoRA r=1) 0.53M");
    "" when neither is on the page verbatim."""
    orders = sorted(ln.order for ln in row)
    text = collapse(" ".join(page_lines[i].text for i in orders))
    if quote_on_page(text, page_text):
        return text
    extras = [page_lines[i] for i in range(orders[0], orders[-1] + 1) if i not in set(orders)]
    if len(extras) <= 2 and not any(_is_number(ln.text) for ln in extras):
        text = collapse(" ".join(ln.text for ln in page_lines[orders[0] : orders[-1] + 1]))
        if quote_on_page(text, page_text):
            return text
    return ""


_HEADER_WORDS = re.compile(r"^(?:methods?|models?|approach(?:es)?|systems?|settings?|baselines?|datasets?|"
                           r"benchmarks?|tasks?)$", re.IGNORECASE)


@dataclass
class _DataRow:
    labels: list            # the label cells left of the first value
    values: list            # the cells from the first value on
    header: list            # the header rows over it (at most HEADER_ROWS)
    group: str
    row_text: str


def _table_cells(rows: list[list[_Line]], page_text: str, page_lines: list[_Line]) -> list[_DataRow]:
    """The table's data rows with their header rows and block label: rows before the first one with a number
    are the header; a header row after data starts a new band; a lone label between data rows labels a block."""
    header_rows: list[list] = []
    out: list[_DataRow] = []
    seen_data = False
    group, group_x = "", None
    cells_of = [_cells(r) for r in rows]
    for index, (row, cells) in enumerate(zip(rows, cells_of)):
        first_number = next((i for i, c in enumerate(cells) if _is_number(c[2]) or c[2] in _DASHES), None)
        if first_number == 1 and not seen_data and _HEADER_WORDS.match(cells[0][2]):
            first_number = None  # "Method | 2 / 1024 | 3 / 1536": numbers that are column labels
        if first_number is None:
            if seen_data and len(cells) == 1:  # "Few-Shot": a label over the rows below
                group, group_x = cells[0][2], None
                continue
            if header_rows and len(cells) == 1 and _next_is_data(cells_of[index + 1 :]) and (
                    len(cells[0][2].split()) >= 3 or cells[0][0] <= min(c[0] for r in cells_of for c in r[:1]) + 5):
                group, group_x = cells[0][2], None  # "Open-Source Models" right over the rows: a block label
                continue
            if seen_data:  # a second band of the table under headers of its own
                header_rows, seen_data = [], False
            # a header row: short cells only (a long one is text beside the table)
            header_rows.append([c for c in cells if len(c[2].split()) <= HEADER_MAX_WORDS])
            continue
        seen_data = True
        label_cells = cells[:first_number]
        if label_cells and group_x is not None and label_cells[0][0] < group_x:
            group, group_x = "", None  # a row that starts under the block label ends the block
        if len(label_cells) >= 2 and _block_label(label_cells, cells_of[index + 1 :]):
            group, group_x = label_cells[0][2], label_cells[0][1]  # "MultiArith | Greedy", then "Sampling"
            label_cells = label_cells[1:]
        out.append(_DataRow(label_cells, cells[first_number:], header_rows[-HEADER_ROWS:], group,
                            _row_text(row, page_lines, page_text)))
    return out


def _next_is_data(following: list[list]) -> bool:
    return bool(following) and any(_is_number(c[2]) for c in following[0][1:])


def _block_label(label_cells: list, following: list[list]) -> bool:
    """A first label cell is a block label (it spans the rows below) when the next row with a value has no
    cell starting under it; it is the method's own column when the next row has one there too."""
    for cells in following:
        if any(_is_number(c[2]) for c in cells):
            return not any(abs(c[0] - label_cells[0][0]) <= 5 for c in cells[:1])
    return False


def _value_columns(data: list[_DataRow]) -> list[tuple[float, float]]:
    columns: list[list[float]] = []
    for cell in sorted((c for d in data for c in d.values if _is_number(c[2])), key=lambda c: c[0]):
        if columns and cell[0] <= columns[-1][1] + 1:
            columns[-1][1] = max(columns[-1][1], cell[1])
        else:
            columns.append([cell[0], cell[1]])
    return [(a, b) for a, b in columns]


def _rows_of_table(rows: list[list[_Line]], number: str, page_no: int, caption: str, page_text: str,
                   own: list[str], page_lines: list[_Line]) -> tuple[list[ResultRow], str]:
    """The table's result rows, or ([], why) when it is not a result table."""
    data = _table_cells(rows, page_text, page_lines)
    columns = _value_columns(data)
    cells: list[tuple[_DataRow, str, str, list[str]]] = []  # (row, row label, value, column labels)
    text_cells = 0
    for d in data:
        method = collapse(" ".join(c[2] for c in d.labels))
        if not method or not re.search(r"[A-Za-z]", method):
            continue  # a malformed row: numbers without a name
        for x0, x1, text, _bold, _words in d.values:
            if not _is_number(text):  # a dash (no result) or a word inside the values
                text_cells += text not in _DASHES
                continue
            if not numbers_in(text) <= numbers_in(page_text) or not quote_on_page(text, page_text):
                continue  # a value the page's text does not state
            cells.append((d, method, text, column_labels(d.header, x0, x1, columns)))
    labels = [label for *_, col in cells for label in col]
    why = non_result(caption, labels, [c[2] for c in cells], text_cells)
    if why:
        return [], why
    flip = transposed([c[1] for c in cells], [col for *_, col in cells if col], own)
    out: list[ResultRow] = []
    for d, method, value, col in cells:
        if flip:  # methods are the columns: the row label is the benchmark or the metric
            name = " ".join(c for c in col if not is_metric(c)) or method
            benchmark, metric, setting = split_labels([d.group] + [c[2] for c in d.labels], caption)
            metric = metric or next((c for c in col if is_metric(c)), "")
            method, group = name, ""
        else:
            benchmark, metric, setting = split_labels(col, caption)
            group = d.group
            if len(d.labels) >= 2:  # "BLIP | 129M": the method, then its size or setting
                method = d.labels[0][2]
                setting = ", ".join(x for x in [collapse(" ".join(c[2] for c in d.labels[1:])), setting] if x)
        out.append(ResultRow(method, benchmark, metric, value, number, page_no, caption, names_own(method, own),
                             d.row_text, group, setting))
    return out, ""


# =========================================================================== a paper


def extract_tables(pdf: Path, title: str = "", abstract: str = "") -> PaperTables:
    """Result rows of every captioned table in the PDF. Never raises: a failure becomes a note."""
    found = PaperTables()
    names = own_names(title, abstract)
    try:
        doc = open_pdf(pdf)
    except Exception as exc:  # noqa: BLE001 - a damaged or moved PDF gives no tables, not an error
        found.notes.append(f"PDF unreadable: {exc}")
        return found
    with doc:
        for index in range(doc.page_count):
            try:
                page = doc[index]
                lines = _page_lines(page)
                page_text = "\n".join(ln.text for ln in lines)
                captions = [ln for ln in lines if CAPTION.match(ln.text)]
                used: set[int] = set()  # lines already in a table: two captions never share one
                for cap in captions:
                    cap_lines = _caption_block(cap, lines)
                    stops = [c.y0 for c in captions if c is not cap]
                    rows = [r for r in _table_rows(cap, cap_lines, lines, page.rect.width, stops)
                            if not any(ln.order in used for ln in r)]
                    used.update(ln.order for r in rows for ln in r)
                    number = CAPTION.match(cap.text).group(1)
                    caption = collapse(" ".join(ln.text for ln in cap_lines))[:MAX_CAPTION]
                    table_rows, why = _rows_of_table(rows, number, index + 1, caption, page_text, names, lines)
                    if why:
                        found.skipped.append(f"Table {number} p.{index + 1}: {why}")
                    if table_rows:
                        found.tables += 1
                        found.rows += table_rows
            except Exception as exc:  # noqa: BLE001 - one bad page must not cost the others
                found.notes.append(f"page {index + 1}: {exc}")
    return found


def _caption_block(cap: _Line, lines: list[_Line]) -> list[_Line]:
    """The caption's lines: the caption line and the lines that follow it in text order, close below it."""
    out = [cap]
    for line in lines[cap.order + 1 :]:
        if line.prose is False and len(line.text.split()) < 4 and not line.text.rstrip().endswith("."):
            break
        if line.y0 - out[-1].y1 > 4 or abs(line.x0 - cap.x0) > 40 or len(out) >= 8:
            break
        out.append(line)
    return out


# =========================================================================== cache


def paper_tables(settings: Settings, record: PaperRecord) -> PaperTables:
    """The paper's result rows, from the cache beside the index when it holds this PDF's."""
    cache = settings.index_dir / "tables" / f"{safe_key(record.paper_id)}.{versions.TABLES}.{record.sha256[:12]}.json"
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return PaperTables(data["tables"], [ResultRow(**r) for r in data["rows"]], data["notes"], data["skipped"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if not record.file:
        return PaperTables(notes=["no PDF stored for this paper"])
    found = extract_tables(settings.home / record.file, record.title, record.meta.abstract or "")
    try:
        atomic_write_json(cache, {"tables": found.tables, "rows": [r.to_dict() for r in found.rows],
                                  "notes": found.notes, "skipped": found.skipped}, indent=None)
        stale = re.compile(rf"{re.escape(safe_key(record.paper_id))}\.[^.]+\.[0-9a-f]{{12}}\.json")
        for other in cache.parent.iterdir():
            if other != cache and stale.fullmatch(other.name):
                other.unlink(missing_ok=True)
    except OSError:  # a read-only home still answers
        log.debug("tables cache of %s not written", record.paper_id)
    return found
