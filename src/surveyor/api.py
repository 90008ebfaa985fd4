"""The library: every operation the `surveyor` command offers, as a function.

Each function takes its inputs as arguments, the state as `home` (or a loaded `settings`),
reports progress through an optional `progress(message)` callback, and returns a result
whose `to_json()` is exactly what the command prints with `--json`.

This is also the one place where steps that cross the pipeline meet: `fetch` downloads
(sources) and then ingests (index); `survey(fetch=True)` and `digest(fetch=True)` fetch
first and then call the writer, which itself only reads the corpus.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from surveyor.errors import InputError, SurveyorError
from surveyor.settings import Settings, load_settings

Progress = Callable[[str], None]


def _settings(settings: Settings | None, home: str | Path | None) -> Settings:
    return settings if settings is not None else load_settings(Path(home) if home is not None else None)


def _quiet(message: str) -> None:
    pass


# --------------------------------------------------------------------------- corpus


def ingest(paths: Sequence[str | Path], *, offline: bool = False, home: str | Path | None = None,
           settings: Settings | None = None, progress: Progress | None = None):
    """Parse, chunk, embed and index PDFs (files or folders) and what .bib files point at (attached PDFs,
    arXiv ids); unchanged files are skipped. -> IngestReport"""
    from surveyor.index.ingest import Ingestor

    settings = _settings(settings, home)
    bibs = [Path(p) for p in paths if str(p).lower().endswith(".bib")]
    rest = [Path(p) for p in paths if not str(p).lower().endswith(".bib")]
    report = Ingestor(settings, arxiv_lookup=not offline, progress=progress is None).run(rest) if rest or not bibs \
        else None
    for bib in bibs:
        report = _merge(report, _import_bib(settings, bib, offline, progress))
    if progress:
        progress(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                 f"failed {len(report.failed)}")
    return report


def _import_bib(settings: Settings, bib: Path, offline: bool, progress: Progress | None):
    from surveyor.grow.bibtex import import_bib

    if not bib.is_file():
        raise InputError(f"{bib}: no such file")
    return import_bib(settings, bib, offline, progress or _quiet)


def _merge(total, more):
    """One report for several ingests (PDFs and .bib files given together)."""
    if total is None:
        return more
    total.added += more.added
    total.updated += more.updated
    total.unchanged += more.unchanged
    total.failed += more.failed
    total.warnings += more.warnings
    total.listed += more.listed
    total.changed_ids += more.changed_ids
    total.papers, total.chunks = more.papers, more.chunks
    return total


@dataclass
class FetchReport:
    found: int
    downloaded: int
    ids: list[str]
    ingest: dict[str, Any]
    relevant_new: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"found": self.found, "downloaded": self.downloaded, "ids": self.ids, "ingest": self.ingest}
        if self.relevant_new is not None:
            data["relevant_new"] = self.relevant_new
        return data

    def summary(self) -> dict[str, Any]:
        """The counts a digest shows: found, relevant new, downloaded, added, failed."""
        return {"found": self.found, "relevant_new": self.relevant_new, "downloaded": self.downloaded,
                "added": self.ingest["added"], "failed": self.ingest["failed"]}


def _download_and_ingest(settings: Settings, source, found: list, with_source: bool) -> tuple[int, dict]:
    from surveyor.index.ingest import Ingestor
    from surveyor.sources.fetch import download

    downloaded, failed = download(source, found, settings.corpus_dir / "downloads", with_source=with_source)
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run(downloaded) if downloaded else None
    ingested = report.to_json() if report else {"added": 0, "updated": 0, "unchanged": 0, "failed": [],
                                                 "papers": None, "chunks": None}
    ingested["failed"] = failed + ingested["failed"]
    return len(downloaded), ingested


def fetch(*, topic: str | None = None, query: str | None = None, ids: Sequence[str] = (),
          since: date | None = None, until: date | None = None, max_results: int = 20, with_source: bool = True,
          home: str | Path | None = None, settings: Settings | None = None,
          progress: Progress | None = None) -> FetchReport:
    """Search arXiv (topic queries, a free query, ids or a date window), download the PDFs, ingest them."""
    return _fetch(_settings(settings, home), topic, query, list(ids), since, until, max_results, with_source,
                  progress or _quiet)


def _fetch(settings: Settings, topic: str | None, query: str | None, ids: list[str], since: date | None,
           until: date | None, max_results: int, with_source: bool, say: Progress) -> FetchReport:
    from surveyor.sources.arxiv import ArxivSource
    from surveyor.sources.fetch import search

    source = ArxivSource(settings.arxiv)
    found = search(source, topic, query, ids, since, until, max_results)
    say(f"found {len(found)} on arXiv; downloading ...")
    downloaded, ingested = _download_and_ingest(settings, source, found, with_source)
    return FetchReport(len(found), downloaded, [m.arxiv_id for m in found], ingested)


def fetch_window(since: date, until: date, topics: Sequence, n: int, *, settings: Settings,
                 progress: Progress | None = None) -> FetchReport:
    """A window's new papers for the given topics: searched in the configured categories, ranked by
    relevance on their metadata, the best n * digest.fetch_download_factor downloaded and ingested."""
    from surveyor.index.catalog import Catalog
    from surveyor.index.topic_match import score_texts
    from surveyor.sources.arxiv import ArxivSource

    say = progress or _quiet
    say(f"searching arXiv for {since}..{until} in {', '.join(settings.arxiv.categories)}")
    source = ArxivSource(settings.arxiv)
    found: dict[str, Any] = {}
    for topic in topics:
        for meta in source.search(topic.fetch_query(), settings.arxiv.categories, since, until,
                                   settings.digest.fetch_per_topic):
            if meta.arxiv_id:
                found.setdefault(meta.arxiv_id, meta)
    catalog = Catalog(settings.index_dir)
    try:
        known = {p.arxiv_id for p in catalog.papers() if p.arxiv_id}
    finally:
        catalog.close()
    new = [m for m in found.values() if m.arxiv_id not in known]
    chosen = []
    if new:
        scores, _ = score_texts(settings, [f"{m.title or ''}. {m.abstract or ''}" for m in new], list(topics))
        ranked = sorted(zip(new, scores), key=lambda pair: -max(pair[1].values()))
        chosen = [m for m, s in ranked if max(s.values()) >= settings.topics.threshold][:n * settings.digest.fetch_download_factor]
    downloaded, ingested = _download_and_ingest(settings, source, chosen, with_source=False)
    return FetchReport(len(found), downloaded, [m.arxiv_id for m in chosen], ingested, relevant_new=len(chosen))


def status(*, home: str | Path | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Papers, chunks, papers per topic, and per topic its freshness: newest paper, last update, stale survey."""
    from surveyor.grow.state import freshness
    from surveyor.index.catalog import Catalog
    from surveyor.index.corpus import status as corpus_status

    settings = _settings(settings, home)
    info = corpus_status(settings)
    catalog = Catalog(settings.index_dir)
    try:
        info["freshness"] = freshness(settings, catalog)
    finally:
        catalog.close()
    return info


