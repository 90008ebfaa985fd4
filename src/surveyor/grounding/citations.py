"""The one citation format, `[<paper id> p.<page>]` (optionally `eq.(<n>)`, or ` Table <k>` for a value read
from a result table on that page), and its one parser.

Writers emit tags with `format_citation`; every reader of a tag (the support checker,
the renderer's page links, tests) parses it with `parse_citations`. Small models also
write looser forms ("[2301.01234, p. 3]", "[Passage 2]", "[2]"): `parse_tags` reads
those too so a reply can be checked, but nothing this package writes uses them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from surveyor.textnorm import collapse

# [1707.06347 p.3], [doc-ab12cd p.2], [hep-th/9901001 p.1 eq.(4)], [1910.01108 p.3 Table 1]
CITATION = re.compile(r"\[(?P<id>[A-Za-z0-9][\w.\-/]*?)\s+p\.\s*(?P<page>\d+)(?:\s+eq\.\((?P<eq>[^)\]]*)\))?"
                      r"(?:\s+Table\s+(?P<table>[A-Z]?\d+))?\]")
# An arXiv-like id with an optional page in looser spelling: [2301.01234, p. 3], [2301.01234v2 page 3].
_LOOSE = re.compile(r"\[(?P<id>\d{4}\.\d{4,5}|doc-[0-9a-f]{6,}|[a-z\-]+/\d{7})(?:v\d+)?"
                    r"(?:[,;]?\s*(?:p|pp|page)\.?\s*(?P<page>\d+))?[^\]]{0,20}\]")
# Any tag a model may write: one with a page, or passage numbers ([2], [Passage 2], [1, 3]).
_ANY_TAG = re.compile(r"\[(?:[^\[\]]{0,60}?\bp(?:age|\.)?\s*\d+|\s*(?:passage\s*)?\d{1,2}(?:\s*[,;]\s*\d{1,2})*\s*)\]",
                      re.IGNORECASE)
_ARXIV_ID = re.compile(r"\b(?:\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+/\d{7})\b")
_BRACKET = re.compile(r"\[([^\[\]]{1,80})\]")
_PASSAGE_NUMBER = re.compile(r"^\s*(?:passage\s*)?(\d{1,2})\s*$", re.IGNORECASE)
_ID_PAGE = re.compile(r"^\s*(\S+?)[,;\s]+p(?:age|\.|p\.)?\s*(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Citation:
    paper_id: str
    page: int
    equation: str | None = None
    table: str | None = None

    def __str__(self) -> str:
        return format_citation(self.paper_id, self.page, self.equation, self.table)


def format_citation(paper_id: str, page: int, equation: str | None = None, table: str | None = None) -> str:
    """'[1707.06347 p.3]', '[1707.06347 p.3 eq.(7)]' for a numbered equation, '[1910.01108 p.3 Table 1]' for a
    value of a result table."""
    eq = f" eq.({equation})" if equation is not None else ""
    tab = f" Table {table}" if table is not None else ""
    return f"[{paper_id} p.{page}{eq}{tab}]"


def parse_citations(text: str, loose: bool = False) -> list[Citation]:
    """Citations in the text, in order. `loose` also reads id-with-page spellings other than ours
    (page 0 when a loose tag names no page)."""
    found = [(m.start(), Citation(m.group("id"), int(m.group("page")), m.group("eq"), m.group("table")))
             for m in CITATION.finditer(text)]
    if loose:
        found += [(m.start(), Citation(m.group("id"), int(m.group("page") or 0)))
                  for m in _LOOSE.finditer(text) if not CITATION.fullmatch(m.group(0))]
    return [c for _, c in sorted(found, key=lambda item: item[0])]


def parse_tags(sentence: str) -> list[int | Citation]:
    """Every tag of a model's sentence: passage numbers as ints ([2], [Passage 2]), id+page as Citations."""
    out: list[int | Citation] = []
    for inner in _BRACKET.findall(sentence):
        for part in re.split(r"[;]|\]\s*\[", inner):
            number = _PASSAGE_NUMBER.match(part)
            id_page = _ID_PAGE.match(part)
            if number:
                out.append(int(number.group(1)))
            elif id_page:
                out.append(Citation(re.sub(r"v\d+$", "", id_page.group(1).strip("[]()")), int(id_page.group(2))))
    return out


