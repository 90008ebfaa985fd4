"""Read-only views of the corpus: status and paper listings."""
from __future__ import annotations

from surveyor.errors import EmptyCorpus
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.settings import Settings
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