def update(*, topics: Sequence[str] | None = None, since: date | None = None, max_per_topic: int | None = None,
           dry_run: bool = False, surveys: bool = False, llm: str | None = None, home: str | Path | None = None,
           settings: Settings | None = None, progress: Progress | None = None):
    """Each topic's new arXiv papers since its last update: ranked, downloaded, ingested; stale surveys
    found (and rewritten with `surveys=True`, with this week's digest). -> UpdateReport"""
    from surveyor.grow.update import run_update
    from surveyor.topics import resolve_topics

    return run_update(_settings(settings, home), resolve_topics(list(topics) if topics else None), since=since,
                      max_per_topic=max_per_topic, dry_run=dry_run, surveys=surveys, llm=llm, say=progress)


def expand(topic: str, *, max_n: int | None = None, min_cited: int | None = None, dry_run: bool = False,
           home: str | Path | None = None, settings: Settings | None = None, progress: Progress | None = None):
    """References of a topic's papers missing from the corpus, ranked by how many topic papers cite them,
    resolved to arXiv strictly (printed id, else one exact title match), the top ones fetched and ingested.
    -> ExpandReport"""
    from surveyor.grow.expand import run_expand
    from surveyor.topics import resolve_topic

    return run_expand(_settings(settings, home), resolve_topic(topic), max_n=max_n, min_cited=min_cited,
                      dry_run=dry_run, say=progress)