def strip_citations(sentence: str) -> str:
    """The claim without its citation tags ('[1707.06347 p.3]', '[2]') and inline arXiv ids."""
    return collapse(_ARXIV_ID.sub(" ", _ANY_TAG.sub(" ", _LOOSE.sub(" ", CITATION.sub(" ", sentence)))))


def has_tag(text: str) -> bool:
    """True when the text holds a bracketed tag of any form."""
    return bool(_BRACKET.search(text))


def cited_claims(markdown_text: str) -> list[tuple[str, str, int]]:
    """(claim, cited id, page) for every citation tag of a survey's or digest's Markdown (equation and table tags
    excluded: a crop shows an equation, and a table value is checked on its page by `table_cells`).

    A claim is the text between the previous tag (or the start of its line or table cell) and its
    tag, without Markdown labels and quotation marks. Used by the benchmark and the tests to
    re-check a finished survey independently of support.json.
    """
    out: list[tuple[str, str, int]] = []
    in_math = False
    for line in markdown_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("$$") or stripped.startswith("```"):
            if not (stripped.startswith("$$") and stripped.endswith("$$") and len(stripped) > 4):
                in_math = not in_math
            continue
        if in_math or stripped.startswith("#") or stripped.startswith("!["):
            continue
        cells = re.split(r"(?<!\\)\|", stripped) if stripped.startswith("|") else [stripped]
        for cell in cells:
            out += [(claim, m.group("id"), int(m.group("page"))) for claim, m in tagged_claims(cell)
                    if m.group("eq") is None and m.group("table") is None and claim]
    return out


def tagged_claims(text: str) -> list[tuple[str, re.Match]]:
    """(claim, tag match) for every citation tag of one line, table cell or paragraph, in order.

    The claim is what the tag cites: the text since the previous tag, cleaned as `cited_claims`
    says; a tag right after another tag cites the same claim; an equation or table tag's claim is "".
    The renderer links each tag to its page with this claim highlighted.
    """
    out: list[tuple[str, re.Match]] = []
    previous_claim, position = "", 0
    for match in CITATION.finditer(text):
        segment = text[position:match.start()]
        position = match.end()
        if match.group("eq") is not None or match.group("table") is not None:
            out.append(("", match))
            previous_claim = ""
            continue
        claim = _clean_claim(segment)
        if not re.sub(r"[\s.,;:—–-]", "", segment):  # "claim [a p.1] [b p.2]": both cite it
            claim = previous_claim
        out.append((claim, match))
        previous_claim = claim or previous_claim
    return out


def _clean_claim(segment: str) -> str:
    text = _unescape(segment)
    quoted = re.search(r"“(.*)”", text)  # greedy: a quote may itself contain “quoted” words
    if quoted:  # a verbatim quote is exactly the claim; labels and titles before it are not
        return collapse(quoted.group(1).replace("…", " "))
    text = re.sub(r"\*\*[^*]{1,60}\*\*", " ", text)             # **Label.**
    text = re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", " ", text)          # list markers
    text = re.sub(r"\*[^*]{0,80}\*", " ", text)                   # *Title (year)* notes
    text = text.replace("“", " ").replace("”", " ").replace("…", " ")
    text = re.sub(r"^\s*(?:[.;,:—–-]\s*)+", "", text)
    text = re.sub(r"^\s*(?:Where|Caption):\s*", "", text)
    return collapse(text).strip(" —–-")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def table_cells(markdown_text: str) -> list[tuple[str, Citation]]:
    """(value, citation) for every table-cited value of a Markdown text: the number just before a
    `[id p.N Table k]` tag (a survey's results table writes "77.0 [1910.01108 p.6 Table 2]")."""
    out = []
    for match in CITATION.finditer(markdown_text):
        if match.group("table") is None:
            continue
        before = re.search(r"([-−+]?\d[\d.,]*\s*%?)[^\d\[\]|]{0,3}$", markdown_text[max(0, match.start() - 40):match.start()])
        if before:
            out.append((before.group(1).strip(), Citation(match.group("id"), int(match.group("page")), None,
                                                           match.group("table"))))
    return out
