"""Grow: the corpus keeping itself current, between the library and the writers.

Owns `update` (per-topic arXiv cursors, relevance ranking of new papers, resumable downloads, ingest,
stale surveys and their regeneration), `expand` (references of a topic's papers that the corpus lacks,
ranked by how many topic papers cite them, resolved to arXiv strictly, fetched and ingested), BibTeX
import from reference managers, and the per-topic freshness `status` shows.

May import: write, render, evidence, retrieve, grounding, index, sources, topics, settings, files,
textnorm, errors. Never api or cli.
"""
