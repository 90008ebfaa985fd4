"""The grounding core: one citation format and parser, one quote-on-page test, one support checker."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from surveyor.grounding import (
    Citation,
    PageTexts,
    check_cited,
    check_support,
    cited_claims,
    format_citation,
    parse_citations,
    parse_tags,
    quote_on_page,
    strip_citations,
)
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.sources.metadata import PaperMeta

PAGE = ("Proximal policy optimization (PPO) maximizes a clipped surrogate objective. We use "
        "ε = 0.2 and an 80-channel log-mag-\nnitude spectrogram; the e\ufb03cient representa-\ntion of "
        "the advantage is described in Equation 7.")


def test_format_and_parse_round_trip():
    tags = [format_citation("1707.06347", 3), format_citation("hep-th/9901001", 1, "4"), format_citation("doc-ab12cd34", 2)]
    assert tags == ["[1707.06347 p.3]", "[hep-th/9901001 p.1 eq.(4)]", "[doc-ab12cd34 p.2]"]
    assert parse_citations(" ".join(tags)) == [Citation("1707.06347", 3), Citation("hep-th/9901001", 1, "4"),
                                               Citation("doc-ab12cd34", 2)]


def test_loose_tags_are_read_but_never_written():
    text = "It clips the ratio [1707.06347, p. 4] and [2301.01234v2 page 2]."
    assert parse_citations(text) == []
    assert parse_citations(text, loose=True) == [Citation("1707.06347", 4), Citation("2301.01234", 2)]
    assert parse_tags("Claim [Passage 2] [1707.06347 p.3].") == [2, Citation("1707.06347", 3)]
    assert strip_citations("PPO clips the ratio [1707.06347 p.3] [2].") == "PPO clips the ratio ."


def test_cited_claims_reads_markdown_claims_and_skips_equation_tags():
    md = ("# Survey\n\nPPO clips the ratio [1707.06347 p.3]. “A quoted line.” [1910.01108 p.2]\n\n"
          "$$x = 1$$ [1707.06347 p.4 eq.(7)]\n\n| a | b [1707.06347 p.5] |\n")
    claims = cited_claims(md)
    assert ("PPO clips the ratio", "1707.06347", 3) in [(c.rstrip(". "), i, p) for c, i, p in claims]
    assert ("A quoted line.", "1910.01108", 2) in claims
    assert all(p != 4 for _, _, p in claims)


@pytest.mark.parametrize("quote, expected", [
    ("an 80-channel log-magnitude spectrogram", True),          # a hyphen kept across the line break
    ("the efficient representation of the advantage", True),   # ligature, and a hyphen that joins a word
    ("PROXIMAL   policy optimization (PPO)", True),             # case and spacing
    ("an 40-channel log-magnitude spectrogram", False), ("", False)])
def test_quote_on_page(quote, expected):
    assert quote_on_page(quote, PAGE) is expected


def test_support_needs_the_numbers_names_and_formulas_of_the_page():
    assert check_support("PPO maximizes a clipped surrogate objective.", PAGE).supported
    for claim, reason in [("PPO uses ε = 0.3 for the clipped surrogate objective.", "formula"),
                          ("TRPO maximizes a clipped surrogate objective.", "names"),
                          ("PPO maximizes a clipped surrogate objective with 64 actors.", "numbers")]:
        verdict = check_support(claim, PAGE)
        assert not verdict.supported and any(reason in r for r in verdict.reasons), (claim, verdict.reasons)


def _catalog_with_one_paper(tmp_path) -> Catalog:
    catalog = Catalog(tmp_path / "index")
    meta = PaperMeta(arxiv_id="1707.06347", title="Proximal Policy Optimization Algorithms",
                     abstract="We propose a new family of policy gradient methods.")
    record = PaperRecord("1707.06347", "1707.06347", 2, "0" * 64, "corpus/papers/1707.06347v2.pdf", meta, 2, 0, True,
                         {}, datetime.now(timezone.utc).isoformat())
    catalog.replace_paper(record, ["First page.", PAGE], [])
    return catalog


def test_check_cited_reads_the_cited_page_of_the_corpus(tmp_path):
    catalog = _catalog_with_one_paper(tmp_path)
    try:
        pages = PageTexts(catalog)
        assert check_cited("PPO maximizes a clipped surrogate objective.", Citation("1707.06347", 2), pages).supported
        wrong_page = check_cited("PPO maximizes a clipped surrogate objective.", Citation("1707.06347", 1), pages)
        assert not wrong_page.supported
        missing = check_cited("Anything at all here.", Citation("1707.06347", 9), pages)
        assert not missing.supported and "not in the corpus" in missing.reasons[0]
        # A quote must be verbatim; the paper's own names (title initials, abstract) count as names.
        assert not check_cited("PPO maximizes a surrogate objective.", Citation("1707.06347", 2), pages,
                               verbatim=True).supported
        assert "Proximal Policy Optimization" in pages.names("1707.06347")
        assert PageTexts.of(catalog) is PageTexts.of(catalog)
    finally:
        catalog.close()


def test_a_quote_keeps_its_own_bracketed_numbers(tmp_path):
    catalog = Catalog(tmp_path / "index")
    meta = PaperMeta(arxiv_id="2001.00001", title="A Paper")
    record = PaperRecord("2001.00001", "2001.00001", 1, "1" * 64, "corpus/papers/2001.00001v1.pdf", meta, 1, 0, True,
                         {}, datetime.now(timezone.utc).isoformat())
    catalog.replace_paper(record, ["As shown in prior work [12], clipping the ratio stabilises training."], [])
    try:
        quote = "As shown in prior work [12], clipping the ratio stabilises training."
        assert check_cited(quote, Citation("2001.00001", 1), PageTexts(catalog), verbatim=True).supported
    finally:
        catalog.close()


def test_table_tags_parse_format_and_stay_out_of_sentence_claims():
    from surveyor.grounding import cited_claims, table_cells

    tag = format_citation("1910.01108", 3, table="1")
    assert tag == "[1910.01108 p.3 Table 1]"
    assert parse_citations(f"DistilBERT {tag}") == [Citation("1910.01108", 3, None, "1")]
    md = f"| MRPC | — | DistilBERT | 87.5 {tag} | DistilBERT (1910.01108, 2019) |"
    assert table_cells(md) == [("87.5", Citation("1910.01108", 3, None, "1"))]
    assert cited_claims(md) == []  # a value is checked on its page, not as a sentence
