"""Retrieve: a question in, ranked passages out.

Owns hybrid retrieval (dense through index.store, BM25, reciprocal rank fusion, filters,
per-paper diversity), named-paper focus and acronym expansion.

May import: grounding, index, topics, settings, textnorm, errors. Never Chroma directly.
"""
