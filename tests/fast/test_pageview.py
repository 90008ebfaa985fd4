"""Page views (render.pageview) on a real corpus PDF, and citation links in the HTML renderer (render.html)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pymupdf
import pytest

from surveyor.errors import InputError
from surveyor.grounding import Citation, tagged_claims
from surveyor.render.html import md_code, md_image, md_math, render_body
from surveyor.render.pageview import find_quote, page_view, quote_hash

CORPUS_PDF = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pdf"
PDF = CORPUS_PDF / "1910.01108.pdf"


@pytest.fixture(scope="module")
def page2():
    if not PDF.is_file():
        pytest.fail(f"test corpus missing: {PDF}", pytrace=False)
    with pymupdf.open(PDF) as doc:
        yield doc[1]


def _highlighted_words(page, boxes) -> list[str]:
    """Page words whose centres are inside a highlight box (boxes are fractions of the page)."""
    w, h = page.rect.width, page.rect.height
    out = []
    for x0, y0, x1, y1, word, *_ in page.get_text("words"):
        cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes):
            out.append(word)
    return out


def _keys(text: str) -> list[str]:
    return [re.sub(r"\W", "", t.lower()) for t in text.replace("ﬂ", "fl").replace("ﬁ", "fi").split()]


def test_quote_across_a_line_break_with_a_ligature_is_highlighted_exactly(page2):
    quote = ("keeping the flexibility of larger models. We also show that our compressed models "
             "are small enough to run on the edge")
    found = find_quote(page2, quote)
    assert found.method == "words"
    assert len(found.boxes) == 2  # the two lines it spans, one mark each
    assert _keys(" ".join(_highlighted_words(page2, found.boxes))) == _keys(quote)


def test_quote_with_a_footnote_mark_inside_falls_back_to_words(page2):
    # The page prints "Transformers2 library": the footnote mark is not in the quote, so search_for misses.
    quote = "along with the training code in the Transformers library from HuggingFace"
    assert not page2.search_for(quote)
    found = find_quote(page2, quote)
    assert found.method == "runs"
    words = _keys(" ".join(_highlighted_words(page2, found.boxes)))
    assert set(words) <= set(_keys(quote)) | {"transformers2"}
    assert {"training", "code", "huggingface"} <= set(words)


def test_pieces_of_an_elided_quote_are_each_highlighted_and_nothing_else(page2):
    quote = "Knowledge distillation [Bucila et al., 2006, Hinton et al., 2015] is a compression technique … " \
            "a compact model - the student - is trained to reproduce the behaviour of a larger model"
    found = find_quote(page2, quote)
    words = set(_keys(" ".join(_highlighted_words(page2, found.boxes))))
    assert {"compression", "student", "reproduce", "behaviour"} <= words
    assert words <= set(_keys(quote.replace("…", " ")))


def test_marks_cover_whole_words_after_a_hyphenated_line_break():
    # 1909.10351 p.1 prints "Tiny-/BERT. Then, we introduce ..."; search_for's boxes come out letters off here.
    with pymupdf.open(CORPUS_PDF / "1909.10351.pdf") as doc:
        page = doc[0]
        quote = ("Then, we introduce a new two-stage learning framework for TinyBERT, which performs Transformer "
                 "distillation at both the pretraining and task-specific learning stages.")
        found = find_quote(page, quote)
        assert found.method == "words"
        assert found.words[0] == "Then," and found.words[-1] == "stages."
        left = min(b[0] for b in found.boxes if b[1] == min(b[1] for b in found.boxes)) * page.rect.width
        then = next(w for w in page.get_text("words") if w[4] == "Then,")
        assert abs(left - then[0]) < 0.5  # the first mark starts where "Then," starts


def test_a_quote_not_on_the_page_highlights_nothing(page2):
    assert find_quote(page2, "the quick brown fox jumps over the lazy dog").boxes == []
    assert find_quote(page2, "").method == "none"


def test_page_view_is_cached_by_pdf_hash_page_and_quote(tmp_path):
    quote = "Knowledge distillation"
    view = page_view(PDF, "ab" * 32, 2, quote, tmp_path)
    assert view.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and view.pages == 5 and view.highlight.boxes
    boxes = view.png.parent / f"p2-{quote_hash(quote)}.json"
    assert json.loads(boxes.read_text())["highlight"]["boxes"] == view.highlight.boxes
    stamp = view.png.stat().st_mtime_ns
    again = page_view(PDF, "ab" * 32, 2, quote, tmp_path)
    assert again.png.stat().st_mtime_ns == stamp and again.highlight == view.highlight and again.size == view.size
    assert page_view(PDF, "ab" * 32, 2, "student", tmp_path).png == view.png  # one image per page
    with pytest.raises(InputError, match="page 99 is not in the paper"):
        page_view(PDF, "ab" * 32, 99, None, tmp_path)


def test_tagged_claims_reads_what_each_tag_cites():
    text = "**Key.** “We distil BERT.” [1910.01108 p.2] [2012.12877 p.3]; then eq [1910.01108 p.3 eq.(1)]"
    found = [(claim, m.group("id"), m.group("eq")) for claim, m in tagged_claims(text)]
    assert found == [("We distil BERT.", "1910.01108", None), ("We distil BERT.", "2012.12877", None),
                     ("", "1910.01108", "1")]


def _links(citation, claim):
    return f"/view/{citation.paper_id}/{citation.page}?q={claim}", f"/pdf/{citation.paper_id}#page={citation.page}"


def test_citations_become_page_view_and_pdf_links(tmp_path):
    md = ("**Key innovation.** “We distil BERT into a small model.” [1910.01108 p.2]\n\n"
          "| claim | note |\n|---|---|\n| “A cell quote” [1707.06347 p.3] | x |\n")
    body = render_body(md, tmp_path, cite_link=_links)
    assert '<a class="cite" href="/view/1910.01108/2?q=We distil BERT into a small model."' in body
    assert '<a class="pdf" href="/pdf/1910.01108#page=2"' in body
    assert 'href="/view/1707.06347/3?q=A cell quote"' in body
    assert "[1910.01108 p.2]</a>" in body  # the tag stays readable and copyable
    assert "Key innovation" in body and 'class="cite"' not in render_body(md, tmp_path)  # no callback: text


def test_crop_links_to_its_page_and_extracted_text_folds_away(tmp_path):
    (tmp_path / "eq.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    md = "\n\n".join([md_image("Equation (1)", "eq.png", Citation("1910.01108", 3)), md_code("L = a b c"),
                      md_image("Equation (2)", "eq.png", Citation("1910.01108", 4)), md_math(r"L = \sum_i x_i")])
    body = render_body(md, tmp_path, cite_link=_links)
    assert body.count('<a class="page-view" href="/view/1910.01108/3?q="') == 1
    # No LaTeX: the crop is the equation, the extracted text is folded away beside it.
    assert re.search(r'<div class="crop"><a class="page-view"[^>]*><img[^>]*></a></div>\s*<div class="source">\s*'
                     r'<details class="extracted"><summary>Extracted text</summary><pre><code>L = a b c', body)
    # LaTeX: MathML shown, the LaTeX in a details to copy, nothing folded.
    assert "<math" in body and body.count('class="extracted"') == 1
