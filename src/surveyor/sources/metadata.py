"""Paper metadata and where each field came from.

Sources, in order of trust: arXiv's API ("arxiv"), a metadata.jsonl beside the
PDFs ("metadata.jsonl"), the PDF itself ("pdf": its arXiv stamp and first page),
and finally the file ("file": content hash as identity). Dates never come from a model.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

FIELDS = ("arxiv_id", "title", "authors", "published", "categories", "abstract")


class PaperMeta(BaseModel):
    arxiv_id: str | None = Field(None, description="Bare id without version: 2305.18290 or hep-th/9901001")
    version: int | None = Field(None, description="arXiv version number when known (from stamp, file name or API)")
    title: str | None = None
    authors: list[str] = []
    published: str | None = Field(None, description="First-version submission time, ISO 8601 UTC")
    categories: list[str] = []
    abstract: str | None = None
    pdf_url: str | None = None
    sources: dict[str, str] = Field(default_factory=dict, description="field name -> where its value came from")

    @property
    def year(self) -> int | None:
        return int(self.published[:4]) if self.published else None

    def published_date(self) -> datetime | None:
        if not self.published:
            return None
        return datetime.fromisoformat(self.published.replace("Z", "+00:00")).astimezone(timezone.utc)

    def fill_from(self, other: "PaperMeta", source: str) -> None:
        """Take every field this record lacks from `other`, noting `source` for it."""
        for name in FIELDS + ("version", "pdf_url"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if (mine in (None, [], "")) and theirs not in (None, [], ""):
                setattr(self, name, theirs)
                if name in FIELDS:
                    self.sources[name] = other.sources.get(name, source)


def normalize_published(value: Any) -> str | None:
    """Accept '2017-06-12', '2017-06-12T00:00:00Z' or a datetime; return ISO 8601 UTC or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_from_record(record: dict[str, Any], source: str) -> PaperMeta:
    """Build a PaperMeta from a metadata.jsonl line (the fields of ../shared/corpus/pdf/metadata.jsonl)."""
    from surveyor.sources.identity import split_version  # local import: identity imports nothing from here

    arxiv_id, version = split_version(record.get("arxiv_id") or "")
    meta = PaperMeta(
        arxiv_id=arxiv_id or None,
        version=version,
        title=" ".join((record.get("title") or "").split()) or None,
        authors=list(record.get("authors") or []),
        published=normalize_published(record.get("published")),
        categories=list(record.get("categories") or []),
        abstract=" ".join((record.get("abstract") or "").split()) or None,
    )
    meta.sources = {f: source for f in FIELDS if getattr(meta, f) not in (None, [], "")}
    return meta


def read_metadata_jsonl(path: Path) -> dict[str, PaperMeta]:
    """Map file name (and arXiv id) -> PaperMeta for one metadata.jsonl; bad lines are skipped."""
    out: dict[str, PaperMeta] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            meta = meta_from_record(record, "metadata.jsonl")
            if record.get("file"):
                out[f"file:{record['file']}"] = meta
            if meta.arxiv_id:
                out[f"id:{meta.arxiv_id}"] = meta
    return out
