"""Every version that keys stored or cached data, in one place.

Bump one when the output of its step changes; whatever was stored under the old value is
then rebuilt, never mixed with the new. The vector collection's name hashes the chunker and
parser versions with the embedder (index.store.collection_name).
"""
PARSER = "1"            # PDF → blocks in reading order (index.pdfparse)
CHUNKER = "1"           # blocks → chunks sized for the embedder (index.chunking); also keys BM25 tokens
EQUATIONS = "2"         # per-page equation cache (evidence.equation_cache)
CARDS = "3"             # evidence cards (evidence.cards)
SURVEY_WRITER = "3"     # cached survey drafts (write.survey)
TABLES = "2"            # per-paper result-table rows (evidence.tables)
