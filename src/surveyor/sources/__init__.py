"""Sources: where papers come from, before anything is indexed.

Owns the arXiv client (search, metadata, paced downloads with timeouts and retries), the
search-and-download step of `fetch`, paper identity (ids from stamps and file names, safe
keys, content hashes, where a kept LaTeX source lives) and paper metadata with per-field sources.

May import: settings, topics, files, textnorm, errors. Never index, or anything above it:
downloading then ingesting is surveyor.api's job.
"""
