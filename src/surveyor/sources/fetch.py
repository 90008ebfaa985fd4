"""Search arXiv and download what was found into corpus/downloads/, with arXiv's metadata beside it.

Nothing here ingests: `surveyor.api.fetch` downloads with these functions and then ingests.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from surveyor.errors import InputError
from surveyor.files import atomic_write_text
from surveyor.sources.arxiv import ArxivSource
from surveyor.sources.identity import safe_key
from surveyor.sources.metadata import PaperMeta
from surveyor.topics import resolve_topic


def search(source: ArxivSource, topic: str | None, query: str | None, ids: list[str],
           since: date | None, until: date | None, max_results: int) -> list[PaperMeta]:
    """arXiv's papers for ids, a topic's queries, or a free query and/or date window (newest first)."""
    if max_results < 1:
        raise InputError("--max must be at least 1")
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}")
    if ids:
        found = source.lookup(ids)
        return list(found.values())[:max_results]
    if topic:
        chosen = resolve_topic(topic)
        results: dict[str, PaperMeta] = {}
        queries = [query] if query else chosen.queries
        for q in queries:
            for meta in source.search(q, chosen.categories, since, until, max_results):
                results.setdefault(meta.arxiv_id or "", meta)
        return sorted(results.values(), key=lambda m: m.published or "", reverse=True)[:max_results]
    if query or since or until:
        return source.search(query, None, since, until, max_results)
    raise InputError("say what to fetch: --topic NAME, --query TEXT, --ids ID..., or a --since/--until window")


def download(source: ArxivSource, found: list[PaperMeta], folder: Path,
             with_source: bool = True) -> tuple[list[Path], list[dict]]:
    """Download each paper's PDF (and e-print source) into `folder`; (downloaded paths, failures).

    One bad download does not stop the others; arXiv's metadata is kept beside the PDFs."""
    folder.mkdir(parents=True, exist_ok=True)
    downloaded: list[Path] = []
    failed: list[dict] = []
    for meta in found:
        try:
            downloaded.append(source.download_pdf(meta, folder))
            if with_source:
                source.download_source(meta, folder)
        except Exception as exc:  # noqa: BLE001 - one bad download must not stop the others
            failed.append({"path": meta.pdf_url or meta.arxiv_id or "?", "error": str(exc)})
    if found:
        write_metadata(folder, found)
    return downloaded, failed


def write_metadata(folder: Path, found: list[PaperMeta]) -> None:
    """Keep arXiv's metadata beside the PDFs, so a later offline re-ingest still has it."""
    path = folder / "metadata.jsonl"
    existing = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                existing[record["arxiv_id"]] = record
    for meta in found:
        if meta.arxiv_id:
            existing[meta.arxiv_id] = {
                "file": f"{safe_key(meta.arxiv_id)}v{meta.version or 1}.pdf", "arxiv_id": meta.arxiv_id,
                "title": meta.title, "authors": meta.authors, "published": meta.published,
                "categories": meta.categories, "abstract": meta.abstract}
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in existing.values()))
