"""references.bib from catalog metadata, with citation keys that stay put across runs.

Every field comes from the paper's metadata (arXiv API, metadata.jsonl or the
PDF), never from a model. A key is `<first author's last name><year><first
title word>` (ascii, lower case), e.g. `schulman2017proximal`. Keys only ever
depend on the paper itself and on the keys handed out before (`previous`): a
paper keeps the key it had in an earlier references.bib, and a newcomer whose
key is taken gets a letter suffix (`b`, `c`, ...). Adding papers to a corpus
therefore never renames a key a reader may already have cited.

    keys = write_bib(papers, out / "references.bib", previous=read_keys(old / "references.bib"))
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import bibtexparser
from bibtexparser.model import Entry, Field

from surveyor.index.catalog import PaperRecord

_TITLE_SKIP = frozenset("a an the on of in for to and with towards toward via from is are do does how what why "
                        "when can".split())
_ID_FIELD = "surveyorid"  # papers without an arXiv id are matched back by this field


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def last_name(author: str) -> str:
    """'John Schulman' -> 'schulman'; 'Schulman, John' -> 'schulman'; particles kept ('van der Maaten' -> 'vandermaaten')."""
    author = " ".join(author.split())
    if "," in author:
        return _ascii_word(author.split(",", 1)[0])
    parts = author.split(" ")
    # Keep lower-case particles that precede the last name (van, von, de, der, ...).
    tail = [parts[-1]] if parts else []
    i = len(parts) - 2
    while i > 0 and parts[i][:1].islower():
        tail.insert(0, parts[i])
        i -= 1
    return _ascii_word("".join(tail))


def base_key(paper: PaperRecord) -> str:
    meta = paper.meta
    author = last_name(meta.authors[0]) if meta.authors else ""
    year = str(meta.year) if meta.year else "nd"
    word = ""
    for token in re.findall(r"[A-Za-z0-9][\w'-]*", meta.title or ""):
        candidate = _ascii_word(token)
        if candidate and token.lower() not in _TITLE_SKIP:
            word = candidate
            break
    if not author:
        author = "anon" if meta.title else _ascii_word(paper.paper_id) or "paper"
    return f"{author}{year}{word}"


def citation_keys(papers: Iterable[PaperRecord], previous: dict[str, str] | None = None) -> dict[str, str]:
    """paper_id -> key. Keys from `previous` (paper_id -> key) are kept; new papers avoid taken keys."""
    papers = sorted(papers, key=lambda p: ((p.meta.published or "9999"), p.paper_id))
    previous = previous or {}
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for paper in papers:  # first, every key a reader may already know
        old = previous.get(paper.paper_id)
        if old and old not in taken:
            keys[paper.paper_id] = old
            taken.add(old)
    # Keys of papers that left the corpus stay reserved, so they never come to mean another paper.
    taken.update(previous.values())
    for paper in papers:
        if paper.paper_id in keys:
            continue
        base = key = base_key(paper)
        suffix = ord("b")
        while key in taken:
            key = f"{base}{chr(suffix)}" if suffix <= ord("z") else f"{base}{suffix - ord('a')}"
            suffix += 1
        keys[paper.paper_id] = key
        taken.add(key)
    return keys


_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_SPECIAL.get(c, c) for c in " ".join(text.split()))


def arxiv_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def bib_entry(paper: PaperRecord, key: str) -> Entry:
    meta = paper.meta
    fields: list[Field] = [Field("title", "{" + latex_escape(meta.title or paper.paper_id) + "}")]
    if meta.authors:
        fields.append(Field("author", " and ".join(latex_escape(a) for a in meta.authors)))
    if meta.year:
        fields.append(Field("year", str(meta.year)))
    if paper.arxiv_id:
        fields += [Field("eprint", paper.arxiv_id), Field("archiveprefix", "arXiv")]
        if meta.categories:
            fields.append(Field("primaryclass", meta.categories[0]))
        fields.append(Field("url", arxiv_url(paper.arxiv_id)))
        if paper.version:
            fields.append(Field("note", f"arXiv:{paper.arxiv_id}v{paper.version}"))
    else:
        fields.append(Field("note", "No arXiv identifier: metadata from the PDF"))
        fields.append(Field(_ID_FIELD, paper.paper_id))
    return Entry("misc", key, fields)


def bib_string(papers: Iterable[PaperRecord], keys: dict[str, str]) -> str:
    library = bibtexparser.Library()
    for paper in sorted(papers, key=lambda p: keys[p.paper_id]):
        library.add(bib_entry(paper, keys[paper.paper_id]))
    return bibtexparser.write_string(library)


def write_bib(papers: list[PaperRecord], path: str | Path, previous: dict[str, str] | None = None,
              keys: dict[str, str] | None = None) -> dict[str, str]:
    """Write references.bib for `papers`; returns paper_id -> key (stable given `previous`)."""
    from surveyor.files import atomic_write_text

    keys = keys or citation_keys(papers, previous)
    atomic_write_text(path, bib_string(papers, keys))
    return keys


def read_keys(path: str | Path | None) -> dict[str, str]:
    """paper_id -> key from an earlier references.bib (missing or unreadable file: {})."""
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return {}
    library = bibtexparser.parse_string(text)
    out: dict[str, str] = {}
    for entry in library.entries:
        fields = {k.lower(): v.value for k, v in entry.fields_dict.items()}
        pid = fields.get(_ID_FIELD) or fields.get("eprint")
        if pid:
            out[str(pid).strip()] = entry.key
    return out
