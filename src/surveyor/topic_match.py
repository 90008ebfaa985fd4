"""How strongly each paper belongs to each research topic.

Similarity of the paper's title and abstract to the topic profile (embedding
cosine) plus a bonus for the topic's key terms; a paper belongs to a topic when
its score passes TOPIC_THRESHOLD. Deterministic and model-free apart from the embedder.
"""
from __future__ import annotations

import re

import numpy as np

from .catalog import Catalog
from .embedder import get_embedder
from .settings import Settings
from .topics import Topic, all_topics

TOPIC_THRESHOLD = 0.35
TERM_BONUS = 0.04
MAX_TERM_HITS = 4


def paper_profile_text(title: str | None, abstract: str | None, fallback: str = "") -> str:
    return f"{title or ''}. {abstract or fallback}".strip()


def term_hits(topic: Topic, text: str) -> int:
    lowered = text.lower()
    return sum(1 for term in topic.key_terms if re.search(rf"\b{re.escape(term.lower())}", lowered))


def topic_scores_for_texts(settings: Settings, texts: list[str]) -> list[dict[str, float]]:
    topics = all_topics()
    embedder = get_embedder(settings.embedding)
    topic_vecs = embedder.embed([t.profile_text() for t in topics])
    text_vecs = embedder.embed(texts)
    sims = text_vecs @ topic_vecs.T
    out = []
    for row, text in zip(np.atleast_2d(sims), texts):
        out.append({t.name: round(float(s) + TERM_BONUS * min(term_hits(t, text), MAX_TERM_HITS), 4)
                    for t, s in zip(topics, row)})
    return out


def score_topics(settings: Settings, catalog: Catalog, paper_ids: list[str]) -> dict[str, dict[str, float]]:
    texts = []
    for pid in paper_ids:
        record = catalog.paper(pid)
        first = " ".join(r.text for r in catalog.chunks(pid)[:3]) if record and not record.meta.abstract else ""
        texts.append(paper_profile_text(record.meta.title if record else "", record.meta.abstract if record else "", first))
    return dict(zip(paper_ids, topic_scores_for_texts(settings, texts)))


def papers_in_topic(catalog: Catalog, topic: Topic, threshold: float = TOPIC_THRESHOLD) -> list[str]:
    return [p.paper_id for p in catalog.papers() if p.topics.get(topic.name, 0.0) >= threshold]
