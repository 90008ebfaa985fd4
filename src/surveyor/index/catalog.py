"""The catalog: what has been ingested, in SQLite beside the vector store.

One transaction per paper is the commit point of an ingest: a paper is in the
corpus exactly when its row is here. The vector store is reconciled against
these rows (see ingest.reconcile), so a crash at any moment leaves nothing
half-indexed that a rerun does not repair.

The same transaction writes the paper's reference list (`refs`, one row per entry)
and keeps the citation graph current: its entries are matched to corpus papers
(index.references.CorpusIndex: printed arXiv id, else exact title key), and
entries of earlier papers left dangling that cite the new paper get their match,
from the stored ids and keys alone. A new version of a paper keeps the matches
that point at it.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surveyor.index.references import (
    PARSER_VERSION,
    CorpusIndex,
    Reference,
    ReferenceList,
    entry_page,
    page_keys,
    title_key,
)
from surveyor.sources.metadata import PaperMeta

SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    paper_id TEXT PRIMARY KEY,      -- arXiv id, or 'doc-<sha12>' for papers without one
    arxiv_id TEXT,
    version INTEGER,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,             -- path of the stored PDF, relative to the home
    meta TEXT NOT NULL,             -- PaperMeta as JSON (with per-field sources)
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    has_text INTEGER NOT NULL,
    topics TEXT NOT NULL DEFAULT '{}',  -- topic name -> relevance score
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, paper_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    paper_id TEXT NOT NULL, page INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (paper_id, page));
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, paper_id TEXT NOT NULL, ordinal INTEGER NOT NULL, page INTEGER NOT NULL,
    section TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_paper ON chunks (paper_id, ordinal);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refs (
    paper_id TEXT NOT NULL,         -- the citing paper
    ordinal INTEGER NOT NULL,       -- place in its reference list, from 1
    raw TEXT NOT NULL,              -- the entry as printed
    label TEXT, title TEXT, authors TEXT NOT NULL DEFAULT '[]', year INTEGER, venue TEXT,
    arxiv_id TEXT, doi TEXT,
    title_key TEXT NOT NULL DEFAULT '',  -- the parsed title, normalised (references.title_key)
    raw_key TEXT NOT NULL DEFAULT '',    -- the whole entry, normalised: finds entries a new paper may match
    match TEXT,                     -- the cited corpus paper, NULL while it is not in the corpus
    page INTEGER,                   -- the citing paper's page where the entry is printed (added later: may be NULL)
    PRIMARY KEY (paper_id, ordinal));
CREATE INDEX IF NOT EXISTS refs_by_match ON refs (match);
CREATE TABLE IF NOT EXISTS ref_lists (
    paper_id TEXT PRIMARY KEY, entries INTEGER NOT NULL, note TEXT, parser TEXT NOT NULL);
"""


@dataclass
class PaperRecord:
    paper_id: str
    arxiv_id: str | None
    version: int | None
    sha256: str
    file: str
    meta: PaperMeta
    pages: int
    chunks: int
    has_text: bool
    topics: dict[str, float]
    ingested_at: str

    @property
    def title(self) -> str:
        return self.meta.title or self.paper_id

    def to_public(self) -> dict[str, Any]:
        return {
            "arxiv_id": self.arxiv_id or self.paper_id,
            "version": self.version,
            "title": self.meta.title,
            "authors": self.meta.authors,
            "published": self.meta.published,
            "pages": self.pages,
            "chunks": self.chunks,
            "metadata_source": self.meta.sources,
        }


@dataclass
class RefRow:
    paper_id: str
    ref: Reference
    match: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.ref.to_json(), "match": self.match}


@dataclass
class ChunkRow:
    chunk_id: str
    paper_id: str
    ordinal: int
    page: int
    section: str
    kind: str
    text: str


