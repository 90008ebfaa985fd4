"""Read-only views of the corpus: status, paper listings and the citation graph."""
from __future__ import annotations

from surveyor.errors import EmptyCorpus, InputError
from surveyor.index.catalog import Catalog, PaperRecord, RefRow
from surveyor.settings import Settings
from surveyor.sources.identity import split_version
from surveyor.topics import all_topics


def open_catalog(settings: Settings) -> Catalog:
    return Catalog(settings.index_dir)


def require_papers(catalog: Catalog, settings: Settings) -> list[PaperRecord]:
    papers = catalog.papers()
    if not papers:
        raise EmptyCorpus(f"the corpus at {settings.home} is empty; ingest first: surveyor ingest PATH "
                          "(or surveyor fetch --topic NAME)")
    return papers


def status(settings: Settings) -> dict:
    catalog = open_catalog(settings)
    try:
        papers = catalog.papers()
        topics = {t.name: sum(1 for p in papers if p.topics.get(t.name, 0.0) >= settings.topics.threshold) for t in all_topics()}
        return {"papers": len(papers), "chunks": catalog.chunk_count(), "home": str(settings.home), "topics": topics}
    finally:
        catalog.close()


def list_papers(settings: Settings) -> list[dict]:
    catalog = open_catalog(settings)
    try:
        return [p.to_public() for p in sorted(catalog.papers(), key=lambda p: (p.meta.published or "", p.paper_id))]
    finally:
        catalog.close()


# --------------------------------------------------------------------------- the citation graph


def _paper(settings: Settings, paper_id: str) -> tuple[Catalog, PaperRecord]:
    """The open catalog and the paper's record ("arXiv:1707.06347v2" finds 1707.06347); InputError when absent."""
    if not (settings.index_dir / "catalog.sqlite").is_file():
        raise InputError(f"paper {paper_id} is not in the corpus (nothing ingested at {settings.home})")
    catalog = open_catalog(settings)
    bare, _ = split_version(paper_id)
    record = catalog.paper(bare or paper_id.strip())
    if record is None:
        catalog.close()
        raise InputError(f"paper {paper_id} is not in the corpus")
    return catalog, record


def references(settings: Settings, paper_id: str) -> tuple[PaperRecord, list[RefRow], str | None]:
    """A paper's reference list with the corpus paper each entry cites, and the parser's note."""
    catalog, record = _paper(settings, paper_id)
    try:
        stored = catalog.references(record.paper_id)
    finally:
        catalog.close()
    if stored is None:
        return record, [], "reference list not read yet: run `surveyor ingest` to read it"
    return record, *stored


def cited_by(settings: Settings, paper_id: str) -> tuple[PaperRecord, list[tuple[PaperRecord, list[RefRow]]]]:
    """The corpus papers whose reference lists cite this paper, each with the entries that do."""
    catalog, record = _paper(settings, paper_id)
    try:
        by_citing: dict[str, list[RefRow]] = {}
        for row in catalog.cited_by(record.paper_id):
            by_citing.setdefault(row.paper_id, []).append(row)
        citing = [(catalog.paper(pid), rows) for pid, rows in by_citing.items()]
    finally:
        catalog.close()
    citing = [(p, rows) for p, rows in citing if p is not None]
    return record, sorted(citing, key=lambda item: (item[0].meta.published or "", item[0].paper_id))
