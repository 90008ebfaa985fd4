"""The survey's map of the field: key-paper scores, the in-topic citation graph with the page of each reference
entry, lineage (recent papers citing traditional ones) and most-cited foundations. A small catalog, no models."""
from __future__ import annotations

import sqlite3

from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.references import ReferenceList, parse_entry
from surveyor.sources.metadata import PaperMeta
from surveyor.topics import Topic
from surveyor.write.survey.lineage import Graph, foundations, key_scores, lineage_pairs
from surveyor.write.survey.select import select_papers

TOPIC = Topic(name="distillation", code="T1", title="Distillation", description="knowledge distillation", queries=[],
              categories=[], key_terms=[])
PAPERS = {  # id: (title, first version, topic score)
    "1910.01108": ("DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter",
                   "2019-10-02T17:56:28Z", 0.8),
    "2012.12877": ("Training data-efficient image transformers & distillation through attention",
                   "2020-12-23T18:42:10Z", 0.6),
    "2405.00001": ("A recent student that learns from teachers", "2024-05-01T00:00:00Z", 0.7),
    "2502.00002": ("A newer student of the recent one", "2025-02-01T00:00:00Z", 0.5),
}
REFS = {  # citing paper: its reference entries as printed
    "2405.00001": ["V. Sanh et al. DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter. 2019.",
                   "H. Touvron et al. Training data-efficient image transformers & distillation through attention. "
                   "2021.",
                   "A. Nobody. A paper outside the corpus. 2022."],
    "2502.00002": ["Sanh, V. (2019). DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter.",
                   "Someone (2024). A recent student that learns from teachers. arXiv:2405.00001."],
}


def _record(pid: str) -> PaperRecord:
    title, published, score = PAPERS[pid]
    meta = PaperMeta(arxiv_id=pid, title=title, published=published)
    return PaperRecord(pid, pid, 1, pid * 4, f"corpus/papers/{pid}v1.pdf", meta, 3, 0, True,
                       {"distillation": score}, "2026-01-01T00:00:00Z")


def _catalog(tmp_path) -> Catalog:
    catalog = Catalog(tmp_path / "index")
    for pid in PAPERS:
        entries = REFS.get(pid, [])
        # Page 1 is the paper, page 2 starts the reference list, page 3 its end (the entries sit on page 2
        # except the last one).
        pages = ["Introduction. We distil a teacher into a student.",
                 "References\n" + "\n".join(f"[{i}] {e}" for i, e in enumerate(entries[:-1], 1)),
                 f"[{len(entries)}] {entries[-1]}" if entries else "Appendix."]
        refs = ReferenceList([parse_entry(f"[{i}] {e}", i) for i, e in enumerate(entries, 1)])
        catalog.replace_paper(_record(pid), pages, [], refs)
    return catalog


def test_citation_graph_keeps_the_page_of_each_reference_entry(tmp_path):
    catalog = _catalog(tmp_path)
    try:
        rows = catalog.citations_among(PAPERS)
        found = {(r.paper_id, r.match): r.ref.page for r in rows}
        assert found == {("2405.00001", "1910.01108"): 2, ("2405.00001", "2012.12877"): 2,
                         ("2502.00002", "1910.01108"): 2, ("2502.00002", "2405.00001"): 3}
        stored, _ = catalog.references("2405.00001")
        assert [r.ref.page for r in stored] == [2, 2, 3]
        assert "page" in stored[0].to_json()
    finally:
        catalog.close()


def test_an_older_catalog_gets_the_page_column_and_pages_are_found_on_read(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    db = sqlite3.connect(index / "catalog.sqlite")
    db.execute("CREATE TABLE refs (paper_id TEXT NOT NULL, ordinal INTEGER NOT NULL, raw TEXT NOT NULL, label TEXT, "
               "title TEXT, authors TEXT NOT NULL DEFAULT '[]', year INTEGER, venue TEXT, arxiv_id TEXT, doi TEXT, "
               "title_key TEXT NOT NULL DEFAULT '', raw_key TEXT NOT NULL DEFAULT '', match TEXT, "
               "PRIMARY KEY (paper_id, ordinal))")
    db.commit()
    db.close()
    catalog = _catalog(tmp_path)
    try:
        catalog.db.execute("UPDATE refs SET page = NULL")  # rows written before pages were kept
        rows = catalog.citations_among(PAPERS)
        assert {r.ref.page for r in rows} == {2, 3}
    finally:
        catalog.close()


def test_key_score_lineage_and_foundations(tmp_path):
    catalog = _catalog(tmp_path)
    try:
        graph = Graph.of(catalog.citations_among(PAPERS))
        records = catalog.papers()
    finally:
        catalog.close()
    assert graph.cited_by("1910.01108") == ["2405.00001", "2502.00002"]
    assert graph.cites("2502.00002") == ["1910.01108", "2405.00001"]
    scores = key_scores(records, TOPIC, graph)
    # 0.5 · cites / 2 + 0.3 · topic / 0.8 + 0.2 · recency (2019-10-02 is the oldest: 0; 2025-02-01 the newest: 1)
    assert scores["1910.01108"] == 0.5 * 2 / 2 + 0.3 * 0.8 / 0.8 + 0.0
    assert scores["2502.00002"] == round(0.0 + 0.3 * 0.5 / 0.8 + 0.2, 4)
    assert 0.25 + 0.3 * 0.7 / 0.8 < scores["2405.00001"] < 0.25 + 0.3 * 0.7 / 0.8 + 0.2
    assert scores["2012.12877"] < scores["2405.00001"]
    # Two key papers, one per era: the most-cited traditional and the best recent one.
    assert {r.paper_id for r in select_papers(records, TOPIC, 2, scores)} == {"1910.01108", "2405.00001"}
    # Lineage: recent papers citing traditional ones (the recent-to-recent citation is not lineage).
    assert [(a, b, row.ref.page) for a, b, row in lineage_pairs(records, graph)] == [
        ("2405.00001", "1910.01108", 2), ("2405.00001", "2012.12877", 2), ("2502.00002", "1910.01108", 2)]
    assert foundations(records, graph) == [("1910.01108", ["2405.00001", "2502.00002"]),
                                           ("2012.12877", ["2405.00001"]), ("2405.00001", ["2502.00002"])]
