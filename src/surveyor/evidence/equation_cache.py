"""A paper's display equations, page by page, extracted when first asked for and kept beside the index.

`surveyor ask` shows a paper's own equation when a question asks for one, within a 2 s
budget. It needs the equations of the few retrieved pages only, so only pages not yet in the
cache are read (~11 ms a page; a whole paper takes 0.2-1 s). Filling the cache at ingest
instead would cost ~19 s over the 74-paper corpus, past ingest's 1.18x embed-only budget.
One file per paper, keyed by the PDF's hash and written whole (temp file + rename), so an
interrupted write leaves the previous file; a file of another version or hash is removed.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from surveyor import versions
from surveyor.errors import PdfError
from surveyor.files import atomic_write_json
from surveyor.index.catalog import PaperRecord
from surveyor.settings import Settings
from surveyor.sources.identity import safe_key

log = logging.getLogger(__name__)



def page_equations(settings: Settings, record: PaperRecord, pages: Iterable[int]) -> list[dict]:
    """The display equations on `pages` of the paper as dicts (number, page, text, context), in page order."""
    wanted = sorted(set(pages))
    if not record.file or not wanted:
        return []
    cache = _cache_path(settings, record)
    by_page = _read(cache)
    missing = [p for p in wanted if str(p) not in by_page]
    if missing:
        from surveyor.evidence.equations import extract_page_equations

        try:
            found = extract_page_equations(settings.home / record.file, missing)
        except (PdfError, OSError) as exc:  # a PDF moved or damaged since ingest: no equations, not an error
            log.warning("equations of %s unavailable: %s", record.paper_id, exc)
            return [eq for p in wanted for eq in by_page.get(str(p), [])]
        for page in missing:  # a page past the end is remembered as empty
            by_page[str(page)] = [{"number": e.number, "page": e.page, "text": e.text, "context": dict(e.context)}
                                  for e in found.get(page, [])]
        _write(cache, by_page, safe_key(record.paper_id))
    return [eq for p in wanted for eq in by_page.get(str(p), [])]


def _cache_path(settings: Settings, record: PaperRecord) -> Path:
    return settings.index_dir / "equations" / f"{safe_key(record.paper_id)}.{versions.EQUATIONS}.{record.sha256[:12]}.json"


def _read(cache: Path) -> dict[str, list[dict]]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(cache: Path, by_page: dict[str, list[dict]], key: str) -> None:
    try:
        atomic_write_json(cache, by_page, indent=None)
        stale = re.compile(rf"{re.escape(key)}\.[^.]+\.[0-9a-f]{{12}}\.json")  # this paper, another version or PDF
        for other in cache.parent.iterdir():
            if other != cache and stale.fullmatch(other.name):
                other.unlink(missing_ok=True)
    except OSError:  # a read-only home still answers; it extracts again next time
        pass
