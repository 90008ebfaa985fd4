"""Grounding: the one place where claims meet pages.

Owns the citation format and its parser (`citations`), the quote-on-page test and the
page-text cache (`quotes`), and the support checker every writer's cited sentence passes
(`support.check_cited`). Cards, answers, surveys and digests all use these; nothing else
checks citations.

May import: surveyor.index (page texts from the catalog), textnorm, errors, settings.
"""
from surveyor.grounding.citations import (
    CITATION,
    Citation,
    cited_claims,
    format_citation,
    has_tag,
    parse_citations,
    parse_tags,
    strip_citations,
    table_cells,
    tagged_claims,
)
from surveyor.grounding.quotes import PageTexts, quote_on_page
from surveyor.grounding.support import (
    Verdict,
    best_quote,
    best_support,
    check_cited,
    check_support,
    embed_cached,
    is_instruction_like,
    name_words,
    numbers_of,
    quotable_sentences,
    strip_control,
)

__all__ = ["CITATION", "Citation", "cited_claims", "tagged_claims", "PageTexts", "Verdict", "best_quote", "best_support", "check_cited", "check_support",
           "embed_cached", "format_citation", "has_tag", "is_instruction_like", "name_words", "numbers_of",
           "parse_citations", "parse_tags", "quotable_sentences", "quote_on_page", "strip_citations",
           "strip_control", "table_cells"]
