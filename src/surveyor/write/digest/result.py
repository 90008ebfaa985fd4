"""The digest's results: Pick (one featured paper and its fields) and DigestResult, and their JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from surveyor.index.catalog import PaperRecord
from surveyor.topics import Topic


@dataclass
class Pick:
    record: PaperRecord
    topic: Topic
    score: float
    scores: dict[str, float]
    why: str
    fields: dict[str, str] = field(default_factory=dict)
    equation: dict | None = None
    figure: dict | None = None
    relates_to: list[dict] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""

    @property
    def arxiv_id(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    def to_json(self) -> dict[str, Any]:
        meta = self.record.meta
        return {
            "arxiv_id": self.arxiv_id,
            "title": meta.title or self.record.paper_id,
            "authors": meta.authors,
            "published": meta.published,
            "url": f"https://arxiv.org/abs/{self.record.arxiv_id}" if self.record.arxiv_id else None,
            "interest": self.topic.name,
            "interest_title": self.topic.title,
            "score": round(self.score, 4),
            "why": self.why,
            "fields": dict(self.fields),
            "equation": self.equation,
            "figure": self.figure,
            "relates_to": self.relates_to,
            "checks": self.checks,
        }


@dataclass
class DigestResult:
    since: date
    until: date
    label: str
    topics: list[Topic]
    n: int
    picks: list[Pick]
    message: str
    candidates: list[str]
    uncertain: list[str]
    skipped_repeats: dict[str, str]
    not_relevant: list[str]
    fetch: dict | None = None
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    llm: str = "none"
    image_copies: dict[str, str] = field(default_factory=dict)  # asset path -> copy relative to the digest

    def to_json(self) -> dict[str, Any]:
        picks = [p.to_json() for p in self.picks]
        for pick in picks:  # once written, images are named by their copies beside the digest
            for key in ("equation", "figure"):
                item = pick.get(key)
                if item and item.get("image") in self.image_copies:
                    pick[key] = dict(item, image=self.image_copies[item["image"]], source_image=item["image"])
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "label": self.label,
            "interests": [t.name for t in self.topics],
            "n": self.n,
            "picks": picks,
            "message": self.message,
            "candidates": self.candidates,
            "left_out": {"date_only_month": self.uncertain, "featured_before": self.skipped_repeats,
                         "not_matching_interests": self.not_relevant},
            "fetch": self.fetch,
            "llm": self.llm,
            "files": self.files,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def cited_checks(self) -> tuple[int, int]:
        """(cited sentences checked, of which supported), over all picks, before unsupported ones were dropped."""
        return (sum(p.checks.get("cited", 0) for p in self.picks),
                sum(p.checks.get("supported", 0) for p in self.picks))
