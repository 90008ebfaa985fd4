"""Every version that keys stored or cached data, in one place.

Bump one when the output of its step changes; whatever was stored under the old value is
then rebuilt, never mixed with the new. The vector collection's name hashes the chunker
version with the embedder (index.store.collection_name).
"""
PARSER = "2"            # PDF → blocks in reading order, a reader's notes dropped (index.pdfparse); a bump
                        # re-parses stored papers at the next ingest, re-embedding those whose chunks change
CHUNKER = "1"           # blocks → chunks sized for the embedder (index.chunking); also keys BM25 tokens
EQUATIONS = "2"         # per-page equation cache (evidence.equation_cache)
CARDS = "4"             # evidence cards (evidence.cards)
SURVEY_WRITER = "3"     # cached survey drafts (write.survey)
TABLES = "2"            # per-paper result-table rows (evidence.tables)
PAGE_VIEWS = "1"       # page images and quote highlight boxes (render.pageview)
