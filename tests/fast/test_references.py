"""Reference lists: entries from PDFs (numbered, author-year, two columns, over pages), their fields,
title keys, matching to corpus papers, and the catalog's incremental citation graph. No models."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pymupdf
import pytest

from conftest import corpus_pdf
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.pdfparse import parse_pdf
from surveyor.index.references import (
    NO_SECTION,
    CorpusIndex,
    Reference,
    ReferenceList,
    entry_page,
    extract_references,
    page_keys,
    parse_entry,
    title_key,
)
from surveyor.sources.metadata import PaperMeta

BODY = ["We study how students learn from teachers.", "Our method distils a large model into",
        "a small one and keeps most of its accuracy."]


def _write(page: pymupdf.Page, x: float, y: float, text: str, bold: bool = False, size: float = 9) -> None:
    page.insert_text((x, y), text, fontsize=size, fontname="hebo" if bold else "helv")


def _layout(entries: list[list[str]], columns: list[float], top: float, bottom: float, indent: float = 14
            ) -> list[list[tuple[float, float, str]]]:
    """Entries (lists of printed lines) laid out column after column, page after page, with a hanging
    indent: [(x, y, text)] per page."""
    pages: list[list[tuple[float, float, str]]] = [[]]
    column, y = 0, top
    for entry in entries:
        for i, line in enumerate(entry):
            if y > bottom:
                column, y = column + 1, 72.0
                if column == len(columns):
                    pages.append([])
                    column = 0
            pages[-1].append((columns[column] + (indent if i else 0), y, line))
            y += 11
        y += 3
    return pages


def _pdf(path: Path, entries: list[list[str]] | None, columns: list[float], bottom: float = 700) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = 72.0
    for line in BODY:
        _write(page, columns[0], y, line)
        y += 11
    if entries is not None:
        _write(page, columns[0], y + 14, "References", bold=True, size=12)
        for n, placed in enumerate(_layout(entries, columns, y + 34, bottom)):
            if n:
                page = doc.new_page(width=612, height=792)
            for x, line_y, text in placed:
                _write(page, x, line_y, text)
    doc.save(path)
    doc.close()
    return path


NUMBERED = [
    ["[1] J. Schulman, F. Wolski, P. Dhariwal,", "A. Radford, and O. Klimov. Proximal policy",
     "optimization algorithms. arXiv preprint", "arXiv:1707.06347, 2017."],
    ["[2] V. Sanh, L. Debut, J. Chaumond, and", "T. Wolf. DistilBERT, a distilled version of",
     "BERT: smaller, faster, cheaper and lighter.", "In NeurIPS Workshop, 2019."],
    ["[3] A. Writer and B. Reader. Counting the", "ways of a heap. J. Algorithms, 12(3):1-9,",
     "1999. doi:10.1016/j.jalgor.1999.01.002."],
    ["[4] %%% ???"],
    ["[5] C. Person. A study of things in a long", "and winding title that needs three lines",
     "to print. In Proceedings of the Workshop on", "Things, pages 1-10, 2021."],
    ["[6] D. Someone, E. Another, and F. Third.", "An entry that runs over the end of a column",
     "and of a page and goes on. In Conference", "on Long Entries, 2022."],
    ["[7] G. Last. The final entry. In Last", "Venue, 2023."],
]


def test_numbered_two_column_list_over_pages(tmp_path):
    # Left column x=50, right column x=320; a short bottom pushes entries into the right column and page 2.
    pdf = _pdf(tmp_path / "numbered.pdf", NUMBERED, columns=[50, 320], bottom=200)
    parsed = parse_pdf(pdf)
    assert len(parsed.pages) >= 2
    refs = extract_references(parsed)
    assert refs.note is None
    assert [r.label for r in refs.entries] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [r.ordinal for r in refs.entries] == list(range(1, 8))
    ppo, distil, heap, odd, long_title, spanning, last = refs.entries
    assert ppo.arxiv_id == "1707.06347" and ppo.year == 2017
    assert ppo.title == "Proximal policy optimization algorithms"
    assert ppo.authors[:2] == ["J. Schulman", "F. Wolski"] and ppo.authors[-1] == "O. Klimov"
    assert distil.title == "DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter"
    assert heap.doi == "10.1016/j.jalgor.1999.01.002" and heap.year == 1999
    assert odd.raw == "[4] %%% ???" and odd.title is None and odd.year is None  # kept as printed
    assert long_title.title == ("A study of things in a long and winding title that needs three lines to print")
    assert spanning.raw.endswith("In Conference on Long Entries, 2022.")  # one entry across column and page
    assert last.title == "The final entry" and last.year == 2023


AUTHOR_YEAR = [
    ["Christiano, P. F., Leike, J., Brown, T., Martic, M., Legg, S., and Amodei, D. (2017). Deep reinforce-",
     "ment learning from human preferences. In Advances in Neural Information Processing Systems."],
    ["Ouyang, L., Wu, J., Jiang, X., et al. (2022). Training language models to follow instructions with",
     "human feedback. arXiv preprint arXiv:2203.02155."],
    ["Zhou, D., Scharli, N., and Hou, L. 2022. Least-to-most prompting enables complex reasoning in large",
     "language models. arXiv preprint arXiv:2205.10625."],
]


def test_author_year_list_with_hanging_indent(tmp_path):
    refs = extract_references(parse_pdf(_pdf(tmp_path / "ay.pdf", AUTHOR_YEAR, columns=[72])))
    assert len(refs.entries) == 3
    rlhf, instruct, l2m = refs.entries
    assert rlhf.label is None and rlhf.year == 2017
    assert rlhf.title == "Deep reinforcement learning from human preferences"  # hyphen at the line end joined
    assert rlhf.authors[0] == "Christiano, P. F." and rlhf.authors[-1] == "Amodei, D."
    assert rlhf.venue == "In Advances in Neural Information Processing Systems"
    assert instruct.arxiv_id == "2203.02155" and instruct.authors[-1] == "Jiang, X."
    assert l2m.year == 2022 and l2m.title.startswith("Least-to-most prompting")


def test_paper_without_references_gives_an_empty_list_and_a_note(tmp_path):
    refs = extract_references(parse_pdf(_pdf(tmp_path / "none.pdf", None, columns=[72])))
    assert refs.entries == [] and refs.note == NO_SECTION


@pytest.mark.parametrize("text, fields", [
    ('[12] A. Vaswani, N. Shazeer, and N. Parmar, “Attention is all you need,” in NeurIPS, 2017.',
     {"label": "12", "title": "Attention is all you need", "year": 2017, "venue": "in NeurIPS, 2017"}),
    ("V. Sanh, L. Debut, J. Chaumond, and T. Wolf. 2019. Distilbert, a distilled version of bert: smaller, "
     "faster, cheaper and lighter. arXiv preprint arXiv:1910.01108.",
     {"year": 2019, "arxiv_id": "1910.01108", "title": "Distilbert, a distilled version of bert: smaller, faster, "
      "cheaper and lighter"}),
    ("64. Touvron, H., Cord, M., J ́egou, H.: Training data-efficient image transformers & distillation through "
     "attention. In: ICML. PMLR (2021)",
     {"label": "64", "year": 2021, "title": "Training data-efficient image transformers & distillation through "
      "attention", "authors": ["Touvron, H.", "Cord, M.", "J ́egou, H."]}),
    ("John Schulman, Filip Wolski, et al. Proximal policy optimization algorithms. CoRR, abs/1707.06347v2, 2017.",
     {"arxiv_id": "1707.06347", "title": "Proximal policy optimization algorithms",
      "authors": ["John Schulman", "Filip Wolski"]}),
    ("Wang, X.; and Zhou, D. 2024. Chain-of-thought reasoning without prompting. doi: 10.48550/arXiv.2402.10200.",
     {"doi": "10.48550/arXiv.2402.10200", "arxiv_id": "2402.10200", "authors": ["Wang, X.", "Zhou, D."]}),
    ("DeepSeek-AI. Deepseek-r1: Incentivizing reasoning capability in llms via reinforcement learning, 2025.",
     {"title": "Deepseek-r1: Incentivizing reasoning capability in llms via reinforcement learning", "year": 2025}),
])
def test_entry_fields(text, fields):
    ref = parse_entry(text)
    assert ref.raw == text
    for name, value in fields.items():
        assert getattr(ref, name) == value, name


@pytest.mark.parametrize("text", ["", "—", "[3]", "((((", "2019. 2019. 2019.", "“”“", "a" * 5000, "Smith, J."])
def test_malformed_entries_never_raise(text):
    ref = parse_entry(text)
    assert ref.raw == " ".join(text.split())


def test_entry_page_is_the_last_page_printing_the_title_across_line_breaks():
    pages = ["Introduction. We build on Proximal Policy Optimization Algorithms [3].",
             "References [3] J. Schulman et al. Proximal Policy Opti-\nmization Algorithms. arXiv 2017.",
             "Appendix: more tables."]
    ref = Reference(ordinal=3, raw="J. Schulman et al. Proximal Policy Optimization Algorithms. arXiv 2017.",
                    title="Proximal Policy Optimization Algorithms")
    assert entry_page(ref, page_keys(pages)) == 2
    assert entry_page(Reference(ordinal=1, raw="Nowhere printed, a different title entirely"), page_keys(pages)) is None


def test_title_key_ignores_case_ligatures_hyphens_and_punctuation():
    assert title_key("Deep reinforce- ment learning from human preferences.") == \
        title_key("DEEP REINFORCEMENT LEARNING FROM HUMAN PREFERENCES")
    assert title_key("E\ufb03cient “Training” & distil-lation: a study") == "efficienttrainingdistillationastudy"


CORPUS = CorpusIndex([("1707.06347", "1707.06347", "Proximal Policy Optimization Algorithms"),
                      ("2302.07842", "2302.07842", "Augmented Language Models: a Survey"),
                      ("2401.10020", "2401.10020", "Self-Rewarding Language Models"),
                      ("doc-aaaa", None, "A Shared Title For Two Papers"),
                      ("doc-bbbb", None, "A shared title for two papers")])


@pytest.mark.parametrize("text, expected", [
    ("Yuan, W., Pang, R. Y., and Weston, J. Self-rewarding language models, 2024.", "2401.10020"),
    ("G. Mialon, R. Dessì, et al. Augmented language models: a survey. TMLR, 2023.", "2302.07842"),
    ("A. Author. Some other paper. arXiv preprint arXiv:1707.06347, 2017.", "1707.06347"),  # the id decides
    ("A. Author. Tool augmented language models: a survey. arXiv, 2023.", None),      # a longer, other title
    ("A. Author. Self-rewarding language models for code. In ICML, 2024.", None),     # a title that only starts so
    ("B. Author. A shared title for two papers. 2020.", None),                         # ambiguous: no match
    ("C. Author. Proximal policy optimization algorithms. 2017.", "1707.06347"),
])
def test_matching_is_by_id_or_exact_title(text, expected):
    assert CORPUS.match(parse_entry(text)) == expected


def test_a_paper_never_matches_itself():
    assert CORPUS.match(parse_entry("J. Schulman. Proximal policy optimization algorithms. 2017."),
                        citing="1707.06347") is None


def _record(paper_id: str, title: str, version: int = 1) -> PaperRecord:
    return PaperRecord(paper_id=paper_id, arxiv_id=paper_id, version=version, sha256=f"{paper_id}-{version}" * 4,
                       file=f"corpus/papers/{paper_id}v{version}.pdf", meta=PaperMeta(arxiv_id=paper_id, title=title),
                       pages=1, chunks=0, has_text=True, topics={},
                       ingested_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _refs(*texts: str) -> ReferenceList:
    return ReferenceList([parse_entry(t, i) for i, t in enumerate(texts, 1)])


def test_catalog_resolves_dangling_references_when_the_cited_paper_arrives(tmp_path):
    catalog = Catalog(tmp_path / "index")
    try:
        catalog.replace_paper(_record("2203.02155", "Training language models to follow instructions"), [], [], _refs(
            "Schulman, J., Wolski, F., and Klimov, O. (2017). Proximal policy optimization algorithms.",
            "Christiano, P. F. and Amodei, D. (2017). Deep reinforcement learning from human preferences. "
            "arXiv preprint arXiv:1706.03741.",
            "Nobody, N. (2020). A paper that is not in the corpus."))
        rows, note = catalog.references("2203.02155")
        assert note is None and [r.match for r in rows] == [None, None, None]
        assert catalog.papers_without_references() == []

        catalog.replace_paper(_record("1707.06347", "Proximal Policy Optimization Algorithms"), [], [], _refs())
        catalog.replace_paper(_record("1706.03741", "A title the reference does not print"), [], [], _refs())
        rows, _ = catalog.references("2203.02155")
        assert [r.match for r in rows] == ["1707.06347", "1706.03741", None]   # by title, then by arXiv id
        assert [(r.paper_id, r.ref.ordinal) for r in catalog.cited_by("1707.06347")] == [("2203.02155", 1)]

        # A new version of the cited paper (another title, now) keeps the entries that point at it.
        catalog.replace_paper(_record("1707.06347", "PPO, revised", version=2), [], [], _refs())
        assert [r.paper_id for r in catalog.cited_by("1707.06347")] == ["2203.02155"]
        # A new version of the citing paper replaces its list, matched at once.
        catalog.replace_paper(_record("2203.02155", "Training language models", version=2), [], [], _refs(
            "J. Schulman et al. Proximal policy optimization algorithms. arXiv:1707.06347, 2017."))
        rows, _ = catalog.references("2203.02155")
        assert [r.match for r in rows] == ["1707.06347"]
        assert catalog.cited_by("1706.03741") == []
    finally:
        catalog.close()


def test_catalog_knows_papers_whose_list_was_never_read(tmp_path):
    catalog = Catalog(tmp_path / "index")
    try:
        catalog.replace_paper(_record("1910.01108", "DistilBERT"), [], [])          # no list given
        assert catalog.references("1910.01108") is None
        assert catalog.papers_without_references() == ["1910.01108"]
        catalog.replace_references("1910.01108", ReferenceList([], NO_SECTION))
        assert catalog.references("1910.01108") == ([], NO_SECTION)
        assert catalog.papers_without_references() == []
    finally:
        catalog.close()


def test_real_two_column_numbered_list():
    """MobileCLIP (CVPR style): numbered, two columns, over five pages; labels come out 1..N in order."""
    refs = extract_references(parse_pdf(corpus_pdf("2311.17049")))
    labels = [int(r.label) for r in refs.entries]
    assert labels == list(range(1, len(labels) + 1)) and len(labels) >= 70
    deit = next(r for r in refs.entries if r.label == "58")
    assert deit.title.startswith("Training data-efficient image transformers")


def test_real_author_year_list_matches_ppo():
    """InstructGPT: author-year, hanging indent, references over several pages."""
    refs = extract_references(parse_pdf(corpus_pdf("2203.02155")))
    assert len(refs.entries) >= 80 and all(r.label is None for r in refs.entries)
    ppo = [r for r in refs.entries if r.arxiv_id == "1707.06347"]
    assert len(ppo) == 1 and ppo[0].title == "Proximal policy optimization algorithms" and ppo[0].year == 2017
    assert all(isinstance(r, Reference) and r.raw for r in refs.entries)
