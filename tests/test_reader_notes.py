"""A reader's notes never become chunks: the parser drops them (index.marks), and a parser bump
re-parses stored papers, re-embedding only those whose chunks change.

2305.02301 (in the fixture home) carries typed comments (FreeText annotations) beside its text.
"""
from __future__ import annotations

import shutil

import pymupdf

from conftest import corpus_pdf
from surveyor import versions
from surveyor.index import pdfparse
from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor
from surveyor.index.store import VectorStore
from surveyor.textnorm import match_key

NOTED = "2305.02301"


def _comments(pdf=None) -> list[str]:
    with pymupdf.open(pdf or corpus_pdf(NOTED)) as doc:
        return [match_key(a.info["content"])[:60] for page in doc for a in page.annots()
                if a.type[1] == "FreeText" and a.info.get("content", "").strip()]


def _chunk_keys(home) -> list[str]:
    catalog = Catalog(home / "index")
    try:
        return [match_key(r.text) for r in catalog.chunks(NOTED)]
    finally:
        catalog.close()


def test_notes_are_not_chunks_and_the_papers_text_is(ingested_home):
    comments = _comments()
    assert len(comments) >= 3
    chunks = _chunk_keys(ingested_home)
    assert chunks and not [c for c in comments if any(c in chunk for chunk in chunks)]
    catalog = Catalog(ingested_home / "index")
    try:
        page_text = match_key(catalog.page_text(NOTED, 1))
    finally:
        catalog.close()
    assert not [c for c in comments if c in page_text]
    # The paper's own words around the notes are all there.
    assert any(match_key("Distilling step-by-step") in chunk for chunk in chunks)
    assert any(match_key("smaller models") in chunk for chunk in chunks)


def test_a_parser_bump_reparses_and_reembeds_only_the_changed_paper(ingested_home, tmp_path, settings_for,
                                                                   monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home)
    settings = settings_for(home)
    comments = _comments()
    catalog = Catalog(home / "index")
    try:
        papers = {p.paper_id: home / p.file for p in catalog.papers()}
    finally:
        catalog.close()
    annotated = sorted(p for p, pdf in papers.items() if _comments(pdf))  # 2305.02301 and 2501.12948 have comments
    assert NOTED in annotated and len(annotated) < len(papers)
    # The parser before this one: no reader marks. Only the annotated papers' chunks change.
    with monkeypatch.context() as patch:
        patch.setattr(pdfparse, "reader_marks", lambda doc, dicts: {})
        patch.setattr(versions, "PARSER", "0")
        report = Ingestor(settings, arxiv_lookup=False, progress=False).run([])
    # The annotated papers change, and papers with notes in a handwriting font (not annotations) may too;
    # the others are not re-embedded.
    changed = sorted(report.reparsed)
    assert set(annotated) <= set(changed) and len(changed) < len(papers)
    assert any(c in chunk for c in comments for chunk in _chunk_keys(home))
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run([])  # the current parser
    assert set(annotated) <= set(report.reparsed) <= set(changed) and report.added == 0
    assert not [c for c in comments if any(c in chunk for chunk in _chunk_keys(home))]
    catalog = Catalog(home / "index")
    try:
        expected = catalog.chunk_ids()
        assert catalog.get("parser_version") == versions.PARSER
    finally:
        catalog.close()
    assert VectorStore(settings).all_ids() == expected  # no vector of a note's chunk is left
    assert Ingestor(settings, arxiv_lookup=False, progress=False).run([]).reparsed == []  # once only
