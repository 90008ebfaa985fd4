"""How strongly each paper belongs to each research topic.

Similarity of the paper's title and abstract to the topic profile (embedding
cosine) plus a bonus for the topic's key terms; a paper belongs to a topic when
its score reaches settings.topics.threshold. Deterministic and model-free apart from the embedder.
"""
from __future__ import annotations

import re

import numpy as np

from surveyor.index.catalog import Catalog
from surveyor.index.embedder import get_embedder
from surveyor.settings import Settings
from surveyor.topics import Topic, all_topics


def paper_profile_text(title: str | None, abstract: str | None, fallback: str = "") -> str:
    return f"{title or ''}. {abstract or fallback}".strip()


def term_hits(topic: Topic, text: str) -> int:
    lowered = text.lower()
    return sum(1 for term in topic.key_terms if re.search(rf"\b{re.escape(term.lower())}", lowered))


def topic_scores_for_texts(settings: Settings, texts: list[str]) -> list[dict[str, float]]:
    """Every text's score for every topic, as stored in the catalog (4 decimals)."""
    scores, _ = score_texts(settings, texts, all_topics())
    return [{name: round(value, 4) for name, value in row.items()} for row in scores]


def score_topics(settings: Settings, catalog: Catalog, paper_ids: list[str]) -> dict[str, dict[str, float]]:
    texts = []
    for pid in paper_ids:
        record = catalog.paper(pid)
        first = " ".join(r.text for r in catalog.chunks(pid)[:3]) if record and not record.meta.abstract else ""
        texts.append(paper_profile_text(record.meta.title if record else "", record.meta.abstract if record else "", first))
    return dict(zip(paper_ids, topic_scores_for_texts(settings, texts)))


def papers_in_topic(catalog: Catalog, topic: Topic, threshold: float) -> list[str]:
    return [p.paper_id for p in catalog.papers() if p.topics.get(topic.name, 0.0) >= threshold]


_PROFILE_VECTORS: dict[tuple, np.ndarray] = {}  # (embedder path, topic profiles) -> their vectors, per process


def score_texts(settings: Settings, texts: list[str], topics: list[Topic]) -> tuple[list[dict[str, float]], np.ndarray]:
    """Score of every text against every chosen topic, and the texts' unit vectors."""
    if not texts:
        return [], np.zeros((0, 0), dtype=np.float32)
    embedder = get_embedder(settings.embedding)
    profiles = tuple(t.profile_text() for t in topics)
    key = (str(embedder.path), profiles)
    if key not in _PROFILE_VECTORS:
        _PROFILE_VECTORS[key] = embedder.embed(list(profiles))
    topic_vecs = _PROFILE_VECTORS[key]
    vecs = embedder.embed(texts)
    sims = vecs @ topic_vecs.T
    cfg = settings.topics
    out = []
    for row, text in zip(np.atleast_2d(sims), texts):
        out.append({t.name: float(s) + cfg.term_bonus * min(term_hits(t, text), cfg.max_term_hits)
                    for t, s in zip(topics, row)})
    return out, vecs
