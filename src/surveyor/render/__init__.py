"""Render: what the writers produce, as files a reader opens.

Owns Markdown helpers and the self-contained HTML page, BibTeX, run records (run.json) and
crash-safe publishing of output folders.

May import: evidence, retrieve, grounding, index, sources, topics, settings, files, textnorm, errors.
"""
