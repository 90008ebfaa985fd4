"""Fetch: search arXiv, download PDFs into corpus/downloads/, then ingest them."""
from __future__ import annotations

from datetime import date

from .arxiv_source import ArxivSource
from .errors import InputError
from .ingest import Ingestor
from .metadata import PaperMeta
from .settings import Settings
from .topics import resolve_topic


def _search(source: ArxivSource, settings: Settings, topic: str | None, query: str | None, ids: list[str],
            since: date | None, until: date | None, max_results: int) -> list[PaperMeta]:
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


def fetch_papers(settings: Settings, topic: str | None = None, query: str | None = None, ids: list[str] | None = None,
                 since: date | None = None, until: date | None = None, max_results: int = 20,
                 with_source: bool = True) -> dict:
    if max_results < 1:
        raise InputError("--max must be at least 1")
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}")
    source = ArxivSource(settings.arxiv)
    found = _search(source, settings, topic, query, ids or [], since, until, max_results)
    folder = settings.corpus_dir / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    downloaded, failed = [], []
    for meta in found:
        try:
            downloaded.append(source.download_pdf(meta, folder))
            if with_source:
                source.download_source(meta, folder)
        except Exception as exc:  # noqa: BLE001 - one bad download must not stop the others
            failed.append({"path": meta.pdf_url or meta.arxiv_id or "?", "error": str(exc)})
    _write_metadata(folder, found)
    report = Ingestor(settings, arxiv_lookup=False).run(downloaded) if downloaded else None
    ingest = report.to_json() if report else {"added": 0, "updated": 0, "unchanged": 0, "failed": [],
                                               "papers": None, "chunks": None}
    ingest["failed"] = failed + ingest["failed"]
    return {"found": len(found), "downloaded": len(downloaded), "ids": [m.arxiv_id for m in found], "ingest": ingest}


def _write_metadata(folder, found: list[PaperMeta]) -> None:
    """Keep arXiv's metadata beside the PDFs, so a later offline re-ingest still has it."""
    import json

    from .identity import safe_key

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
    tmp = path.with_suffix(".jsonl.partial")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in existing.values()), encoding="utf-8")
    tmp.replace(path)
