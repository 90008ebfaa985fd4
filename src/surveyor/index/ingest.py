"""Ingest: PDFs in, papers with pages and embedded chunks out, incrementally and crash-safely.

Per paper: parse (in an isolated worker process, index.parse_pool) → identify → metadata → chunk → embed → store. The write order
makes every interruption recoverable:
  1. new chunks go into the vector store under ids that carry the file's hash,
  2. the PDF is copied into corpus/papers/ (atomic rename),
  3. one catalog transaction records the paper — the commit point,
  4. the old version's chunks and file are removed.
`reconcile` runs at the start of every ingest and removes whatever a killed run
left behind in steps 1, 2 or 4, and re-adds vectors the store lost.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from surveyor import versions
from surveyor.errors import IndexBusy, PdfError, SurveyorError
from surveyor.files import atomic_copy
from surveyor.index.catalog import Catalog, ChunkRow, PaperRecord
from surveyor.index.chunking import chunk_paper, embedding_text
from surveyor.index.embedder import get_embedder
from surveyor.index.parse_pool import Parsed, ParsePool, auto_workers
from surveyor.index.pdfparse import ParsedPdf, parse_pdf
from surveyor.index.references import ReferenceList, extract_references
from surveyor.index.store import VectorStore
from surveyor.settings import Settings
from surveyor.sources.identity import file_sha256, id_from_filename, latex_source_path, safe_key
from surveyor.sources.metadata import PaperMeta, normalize_published, read_metadata_jsonl

BATCH_PAPERS = 16


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    papers: int = 0
    chunks: int = 0
    changed_ids: list[str] = field(default_factory=list)
    listed: list[dict[str, str]] = field(default_factory=list)  # entries of a .bib that gave nothing to ingest
    reparsed: list[str] = field(default_factory=list)  # papers a new parser changed (also counted in updated)

    def to_json(self) -> dict:
        data = {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
                "papers": self.papers, "chunks": self.chunks, "reparsed": self.reparsed}
        if self.listed:
            data["listed"] = self.listed
        return data


@dataclass
class _Candidate:
    path: Path
    sha256: str
    parsed: ParsedPdf
    meta: PaperMeta
    paper_id: str
    references: ReferenceList


def index_lock(settings: Settings) -> FileLock:
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.index_dir / "write.lock"))


class locked_index:
    """Hold the index's write lock; a second writer waits `lock_timeout_s`, then gets IndexBusy."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = index_lock(settings)

    def __enter__(self):
        try:
            self.lock.acquire(timeout=self.settings.index.lock_timeout_s)
        except Timeout:
            raise IndexBusy(f"another surveyor process is writing to {self.settings.index_dir}; "
                            "try again when it finishes") from None
        return self

    def __exit__(self, *exc):
        self.lock.release()


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], dict[str, PaperMeta], list[dict[str, str]]]:
    """PDF files under the given paths, the metadata.jsonl records that describe them, and paths that failed."""
    pdfs: list[Path] = []
    metadata: dict[str, PaperMeta] = {}
    failed: list[dict[str, str]] = []
    seen_jsonl: set[Path] = set()

    def load_jsonl(folder: Path) -> None:
        for jsonl in [folder / "metadata.jsonl"]:
            if jsonl.is_file() and jsonl.resolve() not in seen_jsonl:
                seen_jsonl.add(jsonl.resolve())
                metadata.update(read_metadata_jsonl(jsonl))

    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            failed.append({"path": str(raw), "error": "no such file or directory"})
        elif path.is_dir():
            for jsonl in sorted(path.rglob("metadata.jsonl")):
                load_jsonl(jsonl.parent)
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
            if not found:
                failed.append({"path": str(raw), "error": "no PDF files in this folder"})
            pdfs.extend(found)
        elif path.suffix.lower() != ".pdf":
            failed.append({"path": str(raw), "error": "not a .pdf file"})
        else:
            load_jsonl(path.parent)
            pdfs.append(path)
    unique = list(dict.fromkeys(p.resolve() for p in pdfs))
    return unique, metadata, failed


