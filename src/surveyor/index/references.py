"""A paper's reference list as structured entries, and the matcher that links them to corpus papers.

At ingest, `extract_references(parsed)` turns the reference section of the parsed PDF
(index.reflist finds it and cuts it into entries) into `Reference`s: the raw text as printed,
and what can be read from it: label, authors, title, year, venue, arXiv id and DOI. A paper
without a references heading gives an empty list and a note; an entry that cannot be read is
kept as printed with empty fields. Nothing here raises on odd input.

`CorpusIndex.match` links an entry to a corpus paper by the arXiv id it prints, else by an
exact title key (`title_key`: NFKC, lower case, only letters and digits) equal to the parsed
title or to a run of whole sentences of the entry. Titles two corpus papers share, titles
under 15 key characters and self-citations never match: precision first. A near-exact rule
was measured and left out: no unmatched entry of the 74 corpus papers came within 0.85
similarity (difflib) of a corpus title, so it could only add false edges.

Why this parser and not `refextract` (PyPI 1.1.7; it installs offline, but needs pdftotext or
text, and brings inspire-utils, lxml, python-magic, pypdf): both measured with this matcher
on ../shared/eval/dev_citations.jsonl (16 papers, 18 edges; bench/citations.py):
  - this parser: precision 1.000, recall 1.000; 864 entries for the 16 papers (the printed
    lists: 2203.02155 has 91, 1909.10351 has 51); 5421 entries over all 74 corpus papers,
    134 of them matched to a corpus paper (131 edges); 0.03 s per paper on top of the
    ingest's own parse (0.2 s), re-using its lines.
  - refextract on PyMuPDF's text: precision 1.000, recall 1.000, but 1829 entries for the
    16 papers (402 for the 91 of 2203.02155: author-year entries cut at line ends), no title
    field, and 6.1 s per paper (up to 45 s), which an ingest cannot pay.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from surveyor.index.reflist import ARXIV, BRACKET, DOI, DOTTED, URL, YEAR, entry_texts
from surveyor.sources.identity import NEW_ID, OLD_ID
from surveyor.textnorm import collapse, match_key

if TYPE_CHECKING:
    from surveyor.index.pdfparse import ParsedPdf

NO_SECTION = "no reference section found"
PARSER_VERSION = "1"  # stored with each reference list: a list read by an older parser is read again

# "Authors. Title. Venue": a period ends a part unless it ends an initial ("J.", "M.-H.") or a common abbreviation.
_STOP = re.compile(r"[.?!]\s+|[“”\"]|\bet\.? al\.?,?\s+")
_NOT_AN_END = re.compile(r"(?:^|[\s.\-(])(?:[A-Z]|vs|Jr|Sr|St|Dr|Mr|Ms|no|No|pp|Vol|vol|Proc|Conf|Int|eds?|Eds?|e\.g|i\.e)$")
_BACKREFS = re.compile(r"(?:\s*\(?(?:cited|↑)\s*(?:on\s*)?(?:pages?|p\.)?\s*[\d,\s–\-and]+\)?\.?\s*$)|"
                       r"(?<=\.)\s+\d{1,3}(?:\s*,\s*\d{1,3})*\s*$", re.IGNORECASE)
# "Schulman, J., Wolski, F., and Klimov, O." (or "Wang, L.; Xu, W."): the list ends at its last initial.
_APA_AUTHOR = re.compile(r"\s*(?:and\s+|&\s*)?[^\s,.;:()“”\"\d][^,.;:()“”\"\d]{0,40},\s+"
                         r"(?:[A-Za-z\u00C0-\u024F]{1,2}\.\s?(?:-\s?)?)+[,;]?")
_ET_AL = re.compile(r"\s*(?:et\.? al\.?|and others\.?)")


def _apa_authors_end(body: str) -> int | None:
    """Where a "Surname, I." author list ends, if the entry starts with one."""
    pos = 0
    while (item := _APA_AUTHOR.match(body, pos)) and item.end() > pos:
        pos = item.end()
    if pos and (more := _ET_AL.match(body, pos)):
        pos = more.end()
    if pos and body[pos:pos + 1] == ":":  # Springer: "Touvron, H., Cord, M.: Title"
        pos += 1
    return pos if pos and (body[pos - 1] == " " or body[pos:pos + 1] == " ") and len(body) - pos > 8 else None


_VENUE_START = re.compile(r"^(?:in\b|in:|arxiv\b|proceedings\b|advances in\b|journal\b|transactions\b|corr\b|"
                          r"preprint\b|technical report\b|openreview\b|url\b|(?:19|20)\d\d\b)", re.IGNORECASE)


@dataclass
class Reference:
    """One entry of a reference list; `raw` is the entry as printed, the rest is parsed from it (may be None)."""
    ordinal: int
    raw: str
    label: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    page: int | None = None  # the citing paper's page where the entry starts (entry_page); None when not found

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ReferenceList:
    entries: list[Reference]
    note: str | None = None


# --------------------------------------------------------------------------- one entry into fields


def _clean_id(raw: str) -> str:
    return raw.rstrip(".")


def parse_entry(text: str, ordinal: int = 1) -> Reference:
    """Fields of one printed reference; whatever cannot be read stays None, the raw text is always kept."""
    raw = collapse(text)
    body = _BACKREFS.sub("", raw).strip()
    label = None
    match = BRACKET.match(body) or DOTTED.match(body)
    if match:
        label, body = match[1], body[match.end():]
    ref = Reference(ordinal=ordinal, raw=raw, label=label)
    found = ARXIV.search(body)
    if found:
        ref.arxiv_id = _clean_id(found["id"])
    doi = DOI.search(body)
    if doi:
        ref.doi = doi["doi"].rstrip(".)]")
        if not ref.arxiv_id and (inner := re.search(rf"10\.48550/arxiv\.({NEW_ID})", ref.doi, re.IGNORECASE)):
            ref.arxiv_id = inner[1]
    plain = URL.sub(" ", body)
    plain = ARXIV.sub(" ", plain)
    plain = DOI.sub(" ", plain)
    plain = re.sub(r"([.,;])(?:\s*[.,;])+", r"\1", re.sub(r"\s+([,.;])", r"\1", collapse(plain)))
    authors, title, venue, year = _split_parts(plain)
    ref.title, ref.venue, ref.year = title, venue, year
    ref.authors = _split_authors(authors) if authors else []
    return ref


def _split_parts(body: str) -> tuple[str | None, str | None, str | None, int | None]:
    """(authors, title, venue, year) of a reference without its label, ids and links."""
    quoted = re.search(r"[“\"](.{8,}?)[,.]?[”\"]", body)
    if quoted:
        rest = body[quoted.end():].strip(" ,.")
        return body[:quoted.start()].strip(" ,."), quoted[1].strip(" ,."), rest or None, _year(rest or body)
    paren = re.search(r"\(\s*((?:19|20)\d\d)[a-z]?\s*\)\.?", body)
    if paren and paren.start() < len(body) * 0.7:
        parts = _parts(body[paren.end():])
        return body[:paren.start()].strip(" ,."), _first(parts), _rest(parts), int(paren[1])
    after = re.search(r"\.\s+((?:19|20)\d\d)[a-z]?\.\s+", body)
    if after and after.start() < len(body) * 0.7:
        parts = _parts(body[after.end():])
        return body[:after.start()].strip(" ,."), _first(parts), _rest(parts), int(after[1])
    apa = _apa_authors_end(body)
    if apa:
        parts = _parts(body[apa:])
        return body[:apa].strip(" ,:"), _first(parts), _rest(parts), _year(body[apa:])
    colon = re.match(r"^(.{3,400}?(?:[A-Z]\.|et al\.)):\s+(.*)$", body)  # Springer: "Touvron, H., Cord, M.: Title."
    if colon:
        parts = _parts(colon[2])
        return colon[1].strip(" ,."), _first(parts), _rest(parts), _year(body)
    parts = _parts(body)
    if len(parts) < 2:
        return None, None, None, _year(body)
    return parts[0], _first(parts[1:]), _rest(parts[1:]), _year(" ".join(parts[1:]))


def _pieces(text: str, periods_only: bool = False) -> list[str]:
    """The text cut after each sentence end ('.', '?', '!' and a space, not after an initial) and at quotes."""
    pieces, start = [], 0
    for stop in _STOP.finditer(text):
        if periods_only and stop[0][0] in "?!“”\"":
            continue
        if stop[0][0] in ".?!" and _NOT_AN_END.search(text[:stop.start()]):
            continue
        pieces.append(text[start:stop.end()])
        start = stop.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


def _parts(text: str) -> list[str]:
    return [p.strip(" ,.") for p in _pieces(text, periods_only=True) if p.strip(" ,.")]


_TRAILING_YEAR = re.compile(r",\s*(?:[A-Za-z][\w\-']*\s+){0,3}(?:19|20)\d\d[a-z]?\.?\s*$")


def _first(parts: list[str]) -> str | None:
    """The title: the first part, less a trailing ', 2023' or ', NeurIPS 2022', and less a venue after a
    question mark ("Are we done with mmlu? ArXiv preprint")."""
    if not parts:
        return None
    title = _TRAILING_YEAR.sub("", parts[0])
    for mark in re.finditer(r"[?!]\s+", title):
        if _VENUE_START.match(title[mark.end():]):
            title = title[:mark.start() + 1]
            break
    return title.strip(" ,.") or None


def _rest(parts: list[str]) -> str | None:
    rest = ". ".join(parts[1:]).strip(" ,.")
    return rest or None


def _year(text: str) -> int | None:
    years = YEAR.findall(text)
    return int(years[-1]) if years else None


def _split_authors(text: str) -> list[str]:
    text = re.sub(r",?\s+(?:et\.? al\.?|and others)$", "", text.strip(), flags=re.IGNORECASE)
    if len(text) > 3000:
        return []
    if re.search(r"(?:^|[\s.\-])[A-Z]$", text):  # the list's last initial lost its period with the title's
        text += "."
    # "Schulman, J., Wolski, F., and Klimov, O." pairs surname and initials; "John Schulman, Filip Wolski" does not.
    items, pos = [], 0
    while (item := _APA_AUTHOR.match(text, pos)) and item.end() > pos:
        items.append(re.sub(r"^\s*(?:and\s+|&\s*)", "", item[0]).strip(" ,;"))
        pos = item.end()
    if items and pos >= len(text.rstrip(" .")):
        return items
    return [p.strip() for p in re.split(r",\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*|;\s*", text) if p.strip()]


# --------------------------------------------------------------------------- the whole list


def extract_references(parsed: ParsedPdf) -> ReferenceList:
    """The paper's reference list(s) as entries in printed order. Never raises on odd input: a list that
    cannot be parsed gives raw entries, a paper without a references heading an empty list and a note."""
    try:
        texts = entry_texts(parsed)
    except Exception as exc:  # noqa: BLE001 - a layout this code never met must not stop an ingest
        return ReferenceList([], f"the reference list could not be read ({type(exc).__name__}: {exc})")
    if texts is None:
        return ReferenceList([], NO_SECTION)
    entries = []
    for text in texts:
        try:
            entries.append(parse_entry(text, len(entries) + 1))
        except Exception:  # noqa: BLE001 - a malformed entry is kept as printed, never a traceback
            entries.append(Reference(len(entries) + 1, collapse(text)))
    if not entries:
        return ReferenceList([], "a references heading but no entries under it")
    return ReferenceList(entries)


# --------------------------------------------------------------------------- matching keys


def title_key(text: str | None) -> str:
    """Lower case, NFKC, everything but letters and digits dropped: 'Deep reinforce-ment learning' matches."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum())


