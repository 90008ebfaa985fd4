"""The reference section of a parsed PDF, cut into the printed text of each entry.

The section starts under a references heading (styled or not) and ends at the next section
heading, a figure or table caption, an appendix line, a page or column of text that starts
no entry, or three entries in a row without a year, id or link. Lines are read per page in
bands and columns (two-column lists, lists over several pages); PyMuPDF's pieces of one
printed line are joined, running headers and page numbers dropped. Entries start at a
label ([12], 12.) counting up, else at a hanging indent, else after wider spacing.
Used by index.references; imports nothing from the index but the parsed PDF's types.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveyor.sources.identity import NEW_ID, OLD_ID
from surveyor.textnorm import collapse

if TYPE_CHECKING:
    from surveyor.index.pdfparse import Block, ParsedPdf

_HEADING = re.compile(r"^(?:[\dIVX]+\.?\s*)?(?:references|bibliography|literature cited|works cited|"
                      r"references and notes|cited literature)\s*:?$", re.IGNORECASE)
_STYLED_HEADING = re.compile(r"^(?:[\dIVX]+\.?\s*)?reference$", re.IGNORECASE)  # only styled: a table says it too
_BACK_MATTER = re.compile(r"^(?:appendix|appendices|supplementary|supplemental)\b", re.IGNORECASE)
_FLOAT = re.compile(r"^(?:Table|Figure|Fig\.)\s*[A-Z]?\d+\s*[:.|]")  # a caption: the list is over
BRACKET = re.compile(r"^\[(\d{1,4}|[A-Za-z][\w+.\-]{0,20})\]\s*")
DOTTED = re.compile(r"^(\d{1,4})\.\s+(?=\S)")
_BARE = re.compile(r"^(\d{1,4})\s+(?=[A-Z\u00C0-\u024F])")
YEAR = re.compile(r"(?<![\d.:/])((?:18[5-9]|19\d|20[0-4])\d)[a-z]?(?![\d])")
ARXIV = re.compile(rf"\b(?:(?:arxiv(?:\.org)?(?:/(?:abs|pdf))?|corr\s*,?\s*abs|abs)\s*[:/\-]?\s*)+"
                    rf"(?P<id>{NEW_ID}|{OLD_ID})(?:v\d+)?", re.IGNORECASE)
DOI = re.compile(r"\b(?:doi\s*:?\s*|https?://(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/[^\s\"<>,;]+)", re.IGNORECASE)
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


# --------------------------------------------------------------------------- the reference section's lines


@dataclass
class _Line:
    run: tuple[int, int, int]  # page, band, column: lines of one run share a left edge
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


def _running_lines(parsed: ParsedPdf) -> set[str]:
    """Page headers and footers: text (digits masked) printed in a page margin on three or more pages."""
    pages: defaultdict[str, set[int]] = defaultdict(set)
    for page in parsed.pages:
        top, bottom = page.height * 0.09, page.height * 0.91
        for block in page.blocks:
            for line in block.lines:
                if line.y1 <= top or line.y0 >= bottom:
                    pages[_mask(line.text)].add(page.number)
    return {key for key, found in pages.items() if len(found) >= 3 and re.search(r"[a-z]{3}", key)}


def _mask(text: str) -> str:
    return re.sub(r"\d+", "#", collapse(text).lower())


def _ends_region(block: Block) -> bool:
    """A section heading after the list: styled, and without the commas and quotes of a reference line
    that the parser took for a heading ("D. Hendrycks, C. Burns, ...")."""
    if len(block.text) < 80 and _BACK_MATTER.match(block.text) or _FLOAT.match(block.text):
        return True
    return block.is_heading and not re.search(r"[,;“”\"]", block.text)


def _reading_positions(parsed: ParsedPdf) -> list[tuple[tuple[int, int, int], Block]]:
    """Every block with its place (page, band, column), in reading order. A page is read in two columns when
    its lines sit left or right of the middle; there, full-width blocks cut it into bands, each band read left
    column first (the parser's own order may put a tall right-column block first)."""
    placed: list[tuple[tuple[int, int, int, float], Block]] = []
    for page in parsed.pages:
        mid = page.width / 2
        lines = [ln for block in page.blocks for ln in block.lines]
        left = sum(1 for ln in lines if ln.x1 <= mid + 12)
        right = sum(1 for ln in lines if ln.x0 >= mid - 12)
        two_columns = left >= 3 and right >= 3 and len(lines) - left - right <= max(3, len(lines) // 5)
        band = 0
        for block in sorted(page.blocks, key=lambda b: b.bbox[1]):
            if not two_columns:
                placed.append(((page.number, 0, 0, block.bbox[1]), block))
            elif block.bbox[0] < mid - 12 and block.bbox[2] > mid + 12:
                placed.append(((page.number, band + 1, 0, block.bbox[1]), block))
                band += 2
            else:
                placed.append(((page.number, band, int(block.bbox[0] >= mid - 12), block.bbox[1]), block))
    placed.sort(key=lambda item: item[0])
    return [(place[:3], block) for place, block in placed]


def _regions(parsed: ParsedPdf) -> list[list[tuple[tuple[int, int, int], Block, int]]]:
    """Runs of blocks under a references heading, up to the next section heading: (place, block, first line)."""
    regions: list[list[tuple[tuple[int, int, int], Block, int]]] = []
    current: list | None = None
    for place, block in _reading_positions(parsed):
        first = block.lines[0].text.strip() if block.lines else block.text
        if _HEADING.match(block.text.strip()) or (block.is_heading and _STYLED_HEADING.match(block.text.strip())):
            current = []
            regions.append(current)
            continue
        if _HEADING.match(first) and len(block.lines) > 1:  # an unstyled heading glued to the first entries
            current = []
            regions.append(current)
            current.append((place, block, 1))
            continue
        if current is None:
            continue
        if _ends_region(block):
            current = None
            continue
        current.append((place, block, 0))
    return [r for r in regions if r]


def _region_lines(region: list[tuple[tuple[int, int, int], Block, int]], running: set[str]) -> list[_Line]:
    """The region's lines in reading order, pieces of one printed line joined, page headers and numbers dropped."""
    lines = []
    for place, block, skip in region:
        for line in block.lines[skip:]:
            text = line.text.strip()
            if text and not re.fullmatch(r"[\d\s]{1,4}", text) and _mask(text) not in running:
                lines.append(_Line(place, line.x0, line.y0, line.x1, line.y1, text))
    lines.sort(key=lambda ln: (ln.run, ln.y0, ln.x0))
    return _join_pieces(lines)


def _join_pieces(lines: list[_Line]) -> list[_Line]:
    """PyMuPDF may cut one printed line in pieces (a label in its own box, a wide space): join those at one height."""
    out: list[list[_Line]] = []
    for line in lines:
        group = out[-1] if out else None
        if group and group[0].run == line.run and abs(line.y0 - group[0].y0) < 0.5 * group[0].height:
            group.append(line)
        else:
            out.append([line])
    joined = []
    for group in out:
        group.sort(key=lambda ln: ln.x0)
        first = group[0]
        joined.append(_Line(first.run, first.x0, min(g.y0 for g in group), max(g.x1 for g in group),
                            max(g.y1 for g in group), " ".join(g.text for g in group)))
    return joined


# --------------------------------------------------------------------------- lines into entries


def _numbered_starts(lines: list[_Line]) -> list[bool] | None:
    """Entry starts in a numbered list: '[12]' at a line start, or '12.' / '12 ' counting up by one."""
    bracket = [bool(BRACKET.match(ln.text)) for ln in lines]
    if sum(bracket) >= 3 and sum(bracket) >= len(lines) / 12:
        return bracket
    for pattern in (DOTTED, _BARE):
        starts, expected = [False] * len(lines), None
        for i, ln in enumerate(lines):
            match = pattern.match(ln.text)
            if match and (expected is None and int(match[1]) <= 2 or int(match[1]) == expected):
                starts[i], expected = True, int(match[1]) + 1
        if sum(starts) >= 3 and sum(starts) >= len(lines) / 12:
            return starts
    return None


def _runs(lines: list[_Line]) -> list[list[int]]:
    """Indices of lines per run (page, band, column)."""
    runs: dict[tuple[int, int, int], list[int]] = {}
    for i, ln in enumerate(lines):
        runs.setdefault(ln.run, []).append(i)
    return list(runs.values())


def _layout_starts(lines: list[_Line]) -> tuple[list[bool], bool]:
    """Entry starts from the layout: a hanging indent (first line out, the rest in), else a wider gap above;
    and whether the indent told."""
    starts = [False] * len(lines)
    runs = _runs(lines)
    indented = total = 0
    for run in runs:
        left = min(lines[i].x0 for i in run)
        indented += sum(1 for i in run if 3 <= lines[i].x0 - left <= 40)
        total += len(run)
    if total and indented >= 0.15 * total:
        lefts = {run[0]: min(lines[i].x0 for i in run) for run in runs}
        steps = Counter(round(lines[i].x0 - lefts[run[0]]) for run in runs for i in run
                        if 3 <= lines[i].x0 - lefts[run[0]] <= 40)
        step = steps.most_common(1)[0][0]
        for run in runs:
            left = lefts[run[0]]
            for i in run:
                starts[i] = lines[i].x0 - left < 2.5
            column = lines[run[0]].run[2]
            if all(starts[i] for i in run) and any(  # only continuation lines: another run of this column
                    lines[other[0]].run[2] == column and abs(lefts[other[0]] + step - left) < 2.5 for other in runs):
                for i in run:
                    starts[i] = False
        return starts, True
    gaps = [lines[b].y0 - lines[a].y1 for run in runs for a, b in zip(run, run[1:])]
    if len(gaps) >= 3:
        usual, wide = statistics.median(gaps), sorted(gaps)[int(0.9 * (len(gaps) - 1))]
        if wide - usual >= 1.5:  # two kinds of spacing: inside an entry and between entries
            cut = (usual + wide) / 2
            for run in runs:
                for a, b in zip(run, run[1:]):
                    starts[b] = lines[b].y0 - lines[a].y1 > cut
            return starts, False
    # Neither indent nor spacing: an entry ends with a period and the next line starts with a capital.
    for i in range(1, len(lines)):
        starts[i] = lines[i - 1].text.rstrip().endswith(".") and lines[i].text[:1].isupper()
    return starts, False


def _complete(text: str) -> bool:
    return bool(YEAR.search(text)) and text.rstrip().endswith((".", ")")) and len(text) > 40


def _entries(lines: list[_Line]) -> list[str]:
    numbered = _numbered_starts(lines)
    starts, by_indent = (numbered, True) if numbered else _layout_starts(lines)
    runs = Counter(ln.run for ln in lines)
    runs_with_starts = {ln.run for ln, start in zip(lines, starts) if start}
    entries: list[list[str]] = []
    previous: _Line | None = None
    for line, start in zip(lines, starts):
        new_run = previous is not None and line.run != previous.run
        if new_run and not start and entries and _complete(" ".join(entries[-1])):
            if line.run not in runs_with_starts and runs[line.run] >= 4:
                break  # a page or column of text that starts no entry, after a finished one: the list is over
            if not by_indent and line.text[:1].isupper():
                start = True  # spacing alone cannot tell whether a column starts with a new entry
        if start or not entries:
            entries.append([line.text])
        else:
            entries[-1].append(line.text)
        previous = line
    return [_join(parts) for parts in entries]


def _join(parts: list[str]) -> str:
    text = ""
    for part in parts:
        if text.endswith("-") and part[:1].islower() and not re.search(r"(?:https?://|www\.)\S*$", text):
            text = text[:-1] + part
        elif text.endswith(("/", "-")):
            text += part
        else:
            text = f"{text} {part}" if text else part
    return collapse(text)


def _reference_like(text: str) -> bool:
    return 20 <= len(text) and bool(YEAR.search(text) or ARXIV.search(text) or DOI.search(text)
                                           or URL.search(text))


def _list_part(texts: list[str]) -> list[str]:
    """The entries up to where the list ends: three entries in a row without a year, an id or a link
    (an appendix that no heading announced); a lone odd entry inside the list is kept as printed."""
    end = misses = 0
    for i, text in enumerate(texts):
        if _reference_like(text):
            end, misses = i + 1, 0
        else:
            misses += 1
            if misses >= 3:
                break
    return texts[:end]


def entry_texts(parsed: ParsedPdf) -> list[str] | None:
    """The printed text of every entry, in order; None when the paper has no references heading."""
    regions = _regions(parsed)
    if not regions:
        return None
    running = _running_lines(parsed)
    texts: list[str] = []
    for region in regions:
        lines = _region_lines(region, running)
        if lines:
            texts.extend(_list_part(_entries(lines)))
    return texts
