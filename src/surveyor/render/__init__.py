"""Render: what the writers produce, as files a reader opens.

Owns Markdown helpers and the self-contained HTML page (citations linked to their page views),
page views (pageview: a PDF page as PNG with the cited quote highlighted), BibTeX, run records (run.json) and
crash-safe publishing of output folders.

May import: evidence, retrieve, grounding, index, sources, topics, settings, files, textnorm, errors.
"""
