"""`surveyor expand`: the works a topic's papers keep citing that the corpus lacks, fetched from arXiv.

    references of the topic's papers with no corpus match (catalog.refs)
      -> grouped into cited works: by the arXiv id printed in the entry, else by its normalised title
         (an id-less entry joins the id group whose title it shares)
      -> cited_by = how many distinct topic papers cite the work; only works cited by >= min_cited
      -> ranked by cited_by, then by year (newer first)
      -> resolved to arXiv, strictly: a printed id must be known to arXiv; otherwise an arXiv title
         search (`ti:"..."`) must return exactly one paper whose normalised title equals the entry's.
         None or two and more such papers = unresolved, listed with the reference as printed;
         nothing is ever guessed
      -> the top `max` resolved works downloaded and ingested (as `update` does, resumably).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from surveyor.errors import InputError
from surveyor.grow.state import topic_papers, update_lock
from surveyor.index.catalog import Catalog
from surveyor.index.references import bare_arxiv_id, title_key
from surveyor.settings import Settings
from surveyor.topics import Topic

MIN_TITLE_KEY = 12
"""A parsed title shorter than this (letters and digits) is too weak to search arXiv by."""

@dataclass
class Candidate:
    key: str
    arxiv_id: str | None       # printed in a citing entry
    title: str | None
    year: int | None
    citing: set[str] = field(default_factory=set)
    raw: str = ""
    status: str = "not tried"  # resolved | unresolved | in corpus | duplicate | not tried
    resolved_id: str | None = None
    how: str | None = None     # printed id | title search
    reason: str | None = None
    meta: Any = None           # arXiv's metadata once resolved

    def to_json(self) -> dict[str, Any]:
        return {"cited_by": len(self.citing), "citing": sorted(self.citing), "year": self.year, "title": self.title,
                "printed_id": self.arxiv_id, "reference": self.raw, "status": self.status,
                "arxiv_id": self.resolved_id, "how": self.how, "reason": self.reason}


@dataclass
class ExpandReport:
    topic: str
    dry_run: bool
    topic_papers: int
    candidates: list[Candidate] = field(default_factory=list)  # ranked, cited by >= min_cited
    fetched: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "dry_run": self.dry_run, "topic_papers": self.topic_papers,
                "candidates": [c.to_json() for c in self.candidates], "fetched": self.fetched,
                "added": self.added, "failed": self.failed}


def cited_works(settings: Settings, catalog: Catalog, topic: Topic) -> tuple[int, list[Candidate]]:
    """The topic's papers and the works they cite that the corpus lacks, grouped, most cited first."""
    members = [p.paper_id for p in topic_papers(catalog, settings, topic)]
    groups: dict[str, Candidate] = {}
    by_title: dict[str, str] = {}
    rows = catalog.unmatched_refs(members)
    # Entries with an id first, so an id-less entry of the same title joins that group.
    for row in sorted(rows, key=lambda r: bare_arxiv_id(r.ref.arxiv_id) is None):
        ref = row.ref
        printed = bare_arxiv_id(ref.arxiv_id)
        tkey = title_key(ref.title)
        if printed:
            key = f"arxiv:{printed}"
        elif len(tkey) >= MIN_TITLE_KEY:
            key = by_title.get(tkey, f"title:{tkey}")
        else:
            continue  # neither an id nor a searchable title: nothing to resolve by
        group = groups.setdefault(key, Candidate(key, printed, ref.title, ref.year, raw=ref.raw))
        group.citing.add(row.paper_id)
        if tkey and len(tkey) >= MIN_TITLE_KEY:
            by_title.setdefault(tkey, key)
        if group.year is None and ref.year:
            group.year = ref.year
    ranked = sorted(groups.values(), key=lambda c: (-len(c.citing), -(c.year or 0), c.key))
    return len(members), ranked


def _title_query(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return f'ti:"{" ".join(words)}"'


def resolve(source, candidates: list[Candidate], known: set[str], wanted: int, tries: int,
            say: Callable[[str], None]) -> None:
    """Resolve candidates in rank order until `wanted` new arXiv papers are found, trying at most `tries`."""
    window = candidates[:tries]
    printed = [c.arxiv_id for c in window if c.arxiv_id]
    metas = source.lookup(printed) if printed else {}
    found = 0
    chosen_ids: set[str] = set()
    for cand in window:
        if found >= wanted:
            break
        if cand.arxiv_id:
            meta = metas.get(cand.arxiv_id)
            if meta is None:
                cand.status, cand.reason = "unresolved", f"arXiv does not know {cand.arxiv_id}"
                continue
            cand.how = "printed id"
        else:
            say(f"searching arXiv for the title {cand.title!r}")
            hits = [m for m in source.search(_title_query(cand.title or ""), max_results=10)
                    if title_key(m.title) == title_key(cand.title)]
            if len(hits) != 1:
                cand.status = "unresolved"
                cand.reason = ("no arXiv paper has this title" if not hits else
                               f"{len(hits)} arXiv papers share this title ({', '.join(m.arxiv_id or '?' for m in hits)})")
                continue
            meta, cand.how = hits[0], "title search"
        cand.resolved_id = meta.arxiv_id
        cand.meta = meta
        if meta.arxiv_id in known or meta.arxiv_id in chosen_ids:
            cand.status = "in corpus" if meta.arxiv_id in known else "duplicate"
            continue
        cand.status = "resolved"
        chosen_ids.add(meta.arxiv_id or "")
        found += 1


def run_expand(settings: Settings, topic: Topic, max_n: int | None = None, min_cited: int | None = None,
               dry_run: bool = False, say: Callable[[str], None] | None = None) -> ExpandReport:
    say = say or (lambda message: None)
    max_n = settings.update.expand_max if max_n is None else max_n
    min_cited = settings.update.expand_min_cited if min_cited is None else min_cited
    if max_n < 1:
        raise InputError("--max must be at least 1")
    if min_cited < 1:
        raise InputError("--min-cited must be at least 1")
    if not (settings.index_dir / "catalog.sqlite").is_file():
        raise InputError(f"nothing ingested at {settings.home}: expand follows the references of ingested papers")
    if dry_run:
        return _expand(settings, topic, max_n, min_cited, True, say)
    with update_lock(settings):
        return _expand(settings, topic, max_n, min_cited, False, say)


def _expand(settings: Settings, topic: Topic, max_n: int, min_cited: int, dry_run: bool,
            say: Callable[[str], None]) -> ExpandReport:
    from surveyor.grow.fetching import fetch_and_ingest, known_ids
    from surveyor.sources.arxiv import ArxivSource

    catalog = Catalog(settings.index_dir)
    try:
        members, ranked = cited_works(settings, catalog, topic)
    finally:
        catalog.close()
    report = ExpandReport(topic.name, dry_run, members, [c for c in ranked if len(c.citing) >= min_cited])
    if not report.candidates:
        return report
    source = ArxivSource(settings.arxiv)
    resolve(source, report.candidates, known_ids(settings), max_n, settings.update.expand_tries, say)
    chosen = [c.meta for c in report.candidates if c.status == "resolved"]
    report.fetched = [m.arxiv_id for m in chosen]
    if chosen and not dry_run:
        done = fetch_and_ingest(settings, source, chosen, say)
        report.added, report.failed = done.added, done.failed
    return report