def papers(*, home: str | Path | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every paper in the corpus: id, date, title, pages, chunks."""
    from surveyor.index.corpus import list_papers

    return list_papers(_settings(settings, home))


def topics() -> list:
    """The research topics (configs/topics or the packaged defaults)."""
    from surveyor.topics import all_topics

    return all_topics()


# --------------------------------------------------------------------------- citation graph


@dataclass
class PaperReferences:
    """A paper's reference list: each entry as printed, its parsed fields, and `match`, the corpus paper it
    cites (None when that paper is not in the corpus). `note` says why a list is empty."""
    paper_id: str
    title: str | None
    note: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"paper_id": self.paper_id, "title": self.title, "note": self.note,
                "matched": sum(1 for e in self.entries if e["match"]), "references": self.entries}


@dataclass
class CitedBy:
    """The corpus papers whose reference lists cite a paper; `entries` are the citing entries as printed."""
    paper_id: str
    title: str | None
    citing: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"paper_id": self.paper_id, "title": self.title, "cited_by": self.citing}


def refs(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None) -> PaperReferences:
    """A paper's reference list, each entry matched to the corpus paper it cites (or None)."""
    from surveyor.index.corpus import references

    record, rows, note = references(_settings(settings, home), paper_id)
    return PaperReferences(record.paper_id, record.meta.title, note, [row.to_json() for row in rows])


def cited_by(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None) -> CitedBy:
    """The corpus papers that cite a paper, found in their reference lists."""
    from surveyor.index.corpus import cited_by as citing_papers

    record, citing = citing_papers(_settings(settings, home), paper_id)
    return CitedBy(record.paper_id, record.meta.title, [
        {"paper_id": paper.paper_id, "title": paper.meta.title, "published": paper.meta.published,
         "entries": [{"ordinal": row.ref.ordinal, "raw": row.ref.raw} for row in rows]}
        for paper, rows in citing])


# --------------------------------------------------------------------------- evidence


def card(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None):
    """A paper's evidence card: verbatim quotes per slot with pages, key equations, figures. -> EvidenceCard"""
    from surveyor.evidence.cards import get_card

    return get_card(_settings(settings, home), paper_id)


@dataclass
class PaperEvidence:
    """Equations or figures of one paper, with crops under `assets_dir` (paths in JSON are absolute)."""
    paper_id: str
    assets_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [{**row, "image": str(self.assets_dir / row["image"]) if row.get("image") else None}
                for row in self.rows]


def _paper_pdf(settings: Settings, paper_id: str) -> tuple[str, Path, Path]:
    from surveyor.evidence.cards import assets_dir, open_catalog, require_paper

    catalog = open_catalog(settings, paper_id)
    try:
        record = require_paper(catalog, paper_id)
    finally:
        catalog.close()
    return record.paper_id, settings.home / record.file, assets_dir(settings, record.paper_id)


def equations(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None) -> PaperEvidence:
    """Display equations of a paper: number, page, text, LaTeX when the source is kept, and a crop."""
    from surveyor.evidence.equations import extract_equations
    from surveyor.sources.identity import find_latex_source

    settings = _settings(settings, home)
    pid, pdf, folder = _paper_pdf(settings, paper_id)
    rows = extract_equations(pdf, assets_dir=folder, latex_source=find_latex_source(settings, pid), image_prefix="eq")
    return PaperEvidence(pid, folder, [eq.to_dict() for eq in rows])


def figures(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None) -> PaperEvidence:
    """Figures of a paper with captions and crops; architecture figures marked."""
    from surveyor.evidence.figures import extract_figures

    pid, pdf, folder = _paper_pdf(_settings(settings, home), paper_id)
    return PaperEvidence(pid, folder, [f.to_dict() for f in extract_figures(pdf, assets_dir=folder, image_prefix="fig")])


@dataclass
class PaperResults:
    """Result-table rows of one paper: method, benchmark, metric, value, table number, page and caption."""
    paper_id: str
    tables: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # tables that are not results, each with the reason

    def to_json(self) -> dict[str, Any]:
        return {"paper_id": self.paper_id, "tables": self.tables, "rows": self.rows, "notes": self.notes,
                "skipped": self.skipped}


def results(paper_id: str, *, home: str | Path | None = None, settings: Settings | None = None) -> PaperResults:
    """Rows of a paper's result tables, each value checked on its page; cached per PDF."""
    from surveyor.evidence.cards import open_catalog, require_paper
    from surveyor.evidence.tables import paper_tables

    settings = _settings(settings, home)
    catalog = open_catalog(settings, paper_id)
    try:
        record = require_paper(catalog, paper_id)
    finally:
        catalog.close()
    found = paper_tables(settings, record)
    return PaperResults(record.paper_id, found.tables, [r.to_dict() for r in found.rows], found.notes,
                        found.skipped)


# --------------------------------------------------------------------------- writers


def ask(question: str, *, k: int | None = None, llm: str | None = None, papers: Sequence[str] | None = None,
        since_year: int | None = None, until_year: int | None = None, topic: str | None = None,
        home: str | Path | None = None, settings: Settings | None = None, warm: bool = False):
    """A cited answer from the corpus (or an honest abstention). -> Answer

    warm: answer with the warm generator server (write.warm; started if none runs) instead of
    loading the embedded model in this process; the `surveyor ask` command does."""
    from surveyor.write.ask.answer import answer

    return answer(_settings(settings, home), question, k=k, llm_spec=llm, papers=list(papers) if papers else None,
                  since_year=since_year, until_year=until_year, topic=topic, warm=warm)


def survey(topic: str, *, llm: str | None = None, since: int | None = None, formats: Sequence[str] = ("md", "html"),
           out: str | Path | None = None, fetch: bool = False, max_papers: int | None = None,
           home: str | Path | None = None, settings: Settings | None = None, progress: Progress | None = None):
    """Write a grounded survey of a topic (optionally fetching its papers from arXiv first). -> SurveyResult"""
    from surveyor.write.survey import SurveyOptions, build_survey

    settings = _settings(settings, home)
    say = progress or _quiet
    if since is not None and not 1990 <= since <= 2100:
        raise InputError(f"--since must be a year such as 2022, got {since}")
    if max_papers is not None and max_papers < 1:
        raise InputError("--max-papers must be at least 1")
    warnings = []
    if fetch:
        say(f"fetching topic {topic} from arXiv ...")
        try:
            fetched = _fetch(settings, topic, None, [], None, None, 20, True, say)
            say(f"fetched: {fetched.ingest['added']} new papers")
        except SurveyorError as exc:  # the corpus as it is still makes a survey
            warnings.append(f"fetch failed ({exc}); surveying the corpus as it is")
    options = SurveyOptions(llm=llm, since=since, formats=tuple(formats), out=Path(out) if out else None,
                            max_papers=max_papers)
    result = build_survey(settings, topic, options, say=say)
    result.warnings[:0] = warnings
    return result


def digest(*, week: date | None = None, since: date | None = None, until: date | None = None, n: int | None = None,
           topics: Sequence[str] | None = None, fetch: bool = False, llm: str | None = None, formats: str = "all",
           allow_repeats: bool = False, record: bool = True, out: str | Path | None = None,
           home: str | Path | None = None, settings: Settings | None = None, progress: Progress | None = None):
    """The window's best papers for the user's interests, written up with cited quotes. -> DigestResult"""
    from surveyor.topics import resolve_topics
    from surveyor.write.digest import MAX_N, resolve_window, run_digest

    settings = _settings(settings, home)
    n = settings.digest.n if n is None else n
    if not 1 <= n <= MAX_N:
        raise InputError(f"--n must be between 1 and {MAX_N}, got {n}")
    since, until = resolve_window(week, since, until)
    report = None
    if fetch:
        report = fetch_window(since, until, resolve_topics(list(topics) if topics else None), n,
                              settings=settings, progress=progress).summary()
    return run_digest(settings, since=since, until=until, n=n, topics=list(topics) if topics else None,
                      llm_spec=llm, formats=formats, allow_repeats=allow_repeats, record_history=record,
                      out_dir=Path(out) if out else None, progress=progress, fetch_report=report)