def candidate_keys(ref: Reference) -> set[str]:
    """Title keys a corpus paper's title must equal for a match: the parsed title, and each run of whole
    sentences of the entry (a title the parser cut wrongly is still a run of sentences)."""
    keys = {title_key(ref.title)} if ref.title else set()
    plain = DOI.sub(" ", ARXIV.sub(" ", URL.sub(" ", _BACKREFS.sub("", ref.raw))))
    pieces = _pieces(BRACKET.sub("", plain))
    for i in range(len(pieces)):
        run = ""
        for piece in pieces[i:i + 6]:
            run += piece
            keys.add(title_key(run))
            keys.add(title_key(_TRAILING_YEAR.sub("", run.rstrip())))
    return {k for k in keys if len(k) >= 12}


def bare_arxiv_id(text: str | None) -> str | None:
    match = re.fullmatch(rf"(?:arxiv:)?({NEW_ID}|{OLD_ID})(?:v\d+)?", (text or "").strip(), re.IGNORECASE)
    return match[1] if match else None


class CorpusIndex:
    """Corpus papers by arXiv id and by title key; a title two papers share matches neither."""

    MIN_TITLE_KEY = 15  # shorter titles ("Introduction", a guessed "Abstract") never match by title

    def __init__(self, papers: Iterable[tuple[str, str | None, str | None]] = ()):
        self.by_arxiv: dict[str, str] = {}
        self._titles: defaultdict[str, set[str]] = defaultdict(set)
        self._key_of: dict[str, str] = {}
        for paper_id, arxiv_id, title in papers:
            self.add(paper_id, arxiv_id, title)

    def add(self, paper_id: str, arxiv_id: str | None, title: str | None) -> None:
        """A paper, new or replacing its earlier entry."""
        if paper_id in self._key_of:
            self._titles[self._key_of.pop(paper_id)].discard(paper_id)
        bare = bare_arxiv_id(arxiv_id) or bare_arxiv_id(paper_id)
        if bare:
            self.by_arxiv[bare] = paper_id
        key = title_key(title)
        if len(key) >= self.MIN_TITLE_KEY and len((title or "").split()) >= 2:
            self._titles[key].add(paper_id)
            self._key_of[paper_id] = key

    def by_title(self, key: str) -> str | None:
        owners = self._titles.get(key)
        return next(iter(owners)) if owners and len(owners) == 1 else None

    def match(self, ref: Reference, citing: str | None = None) -> str | None:
        """The corpus paper a reference cites: by the arXiv id it prints, else by an exact title key
        (the parsed title, or a run of whole sentences of the entry). None when unsure."""
        found = self.by_arxiv.get(bare_arxiv_id(ref.arxiv_id) or "") if ref.arxiv_id else None
        if not found:
            hits = {owner for key in candidate_keys(ref) if (owner := self.by_title(key))}
            found = hits.pop() if len(hits) == 1 else None
        return found if found != citing else None


def page_keys(page_texts: list[str]) -> list[tuple[str, str]]:
    """Each page's match key, with and without hyphens: computed once per paper, not once per entry."""
    keys = [match_key(text) for text in page_texts]
    return [(key, key.replace("-", "")) for key in keys]


def entry_page(ref: Reference, pages: list[tuple[str, str]]) -> int | None:
    """The page (from 1) of the citing paper on which this entry is printed: the last page holding its title as
    printed (else the first eight words of the entry), up to case, spacing, ligatures and line-end hyphens.
    Reference lists sit at the end of a paper, so pages are searched from the back. `pages`: page_keys()."""
    probes = [p for p in (ref.title, " ".join(collapse(ref.raw).split(" ")[:8])) if p and len(p) >= 12]
    keys = [match_key(p) for p in probes]
    for key in keys:
        bare = key.replace("-", "")
        for number in range(len(pages), 0, -1):
            text, text_bare = pages[number - 1]
            if key in text or bare in text_bare:
                return number
    return None
