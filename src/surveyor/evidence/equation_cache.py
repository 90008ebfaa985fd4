"""Every display equation of a paper, extracted once per PDF and kept beside the index.

`surveyor ask` shows a paper's own equation when a question asks for one, within a 2 s
budget; extraction takes 0.2-0.5 s per PDF, so the first question on a paper extracts and
fills the cache and later ones read it. (Filling it at ingest instead costs ~0.3 s per
paper, which pushed ingest past 1.18x embed-only time.) Files are keyed by the PDF's hash
and written whole (temp file + rename), so an interrupted write leaves nothing half-read.
"""
from __future__ import annotations

import json
import logging
import os

from ..catalog import PaperRecord
from ..errors import PdfError
from ..identity import safe_key
from ..settings import Settings

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when the extractor's output changes: cached equations are then re-extracted


def paper_equations(settings: Settings, record: PaperRecord) -> list[dict]:
    """The paper's display equations as dicts (number, page, text, context), from the cache or the PDF."""
    if not record.file:
        return []
    cache = settings.index_dir / "equations" / f"{safe_key(record.paper_id)}.{CACHE_VERSION}.{record.sha256[:12]}.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from .equations import extract_equations

    try:
        found = [{"number": e.number, "page": e.page, "text": e.text, "context": dict(e.context)}
                 for e in extract_equations(settings.home / record.file)]
    except (PdfError, OSError) as exc:  # a PDF moved or damaged since ingest: no equations, not an error
        log.warning("equations of %s unavailable: %s", record.paper_id, exc)
        return []
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, cache)
    except OSError:  # a read-only home still answers; it extracts again next time
        pass
    return found