class Catalog:
    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / "catalog.sqlite"
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        if "page" not in {row[1] for row in self.db.execute("PRAGMA table_info(refs)")}:
            self.db.execute("ALTER TABLE refs ADD COLUMN page INTEGER")  # catalogs written before pages were kept
        self._corpus: CorpusIndex | None = None  # corpus ids and titles for matching, read when first needed

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- papers -------------------------------------------------------------
    def _record(self, row: tuple) -> PaperRecord:
        return PaperRecord(row[0], row[1], row[2], row[3], row[4], PaperMeta.model_validate_json(row[5]), row[6],
                           row[7], bool(row[8]), json.loads(row[9]), row[10])

    _COLUMNS = "paper_id, arxiv_id, version, sha256, file, meta, pages, chunks, has_text, topics, ingested_at"

    def papers(self) -> list[PaperRecord]:
        rows = self.db.execute(f"SELECT {self._COLUMNS} FROM papers ORDER BY paper_id").fetchall()
        return [self._record(r) for r in rows]

    def paper(self, paper_id: str) -> PaperRecord | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM papers WHERE paper_id = ?", (paper_id,)).fetchone()
        return self._record(row) if row else None

    def paper_for_sha(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT paper_id FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def replace_paper(self, record: PaperRecord, page_texts: list[str], chunks: Iterable[ChunkRow],
                      references: ReferenceList | None = None) -> None:
        """Write one paper and everything derived from it in one transaction: pages, chunks, its reference
        list (matched to the corpus) and the matches of earlier papers' entries that cite it."""
        with self.transaction() as db:
            db.execute("DELETE FROM pages WHERE paper_id = ?", (record.paper_id,))
            db.execute("DELETE FROM chunks WHERE paper_id = ?", (record.paper_id,))
            db.execute("DELETE FROM refs WHERE paper_id = ?", (record.paper_id,))
            db.execute("DELETE FROM ref_lists WHERE paper_id = ?", (record.paper_id,))
            db.execute(f"INSERT OR REPLACE INTO papers ({self._COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                record.paper_id, record.arxiv_id, record.version, record.sha256, record.file,
                record.meta.model_dump_json(), record.pages, record.chunks, int(record.has_text),
                json.dumps(record.topics), record.ingested_at))
            db.execute("INSERT OR REPLACE INTO files (sha256, paper_id) VALUES (?, ?)", (record.sha256, record.paper_id))
            db.executemany("INSERT INTO pages (paper_id, page, text) VALUES (?, ?, ?)",
                           [(record.paper_id, i + 1, t) for i, t in enumerate(page_texts)])
            db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
                           [(c.chunk_id, c.paper_id, c.ordinal, c.page, c.section, c.kind, c.text) for c in chunks])
            corpus = self._corpus_index()
            corpus.add(record.paper_id, record.arxiv_id, record.meta.title)
            if references is not None:
                self._write_refs(db, record.paper_id, references, page_texts)
            self._resolve_dangling(db, record.paper_id, record.arxiv_id, record.meta.title)

    # --- the citation graph -----------------------------------------------------
    _REF_COLUMNS = ("paper_id, ordinal, raw, label, title, authors, year, venue, arxiv_id, doi, title_key, raw_key, match, "
                    "page")

    def _corpus_index(self) -> CorpusIndex:
        """Corpus ids and titles for matching; read once per catalog, kept current by replace_paper."""
        if self._corpus is None:
            self._corpus = CorpusIndex(self.db.execute(
                "SELECT paper_id, arxiv_id, json_extract(meta, '$.title') FROM papers").fetchall())
        return self._corpus

    def _page_texts(self, paper_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT text FROM pages WHERE paper_id = ? ORDER BY page", (paper_id,))]

    def _write_refs(self, db: sqlite3.Connection, paper_id: str, references: ReferenceList,
                    page_texts: list[str] | None = None) -> None:
        corpus = self._corpus_index()
        texts = page_texts if page_texts is not None else self._page_texts(paper_id)
        pages = page_keys(texts) if any(r.page is None for r in references.entries) else []
        db.execute("DELETE FROM refs WHERE paper_id = ?", (paper_id,))
        db.executemany(f"INSERT INTO refs ({self._REF_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (paper_id, r.ordinal, r.raw, r.label, r.title, json.dumps(r.authors, ensure_ascii=False), r.year, r.venue,
             r.arxiv_id, r.doi, title_key(r.title), title_key(r.raw), corpus.match(r, citing=paper_id),
             r.page if r.page is not None else entry_page(r, pages))
            for r in references.entries])
        db.execute("INSERT OR REPLACE INTO ref_lists (paper_id, entries, note, parser) VALUES (?, ?, ?, ?)",
                   (paper_id, len(references.entries), references.note, PARSER_VERSION))

    def _resolve_dangling(self, db: sqlite3.Connection, paper_id: str, arxiv_id: str | None,
                          title: str | None) -> None:
        """Entries of other papers, unmatched so far, that cite this paper: found by id or title key in the
        stored rows, confirmed by the same matcher that matched them at their own ingest."""
        key = title_key(title)
        if not arxiv_id and len(key) < CorpusIndex.MIN_TITLE_KEY:
            return
        rows = db.execute(
            f"SELECT {self._REF_COLUMNS} FROM refs WHERE match IS NULL AND paper_id != ? AND "
            "(arxiv_id = ? OR (? != '' AND instr(raw_key, ?) > 0))",
            (paper_id, arxiv_id or "", key if len(key) >= CorpusIndex.MIN_TITLE_KEY else "", key or "-")).fetchall()
        corpus = self._corpus_index()
        found = [(row[0], row[1]) for row in rows if corpus.match(self._ref(row).ref, citing=row[0]) == paper_id]
        db.executemany("UPDATE refs SET match = ? WHERE paper_id = ? AND ordinal = ?",
                       [(paper_id, citing, ordinal) for citing, ordinal in found])

    def replace_references(self, paper_id: str, references: ReferenceList) -> None:
        """A paper's reference list alone (parsed again after a parser change, or for a paper ingested before
        reference lists were kept)."""
        with self.transaction() as db:
            self._write_refs(db, paper_id, references)

    def papers_without_references(self) -> list[str]:
        """Papers whose reference list was never stored, or stored by an older parser."""
        return [r[0] for r in self.db.execute(
            "SELECT paper_id FROM papers WHERE paper_id NOT IN (SELECT paper_id FROM ref_lists WHERE parser = ?) "
            "ORDER BY paper_id", (PARSER_VERSION,))]

    @staticmethod
    def _ref(row: tuple) -> RefRow:
        ref = Reference(ordinal=row[1], raw=row[2], label=row[3], title=row[4], authors=json.loads(row[5]),
                        year=row[6], venue=row[7], arxiv_id=row[8], doi=row[9], page=row[13])
        return RefRow(row[0], ref, row[12])

    def references(self, paper_id: str) -> tuple[list[RefRow], str | None] | None:
        """A paper's reference list with its matches, and the parser's note; None when it was never read."""
        listed = self.db.execute("SELECT note FROM ref_lists WHERE paper_id = ?", (paper_id,)).fetchone()
        if listed is None:
            return None
        rows = self.db.execute(f"SELECT {self._REF_COLUMNS} FROM refs WHERE paper_id = ? ORDER BY ordinal",
                               (paper_id,)).fetchall()
        return [self._ref(r) for r in rows], listed[0]

    def cited_by(self, paper_id: str) -> list[RefRow]:
        """The entries of other corpus papers that cite this one, by citing paper and place in its list."""
        rows = self.db.execute(f"SELECT {self._REF_COLUMNS} FROM refs WHERE match = ? ORDER BY paper_id, ordinal",
                               (paper_id,)).fetchall()
        return [self._ref(r) for r in rows]

    def unmatched_refs(self, paper_ids: Iterable[str]) -> list[RefRow]:
        """Entries of these papers' reference lists whose cited paper is not in the corpus."""
        ids = sorted(set(paper_ids))
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT {self._REF_COLUMNS} FROM refs WHERE paper_id IN ({marks}) AND match IS NULL "
                               "ORDER BY paper_id, ordinal", ids).fetchall() if ids else []
        return [self._ref(r) for r in rows]

    def citations_among(self, paper_ids: Iterable[str]) -> list[RefRow]:
        """The citation graph restricted to these papers: entries of one of them matched to another, each with
        the page of the citing paper where the entry is printed (found from the page texts when a row written
        before pages were kept has none)."""
        ids = sorted(set(paper_ids))
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT {self._REF_COLUMNS} FROM refs WHERE paper_id IN ({marks}) AND match IN ({marks}) "
            "AND match != paper_id ORDER BY paper_id, ordinal", (*ids, *ids)).fetchall() if ids else []
        out, texts = [], {}
        for row in rows:
            ref = self._ref(row)
            if ref.ref.page is None:
                if ref.paper_id not in texts:
                    texts[ref.paper_id] = page_keys(self._page_texts(ref.paper_id))
                ref.ref.page = entry_page(ref.ref, texts[ref.paper_id])
            out.append(ref)
        return out

    def remember_file(self, sha256: str, paper_id: str) -> None:
        """Another file with the same paper inside (a copy under another name, an older version)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO files (sha256, paper_id) VALUES (?, ?)", (sha256, paper_id))

    def set_topics(self, scores: dict[str, dict[str, float]]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE papers SET topics = ? WHERE paper_id = ?",
                           [(json.dumps(s), pid) for pid, s in scores.items()])

    # --- pages and chunks ----------------------------------------------------
    def page_text(self, paper_id: str, page: int) -> str | None:
        row = self.db.execute("SELECT text FROM pages WHERE paper_id = ? AND page = ?", (paper_id, page)).fetchone()
        return row[0] if row else None

    def chunks(self, paper_id: str | None = None) -> list[ChunkRow]:
        if paper_id:
            rows = self.db.execute("SELECT * FROM chunks WHERE paper_id = ? ORDER BY ordinal", (paper_id,))
        else:
            rows = self.db.execute("SELECT * FROM chunks ORDER BY paper_id, ordinal")
        return [ChunkRow(*r) for r in rows.fetchall()]

    def chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}

    def chunk_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    # --- small key/value state (corpus hash, BM25 version, ...) ---------------
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def content_hash(self) -> str:
        """Changes whenever any paper is added, replaced or removed."""
        import hashlib

        digest = hashlib.sha256()
        for pid, sha in self.db.execute("SELECT paper_id, sha256 FROM papers ORDER BY paper_id"):
            digest.update(f"{pid}:{sha}\n".encode())
        return digest.hexdigest()[:16]