_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def _stamp_date(stamp: str) -> str | None:
    day, month, year = stamp.split()
    return normalize_published(f"{int(year):04d}-{_MONTHS[month]:02d}-{int(day):02d}")


def _month_from_new_id(arxiv_id: str) -> str | None:
    """New-style ids begin with the year and month of first submission (YYMM)."""
    if len(arxiv_id) >= 9 and arxiv_id[4] == "." and arxiv_id[:4].isdigit():
        return normalize_published(f"20{arxiv_id[:2]}-{arxiv_id[2:4]}-01")
    return None


def identify(path: Path, sha256: str, parsed: ParsedPdf, jsonl: dict[str, PaperMeta]) -> tuple[str, PaperMeta]:
    """Paper id and metadata from (in order) the PDF stamp, the file name, metadata.jsonl, the content hash."""
    meta = PaperMeta()
    from_file = jsonl.get(f"file:{path.name}")
    file_id, file_version = id_from_filename(path)
    arxiv_id = parsed.stamp_id or file_id or (from_file.arxiv_id if from_file else None)
    if arxiv_id:
        meta.arxiv_id = arxiv_id
        meta.sources["arxiv_id"] = "pdf" if parsed.stamp_id else ("file name" if file_id else "metadata.jsonl")
        meta.version = parsed.stamp_version or file_version
    record = jsonl.get(f"id:{arxiv_id}") if arxiv_id else None
    record = record or from_file
    # A record without an id (a reference manager's entry for a stamped PDF) describes its file all the same.
    if record and (not arxiv_id or record.arxiv_id in (None, arxiv_id)):
        meta.fill_from(record, "metadata.jsonl")
    # What the PDF itself says fills the remaining gaps.
    # The stamp's date is that version's date: the first-version date only on v1. For later versions
    # a new-style id's YYMM is closer to the truth than the stamp.
    stamp_is_first = parsed.stamp_date and (parsed.stamp_version or 1) == 1
    if not meta.published and arxiv_id and not stamp_is_first and _month_from_new_id(arxiv_id):
        meta.published = _month_from_new_id(arxiv_id)
        meta.sources["published"] = "arxiv id (month)"
    pdf_meta = PaperMeta(title=parsed.title,
                         published=_stamp_date(parsed.stamp_date) if parsed.stamp_date else None,
                         categories=[parsed.stamp_category] if parsed.stamp_category else [])
    meta.fill_from(pdf_meta, "pdf")
    paper_id = arxiv_id or f"doc-{sha256[:12]}"
    return paper_id, meta


