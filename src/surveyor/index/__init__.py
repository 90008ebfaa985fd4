"""Index: PDFs in, a searchable corpus out.

Owns PDF parsing (PyMuPDF, reading order, sections, references; a reader's notes dropped: `marks`; in isolated worker processes), reference lists as entries
and their matches to corpus papers (the citation graph), chunking sized for the embedder, the
embedder, the vector store (the only module that talks to Chroma), the SQLite catalog (papers,
pages, chunks, reference entries: the commit point of an ingest), BM25, topic scores, the
incremental crash-safe ingest and the corpus status.

May import: sources, topics, settings, files, textnorm, errors.
"""
