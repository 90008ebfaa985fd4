"""Which papers a survey covers: the topic's records, their eras, the key papers and every paper's card.

The era of a paper is decided by its metadata date (its first arXiv version), never by a model.
An Entry is one surveyed paper (record, evidence card, era, theme, citation key); the other
modules of surveyor.write.survey work on entries.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from surveyor.errors import EmptyCorpus
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.settings import Settings
from surveyor.sources.arxiv import ArxivSource
from surveyor.topics import Topic

ERA_SPLIT = datetime(2024, 1, 1, tzinfo=timezone.utc)
MIN_PER_ERA = 3          # the cap never squeezes an era below this many papers (when the corpus has them)
THIN_CORPUS = 3          # fewer topic papers than this: the survey says the corpus is thin

Say = Callable[[str], None]


class TopicCorpusEmpty(EmptyCorpus):
    """The corpus holds no paper for the topic (or none since --since)."""


@dataclass
class Entry:
    """A paper in the survey: its record, card, era and theme."""

    record: PaperRecord
    card: Any
    score: float
    era: str                    # traditional | recent | undated
    theme: int = 0
    key: str = ""
    full: bool = True           # a key paper (full advancement entry); False: a compact entry under its theme

    @property
    def pid(self) -> str:
        return self.record.paper_id

    @property
    def cite_id(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    @property
    def year(self) -> int | None:
        return self.record.meta.year


def era_of(record: PaperRecord) -> str:
    published = record.meta.published_date()
    if published is None:
        return "undated"
    return "traditional" if published < ERA_SPLIT else "recent"


def select_papers(records: list[PaperRecord], topic: Topic, cap: int,
                  scores: dict[str, float] | None = None) -> list[PaperRecord]:
    """Top `cap` by `scores` (default: topic score), keeping at least MIN_PER_ERA of each era where the corpus
    has them. The survey passes lineage.key_scores: the key papers get full entries, the rest compact ones."""
    ranked = sorted(records, key=lambda r: (-(scores or {}).get(r.paper_id, r.topics.get(topic.name, 0.0)),
                                            r.paper_id))
    chosen: list[PaperRecord] = []
    floor = min(MIN_PER_ERA, max(1, cap // 2))
    for era in ("traditional", "recent"):
        chosen += [r for r in ranked if era_of(r) == era][:floor]
    for record in ranked:
        if len(chosen) >= cap:
            break
        if record not in chosen:
            chosen.append(record)
    chosen = chosen[:cap] if len(chosen) > cap else chosen
    return sorted(chosen, key=lambda r: (r.meta.published or "9999", r.paper_id))


def topic_records(catalog: Catalog, topic: Topic, since: int | None,
                  threshold: float) -> tuple[list[PaperRecord], int]:
    """The topic's papers (topic score ≥ threshold, optionally since a year) and the corpus size."""
    records = catalog.papers()
    in_topic = [r for r in records if r.topics.get(topic.name, 0.0) >= threshold]
    if since:
        in_topic = [r for r in in_topic if r.meta.year and r.meta.year >= since]
    return in_topic, len(records)


def no_papers_message(settings: Settings, topic: Topic, since: int | None, found: int, total: int) -> str:
    since_text = f" since {since}" if since else ""
    where = (f"found {found} paper{'s' if found != 1 else ''} for topic '{topic.name}'{since_text} "
             f"among {total} in the corpus at {settings.home}")
    if ArxivSource(settings.arxiv).reachable():
        return f"{where}; arXiv is reachable: run `surveyor fetch --topic {topic.name}` or add --fetch"
    return f"{where}; arXiv is not reachable from here: ingest PDFs with `surveyor ingest PATH`"


def load_entries(settings: Settings, catalog: Catalog, topic: Topic, chosen: list[PaperRecord],
                 say: Say) -> tuple[list[Entry], list[dict], dict]:
    """One evidence card per chosen paper (cached by surveyor.evidence.cards); empty or unreadable ones skipped."""
    from surveyor.evidence.cards import card_path, get_card

    entries, skipped = [], []
    stats = {"cached": [], "built": []}
    for i, record in enumerate(chosen, 1):
        cached = card_path(settings, record).is_file()
        say(f"card {i}/{len(chosen)}: {record.paper_id}{' (cached)' if cached else ''}")
        try:
            card = get_card(settings, record.paper_id, catalog)
        except Exception as exc:  # noqa: BLE001 - one unreadable paper is skipped, never the survey
            skipped.append({"paper_id": record.paper_id, "title": record.title,
                            "note": f"card could not be built ({type(exc).__name__}: {exc})"})
            continue
        (stats["cached"] if cached else stats["built"]).append(record.paper_id)
        if card.is_empty():
            skipped.append({"paper_id": record.paper_id, "title": record.title,
                            "note": card.note or "no evidence extracted"})
            continue
        entries.append(Entry(record, card, record.topics.get(topic.name, 0.0), era_of(record)))
    return entries, skipped, stats