class Ingestor:
    def __init__(self, settings: Settings, arxiv_lookup: bool = True, progress: bool = True,
                 say: Callable[[str], None] | None = None):
        self.settings = settings
        self.arxiv_lookup = arxiv_lookup
        self.progress = progress
        self.say = say or (lambda msg: print(msg, file=sys.stderr))
        self._arxiv_ok: bool | None = None
        self._seen: set[str] = set()  # content hashes met in this run: one file under two names is one paper

    # --- public ---------------------------------------------------------------
    def run(self, paths: Iterable[str | Path], metadata: dict[str, PaperMeta] | None = None) -> IngestReport:
        """`metadata`: more records as metadata.jsonl gives them ("file:<name>" / "id:<arXiv id>" -> PaperMeta,
        its `sources` naming where each field came from), e.g. a reference manager's entries."""
        report = IngestReport()
        pdfs, jsonl, report.failed = discover(paths)
        jsonl.update(metadata or {})
        get_embedder(self.settings.embedding).require()  # a missing graph stops the ingest, not each file
        with locked_index(self.settings):
            catalog = Catalog(self.settings.index_dir)
            try:
                store = VectorStore(self.settings)
                reconcile(self.settings, catalog, store)
                self._reparse_stale(catalog, store, report)
                self._ingest_files(pdfs, jsonl, catalog, store, report)
                self._read_missing_references(catalog)
                # Papers a killed run committed before scoring them are scored now, with the new ones.
                unscored = [p.paper_id for p in catalog.papers() if not p.topics]
                to_score = list(dict.fromkeys([*report.changed_ids, *unscored]))
                if to_score:
                    from surveyor.index.topic_match import score_topics

                    catalog.set_topics(score_topics(self.settings, catalog, to_score))
                if report.changed_ids:
                    from surveyor.index.bm25 import BM25Index

                    BM25Index.for_catalog(catalog, self.settings.index_dir)  # now, not on the next question
                report.papers = len(catalog.papers())
                report.chunks = catalog.chunk_count()
            finally:
                catalog.close()
        return report

    # --- steps ----------------------------------------------------------------
    def _ingest_files(self, pdfs: list[Path], jsonl: dict[str, PaperMeta], catalog: Catalog, store: VectorStore,
                      report: IngestReport) -> None:
        from tqdm import tqdm

        bar = tqdm(total=len(pdfs), desc="ingest", unit="pdf", file=sys.stderr, disable=not self.progress,
                   leave=False)
        try:
            todo = [(path, sha) for path in pdfs if (sha := self._new_content(path, catalog, report))]
            bar.update(len(pdfs) - len(todo))
            index = self.settings.index
            pool = ParsePool(index.parse_workers or auto_workers(), index.parse_timeout_s, index.parse_memory_mb,
                             ahead=2 * BATCH_PAPERS)
            batch: list[_Candidate] = []
            for (path, sha), outcome in zip(todo, pool.parse([p for p, _ in todo])):
                candidate = self._identify(path, sha, outcome, jsonl, report)
                if candidate:
                    batch.append(candidate)
                else:
                    bar.update(1)
                if len(batch) >= BATCH_PAPERS:
                    self._commit_batch(batch, catalog, store, report, bar)
                    batch = []
            self._commit_batch(batch, catalog, store, report, bar)
        finally:
            bar.close()

    def _new_content(self, path: Path, catalog: Catalog, report: IngestReport) -> str | None:
        """The file's content hash if it is to be parsed: not unreadable, not indexed, not met earlier in this run."""
        try:
            sha = file_sha256(path)
        except OSError as exc:
            report.failed.append({"path": str(path), "error": f"cannot read ({exc.strerror})"})
            return None
        known = catalog.paper_for_sha(sha)
        if (known and catalog.paper(known)) or sha in self._seen:
            report.unchanged += 1
            return None
        self._seen.add(sha)
        return sha

    def _identify(self, path: Path, sha: str, outcome: Parsed, jsonl: dict[str, PaperMeta],
                  report: IngestReport) -> _Candidate | None:
        if outcome.error is not None:
            report.failed.append({"path": str(path), "error": outcome.error})
            return None
        paper_id, meta = identify(path, sha, outcome.parsed, jsonl)
        try:
            safe_key(paper_id)
        except ValueError:
            report.failed.append({"path": str(path), "error": f"unusable paper id {paper_id!r}"})
            return None
        return _Candidate(path, sha, outcome.parsed, meta, paper_id, outcome.references)

    def _lookup_arxiv(self, batch: list[_Candidate]) -> None:
        """arXiv's own metadata outranks metadata.jsonl and the PDF, when arXiv answers."""
        ids = [c.meta.arxiv_id for c in batch if c.meta.arxiv_id]
        if not (self.arxiv_lookup and ids):
            return
        try:
            from surveyor.sources.arxiv import ArxivSource
        except ImportError:
            return
        source = ArxivSource(self.settings.arxiv)
        if self._arxiv_ok is None:
            self._arxiv_ok = source.reachable(timeout=2.0)
        if not self._arxiv_ok:
            return
        try:
            found = source.lookup(ids)
        except SurveyorError as exc:
            self.say(f"warning: arXiv metadata lookup failed ({exc}); using local metadata")
            self._arxiv_ok = False
            return
        for candidate in batch:
            remote = found.get(candidate.meta.arxiv_id or "")
            if remote:
                local, version = candidate.meta, candidate.meta.version
                merged = PaperMeta(arxiv_id=remote.arxiv_id, sources={})
                merged.fill_from(remote, "arxiv")
                merged.fill_from(local, "local")
                for name, src in local.sources.items():
                    merged.sources.setdefault(name, src)
                merged.version = version or remote.version
                candidate.meta = merged

    def _commit_batch(self, batch: list[_Candidate], catalog: Catalog, store: VectorStore, report: IngestReport,
                      bar) -> None:
        if not batch:
            return
        self._lookup_arxiv(batch)
        embedder = get_embedder(self.settings.embedding)
        for candidate in batch:
            try:
                self._commit_one(candidate, catalog, store, embedder, report)
            except SurveyorError as exc:
                report.failed.append({"path": str(candidate.path), "error": str(exc)})
            bar.update(1)

    def _commit_one(self, c: _Candidate, catalog: Catalog, store: VectorStore, embedder, report: IngestReport) -> None:
        existing = catalog.paper(c.paper_id)
        if existing and existing.version and c.meta.version and c.meta.version < existing.version:
            catalog.remember_file(c.sha256, c.paper_id)
            report.unchanged += 1
            self.say(f"{c.path}: v{c.meta.version} is older than the indexed v{existing.version}; kept v{existing.version}")
            return
        if existing and existing.version and not c.meta.version:
            c.meta.version = existing.version
        chunks = chunk_paper(c.parsed, embedder.count_tokens, self.settings.chunking.max_tokens,
                             self.settings.chunking.min_tokens)
        if not c.parsed.has_text:
            self.say(f"warning: {c.path}: no text layer (image-only PDF?); registered with 0 chunks, not searchable")
        version_tag = f"v{c.meta.version}" if c.meta.version else ""
        ids = [f"{c.paper_id}#{c.sha256[:12]}#{i:04d}" for i in range(len(chunks))]
        vectors = embedder.embed([ch.embedding_text() for ch in chunks])
        metadatas = [chunk_metadata(c.paper_id, c.meta, ch.page, ch.section, ch.kind, i)
                     for i, ch in enumerate(chunks)]
        store.add(ids, vectors, metadatas)                                                # step 1
        stored = self._store_pdf(c.path, c.paper_id, version_tag)                         # step 2
        self._store_latex_source(c.path, c.paper_id)
        old_ids = [r.chunk_id for r in catalog.chunks(c.paper_id)] if existing else []
        record = PaperRecord(
            paper_id=c.paper_id, arxiv_id=c.meta.arxiv_id, version=c.meta.version, sha256=c.sha256,
            file=str(stored.relative_to(self.settings.home)), meta=c.meta, pages=len(c.parsed.pages),
            chunks=len(chunks), has_text=c.parsed.has_text, topics={},
            ingested_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        rows = [ChunkRow(i, c.paper_id, n, ch.page, ch.section, ch.kind, ch.text)
                for n, (i, ch) in enumerate(zip(ids, chunks))]
        catalog.replace_paper(record, [p.text for p in c.parsed.pages], rows,             # step 3: commit point
                              c.references)
        stale = [i for i in old_ids if i not in set(ids)]                                  # step 4
        if stale:
            store.delete(stale)
        if existing and existing.file != record.file:
            (self.settings.home / existing.file).unlink(missing_ok=True)
        report.changed_ids.append(c.paper_id)
        if existing:
            report.updated += 1
        else:
            report.added += 1

    def _reparse_stale(self, catalog: Catalog, store: VectorStore, report: IngestReport) -> None:
        """After a parser change (versions.PARSER), every stored paper is parsed again; a paper whose chunks
        come out different is committed again like a new version (chunks, page texts, vectors of its chunks),
        the others keep theirs, so only the papers the change touches are re-embedded."""
        if (catalog.get("parser_version") or "1") == versions.PARSER:  # homes before the key: parser 1
            return
        papers = [p for p in catalog.papers() if p.file]
        if papers:
            self.say(f"parser {versions.PARSER}: reading the {len(papers)} stored papers again")
        embedder = get_embedder(self.settings.embedding) if papers else None
        for record in papers:
            path = self.settings.home / record.file
            try:
                parsed = parse_pdf(path)
            except PdfError as exc:
                self.say(f"{record.paper_id}: stored PDF unreadable ({exc}); its chunks are kept")
                continue
            chunks = chunk_paper(parsed, embedder.count_tokens, self.settings.chunking.max_tokens,
                                 self.settings.chunking.min_tokens)
            if [ch.text for ch in chunks] != [r.text for r in catalog.chunks(record.paper_id)]:
                self._commit_one(_Candidate(path, record.sha256, parsed, record.meta, record.paper_id,
                                            extract_references(parsed)), catalog,
                                 store, embedder, report)
                report.reparsed.append(record.paper_id)
        catalog.put("parser_version", versions.PARSER)

    def _read_missing_references(self, catalog: Catalog) -> None:
        """Reference lists of papers ingested before lists were kept, or read by an older parser: read from
        the stored PDF once (a PyMuPDF parse, no embedding)."""
        missing = catalog.papers_without_references()
        if missing:
            self.say(f"reading the reference lists of {len(missing)} papers ingested before")
        for paper_id in missing:
            record = catalog.paper(paper_id)
            try:
                references = extract_references(parse_pdf(self.settings.home / record.file))
            except PdfError as exc:
                references = ReferenceList([], f"stored PDF unreadable ({exc})")
            catalog.replace_references(paper_id, references)

    def _store_latex_source(self, pdf: Path, paper_id: str) -> None:
        """An arXiv LaTeX source beside the PDF (<stem>.tar.gz, <stem>.tar or folder <stem>/) is kept for equations."""
        source = next((p for p in (pdf.with_suffix(".tar.gz"), pdf.with_suffix(".tar"), pdf.with_suffix(""))
                       if p.exists() and (p.is_file() or any(p.rglob("*.tex")))), None)
        if source is None:
            return
        suffix = ".tar.gz" if source.name.endswith(".tar.gz") else ".tar"
        target = latex_source_path(self.settings, paper_id, folder=source.is_dir(), suffix=suffix)
        atomic_copy(source, target)

    def _store_pdf(self, source: Path, paper_id: str, version_tag: str) -> Path:
        folder = self.settings.corpus_dir / "papers"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{safe_key(paper_id)}{version_tag}.pdf"
        if target.resolve() == source.resolve():
            return target
        atomic_copy(source, target)
        return target


def chunk_metadata(paper_id: str, meta: PaperMeta, page: int, section: str, kind: str, ordinal: int) -> dict:
    """What the vector store keeps beside each chunk, for filtering and citing."""
    return {"paper_id": paper_id, "arxiv_id": meta.arxiv_id or "", "version": meta.version or 0,
            "title": (meta.title or "")[:300], "year": meta.year or 0, "published": meta.published or "",
            "page": page, "section": section[:200], "kind": kind, "ordinal": ordinal}


def reconcile(settings: Settings, catalog: Catalog, store: VectorStore) -> dict[str, int]:
    """Make the vector store hold exactly the catalog's chunks; clear leftovers of an interrupted run."""
    expected = catalog.chunk_ids()
    present = store.all_ids()
    orphans = sorted(present - expected)
    if orphans:
        store.delete(orphans)
    missing = expected - present
    if missing:
        rows = [r for r in catalog.chunks() if r.chunk_id in missing]
        embedder = get_embedder(settings.embedding)
        metas = {p.paper_id: p for p in catalog.papers()}
        vectors = embedder.embed([embedding_text(r.section, r.text) for r in rows])
        store.add([r.chunk_id for r in rows], vectors,
                  [chunk_metadata(r.paper_id, metas[r.paper_id].meta, r.page, r.section, r.kind, r.ordinal)
                   for r in rows])
    papers_dir = settings.corpus_dir / "papers"
    if papers_dir.is_dir():
        kept = {settings.home / p.file for p in catalog.papers()}
        for leftover in papers_dir.glob("*.partial"):
            leftover.unlink(missing_ok=True)
        for pdf in papers_dir.glob("*.pdf"):
            if pdf not in kept:
                pdf.unlink(missing_ok=True)
    return {"orphans_removed": len(orphans), "vectors_restored": len(missing)}
