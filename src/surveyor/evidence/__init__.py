"""Evidence taken verbatim from papers, deterministically and without a model.

Owns the evidence card of a paper and its cache (`cards`), built from the paper's sentences
and their section roles (`sections`; a reader's notes were dropped by index.marks), what kind of sentence
each is (`sentence_rules`: another paper's work, a signpost, a caption, a success claim, a
weakness, a plan), how well each fits a card's fields (`slots`) and the benchmark names and
result numbers in them (`datasets`); display equations (`equations`,
with `equation_text` for math-glyph repair, `equation_layout` and `equation_displays` for
detection, `equation_cache` for pages asked about), figures (`figures`), their PNG crops
(`crops`), LaTeX equations from a paper's source (`latex`) and result tables as rows of
(method, benchmark, metric, value, table, page) with their cache (`tables`), what each value is and
which tables hold results, and benchmarks shared across papers (`table_labels`).

May import: surveyor.index (the catalog, the parsed PDF and its one `open_pdf`),
surveyor.grounding, surveyor.sources.identity, settings, files, errors, textnorm.
Never surveyor.index.ingest or surveyor.sources.fetch: evidence reads what was ingested,
it never fetches or ingests (an import-linter contract in pyproject.toml).
"""
