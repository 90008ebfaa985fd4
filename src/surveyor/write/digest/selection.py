"""Which of the window's papers the digest picks: relevance to each interest, diversity, and why.

Candidates are scored against each chosen interest (title+abstract, then evidence-card
sentences for a shortlist); only scores at or above settings.topics.threshold count. select() chooses
greedily with penalties for an interest already served and for similarity to earlier picks;
why_line() gives each pick one deterministic line saying why it was chosen.
"""
from __future__ import annotations

import re
from typing import Any

from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.topics import Topic

ABSTRACT_WEIGHT = 0.7          # title+abstract vs card sentences in the relevance score
TOPIC_PENALTY = 0.08           # per pick already serving the same interest (diversity across topics)
SIMILARITY_PENALTY = 0.15      # times the cosine to the most similar paper already picked
SHORTLIST_FACTOR = 3           # cards are built for at most n * this many candidates


def _abstract_text(record: PaperRecord, catalog: Catalog) -> str:
    from surveyor.index.topic_match import paper_profile_text

    fallback = ""
    if not record.meta.abstract:
        fallback = " ".join(c.text for c in catalog.chunks(record.paper_id)[:3])
    return paper_profile_text(record.meta.title, record.meta.abstract, fallback)


def _card_text(card) -> str:
    if card is None:
        return ""
    parts = [q.text for q in card.innovations[:3]] + [q.text for q in card.challenges[:2]] + \
            [q.text for q in card.architecture[:2]]
    return " ".join(parts)


def why_line(topic: Topic, record: PaperRecord, score: float) -> str:
    """One grounded line: which of the topic's key terms the title/abstract contain, and the score."""
    text = f"{record.meta.title or ''}. {record.meta.abstract or ''}"
    lowered = text.lower()
    found = [term for term in topic.key_terms if re.search(rf"\b{re.escape(term.lower())}", lowered)]
    where = "title/abstract" if record.meta.abstract else "title"
    if found:
        terms = ", ".join(f'"{t}"' for t in found[:5])
        return f"Serves {topic.title}: its {where} mentions {terms} (relevance {score:.2f})."
    return (f"Serves {topic.title}: its {where} is closest to this interest's profile "
            f"(relevance {score:.2f}), though none of the interest's key terms appears verbatim.")


def select(scored: list[tuple[PaperRecord, dict[str, float]]], vectors: dict[str, Any], topics: list[Topic],
           n: int, threshold: float) -> list[tuple[PaperRecord, Topic, float]]:
    """Greedy diverse selection: each step takes the (paper, interest) with the best adjusted score."""
    import numpy as np

    served: dict[str, int] = {t.name: 0 for t in topics}
    chosen: list[tuple[PaperRecord, Topic, float]] = []
    remaining = [(r, s) for r, s in scored if max((s[t.name] for t in topics), default=0.0) >= threshold]
    while remaining and len(chosen) < n:
        best = None
        for index, (record, scores) in enumerate(remaining):
            overlap = 0.0
            if chosen:
                vec = vectors[record.paper_id]
                overlap = max(float(np.dot(vec, vectors[c[0].paper_id])) for c in chosen)
            for topic in topics:
                raw = scores[topic.name]
                if raw < threshold:
                    continue
                value = raw - TOPIC_PENALTY * served[topic.name] - SIMILARITY_PENALTY * max(overlap, 0.0)
                key = (value, raw, record.meta.published or "", record.paper_id)
                if best is None or key > best[0]:
                    best = (key, index, topic, raw)
        if best is None:
            break
        _, index, topic, raw = best
        record, _ = remaining.pop(index)
        served[topic.name] += 1
        chosen.append((record, topic, raw))
    return chosen
