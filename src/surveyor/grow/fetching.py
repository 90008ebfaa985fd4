"""Downloading chosen arXiv papers into corpus/downloads and ingesting them, resumably.

A PDF already complete on disk (a rerun after an interrupted update) is not downloaded again; a
half-written one only ever exists as `<name>.part`, which the transport removes or replaces. The
ingest commits paper by paper, so a rerun ingests exactly what the killed run had not committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor
from surveyor.settings import Settings
from surveyor.sources.arxiv import ArxivSource
from surveyor.sources.fetch import write_metadata
from surveyor.sources.identity import safe_key
from surveyor.sources.metadata import PaperMeta


@dataclass
class Fetched:
    downloaded: list[str] = field(default_factory=list)   # ids fetched over the network in this run
    reused: list[str] = field(default_factory=list)       # ids whose PDF a previous run had already finished
    added: list[str] = field(default_factory=list)        # ids now in the catalog that were not before
    failed: list[dict[str, Any]] = field(default_factory=list)


def known_ids(settings: Settings) -> set[str]:
    if not (settings.index_dir / "catalog.sqlite").is_file():
        return set()
    catalog = Catalog(settings.index_dir)
    try:
        return {p.arxiv_id for p in catalog.papers() if p.arxiv_id}
    finally:
        catalog.close()


def pdf_path(folder: Path, meta: PaperMeta) -> Path:
    return folder / f"{safe_key(meta.arxiv_id or '')}{f'v{meta.version}' if meta.version else ''}.pdf"


def fetch_and_ingest(settings: Settings, source: ArxivSource, chosen: list[PaperMeta],
                     say: Callable[[str], None]) -> Fetched:
    """Download (or reuse) each chosen paper's PDF, keep arXiv's metadata beside it, ingest them all."""
    result = Fetched()
    folder = settings.corpus_dir / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    if chosen:
        write_metadata(folder, chosen)  # first: a PDF on disk always has its metadata beside it
    paths: dict[Path, str] = {}  # PDF -> the arXiv id it was chosen as
    for meta in chosen:
        path = pdf_path(folder, meta)
        if path.is_file():
            result.reused.append(meta.arxiv_id or "")
            paths[path] = meta.arxiv_id or ""
            continue
        say(f"downloading {meta.arxiv_id} {meta.title or ''}")
        try:
            paths[source.download_pdf(meta, folder)] = meta.arxiv_id or ""
            result.downloaded.append(meta.arxiv_id or "")
        except Exception as exc:  # noqa: BLE001 - one bad download must not stop the others
            result.failed.append({"id": meta.arxiv_id, "stage": "download", "error": str(exc)})
    if paths:
        before = known_ids(settings)
        say(f"ingesting {len(paths)} papers ...")
        report = Ingestor(settings, arxiv_lookup=False, progress=False).run(list(paths))
        by_path = {str(p.resolve()): pid for p, pid in paths.items()}
        result.failed += [{"id": by_path.get(str(Path(f["path"]).resolve()), f["path"]), "stage": "ingest",
                           "error": f["error"]} for f in report.failed]
        result.added = sorted(known_ids(settings) - before)
    return result
