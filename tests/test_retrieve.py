"""Retrieval over the real fixture corpus: dense (Chroma), BM25, hybrid fusion, filters, diversity.

Real embedder, real Chroma, real bm25s; no mocks. The shared `ingested_home` is
copied first, because building the BM25 index writes under <home>/index/bm25.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pymupdf
import pytest

from surveyor.errors import InputError
from surveyor.index.bm25 import BM25Index, index_key, tokenize
from surveyor.index.catalog import Catalog
from surveyor.index.topic_match import papers_in_topic
from surveyor.retrieve import retriever as retrieve
from surveyor.retrieve.fusion import diversify, interleave, rrf_fuse
from surveyor.retrieve.retriever import Retriever
from surveyor.settings import load_settings
from surveyor.topics import resolve_topic

PPO = "1707.06347"
PPO_QUESTION = "What is the clipped surrogate objective that PPO maximizes, and which equation defines it?"


@pytest.fixture(scope="module")
def home(ingested_home, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("retrieve") / "home"
    shutil.copytree(ingested_home, copy)
    return copy


@pytest.fixture(scope="module")
def retriever(home):
    with Retriever(load_settings(home)) as r:
        yield r


def make_pdf(path: Path, title: str, paragraphs: list[str]) -> Path:
    """A small one-page PDF with a title and body text, made with PyMuPDF."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 80), title, fontsize=16)
    page.insert_textbox(pymupdf.Rect(72, 110, 540, 760), "\n\n".join(paragraphs), fontsize=10)
    doc.save(path)
    return path


# --------------------------------------------------------------------------- quality


def test_hybrid_finds_ppo_clipped_objective_page(retriever):
    passages = retriever.search(PPO_QUESTION, k=5)
    assert any(p.arxiv_id == PPO and p.page == 3 for p in passages), [(p.arxiv_id, p.page) for p in passages]
    top = passages[0]
    assert top.arxiv_id == PPO and top.title.startswith("Proximal Policy Optimization")
    assert top.tag == f"[{PPO} p.{top.page}]"
    # Fusion saw it from both sides.
    assert any(p.dense_rank and p.bm25_rank for p in passages)


def test_each_mode_ranks_with_its_own_retriever(retriever):
    dense = retriever.search(PPO_QUESTION, k=5, mode="dense")
    keyword = retriever.search(PPO_QUESTION, k=5, mode="bm25")
    assert all(p.dense_rank and p.dense_score is not None for p in dense)
    assert all(p.bm25_rank and p.dense_rank is None for p in keyword)
    assert [p.score for p in dense] == sorted((p.score for p in dense), reverse=True)
    assert any(p.arxiv_id == PPO for p in keyword)


def test_bm25_finds_exact_model_names(retriever):
    passages = retriever.search("DistilBERT 8 16GB V100 GPUs 90 hours", k=3, mode="bm25")
    assert passages[0].arxiv_id == "1910.01108"


# --------------------------------------------------------------------------- filters


def test_paper_filter_accepts_arxiv_ids_and_fills_k(retriever):
    passages = retriever.search("knowledge distillation loss", k=6, papers=["1910.01108v2"])
    assert len(passages) == 6  # the per-paper cap does not starve a one-paper query
    assert {p.paper_id for p in passages} == {"1910.01108"}
    with pytest.raises(InputError, match="not in the corpus"):
        retriever.search("anything", papers=["9999.99999"])


def test_year_filter(retriever):
    passages = retriever.search("reinforcement learning for reasoning", k=8, years=(2024, None))
    assert passages and all(p.year and p.year >= 2024 for p in passages)
    old = retriever.search("reinforcement learning for reasoning", k=8, years=(None, 2018), mode="bm25")
    assert old and all(p.year and p.year <= 2018 for p in old)


def test_topic_filter(retriever, home):
    catalog = Catalog(load_settings(home).index_dir)
    try:
        members = set(papers_in_topic(catalog, resolve_topic("distillation"), load_settings(home).topics.threshold))
    finally:
        catalog.close()
    assert members
    passages = retriever.search("student network", k=8, topic="distillation")
    assert passages and {p.paper_id for p in passages} <= members


def test_references_excluded_unless_asked(retriever):
    query = "arXiv preprint Advances in Neural Information Processing Systems"
    for mode in ("hybrid", "dense", "bm25"):
        assert all(p.kind != "references" for p in retriever.search(query, k=10, mode=mode))
    assert any(p.kind == "references" for p in retriever.search(query, k=10, include_references=True))


def test_bad_queries_are_input_errors(retriever):
    with pytest.raises(InputError):
        retriever.search("   ")
    with pytest.raises(InputError, match="mode"):
        retriever.search("ppo", mode="sparse")


# --------------------------------------------------------------------------- diversity


def test_diversity_cap_holds(retriever, home):
    passages = retriever.search(PPO_QUESTION, k=8)
    per_paper: dict[str, int] = {}
    for p in passages:
        per_paper[p.paper_id] = per_paper.get(p.paper_id, 0) + 1
    assert max(per_paper.values()) <= retriever.settings.retrieval.per_paper_max
    strict = load_settings(home)
    strict.retrieval.per_paper_max = 1
    with Retriever(strict) as one_each:
        ids = [p.paper_id for p in one_each.search(PPO_QUESTION, k=5)]
    assert len(ids) == len(set(ids)) == 5


def test_rrf_and_diversify_are_deterministic():
    fused = rrf_fuse([["a", "b", "c"], ["c", "a", "d"]], rrf_k=60)
    assert [cid for cid, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    paper = {"a": "p1", "b": "p1", "c": "p1", "d": "p2"}
    assert [c for c, _ in diversify(fused, paper.get, k=3, per_paper_max=2)] == ["a", "c", "d"]


# --------------------------------------------------------------------------- BM25 index


def test_tokenize_keeps_numbers_and_compounds():
    tokens = tokenize("GPT-4 reaches 55.2% on 16,000 tokens; the policies")
    assert {"gpt-4", "gpt", "4", "55.2", "16000", "token", "policy"} <= set(tokens)
    assert "the" not in tokens and "on" not in tokens


def test_bm25_index_persists_and_is_reused_until_the_corpus_changes(home, tmp_path, monkeypatch):
    settings = load_settings(tmp_path / "home")
    shutil.copytree(home, settings.home)
    shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)
    catalog = Catalog(settings.index_dir)
    try:
        key = index_key(catalog)
        with Retriever(settings, catalog) as first:
            first.search("policy gradient", k=3)
        folder = settings.index_dir / "bm25" / key
        meta = folder / "meta.json"
        assert meta.is_file() and key in meta.read_text()
        stamp = meta.stat().st_mtime_ns
        assert [p.name for p in folder.parent.iterdir()] == [key]

        with Retriever(settings, catalog) as second:  # same content: loaded, not rebuilt
            second.search("policy gradient", k=3)
        assert meta.stat().st_mtime_ns == stamp
        reused = BM25Index.for_catalog(catalog, settings.index_dir)
        assert reused.key == key and len(reused) == catalog.chunk_count()

        # A new paper changes the content hash: ingest rebuilds the index under the new key and removes the
        # old one, tokenizing only the new paper's chunks (the others' tokens are kept per paper).
        from surveyor.index import bm25 as bm25_index
        from surveyor.index.ingest import Ingestor

        tokens_folder = settings.index_dir / bm25_index.TOKENS_FOLDER
        assert len(list(tokens_folder.iterdir())) == len(catalog.papers())
        before = catalog.chunk_count()
        tokenized: list[str] = []
        real_tokenize = bm25_index.tokenize
        monkeypatch.setattr(bm25_index, "tokenize", lambda text: tokenized.append(text) or real_tokenize(text))
        pdf = make_pdf(tmp_path / "extra.pdf", "Zebra Gradient Estimators",
                       ["We introduce the zebrafold estimator for variance reduction in policy gradients. " * 4])
        Ingestor(settings, arxiv_lookup=False, progress=False).run([pdf])
        new_key = index_key(catalog)
        assert new_key != key
        assert (folder.parent / new_key / "meta.json").is_file()  # built by ingest, before any question
        assert len(tokenized) == catalog.chunk_count() - before > 0
        assert len(list(tokens_folder.iterdir())) == len(catalog.papers())
        monkeypatch.undo()
        fresh = BM25Index.build([r.chunk_id for r in catalog.chunks()], [r.text for r in catalog.chunks()])
        rebuilt = BM25Index.for_catalog(catalog, settings.index_dir)
        assert rebuilt.chunk_ids == fresh.chunk_ids
        assert (rebuilt.scores("policy gradient variance") == fresh.scores("policy gradient variance")).all()
        with Retriever(settings, catalog) as third:
            found = third.search("zebrafold estimator", k=3, mode="bm25")
        assert found and found[0].title == "Zebra Gradient Estimators"
        assert [p.name for p in folder.parent.iterdir()] == [new_key]
    finally:
        catalog.close()


def test_long_lived_retriever_sees_new_papers(home, tmp_path):
    settings = load_settings(tmp_path / "home")
    shutil.copytree(home, settings.home)
    from surveyor.index.ingest import Ingestor

    with Retriever(settings) as retriever:
        assert not retriever.search("quokkanet", k=3, mode="bm25")
        pdf = make_pdf(tmp_path / "quokka.pdf", "QuokkaNet",
                       ["QuokkaNet distills a large teacher into a quokka-sized student network. " * 4])
        Ingestor(settings, arxiv_lookup=False, progress=False).run([pdf])
        assert retriever.search("quokkanet", k=3, mode="bm25")[0].title == "QuokkaNet"


# --------------------------------------------------------------------------- named papers


def test_papers_named_by_title_initials_and_abstract(retriever):
    ids = lambda terms: [retriever.view().papers[p].arxiv_id for p in retriever.papers_named(terms)]  # noqa: E731
    assert ids(["DistilBERT"]) == ["1910.01108"]          # a word of the title
    assert ids(["PPO"]) == [PPO]                           # Proximal Policy Optimization
    assert ids(["InstructGPT"]) == ["2203.02155"]         # only its abstract names it
    assert ids(["NoSuchModel9"]) == [] and ids(["RL"]) == []


def test_focus_gives_the_named_paper_the_top_and_more_room(retriever):
    question = "How is the DistilBERT student network built and initialized from its teacher?"
    distilbert = retriever.papers_named(["DistilBERT"])
    plain = retriever.search(question, k=8)
    focused = retriever.search(question, k=8, focus=distilbert)
    count = lambda ps: sum(p.paper_id in distilbert for p in ps)  # noqa: E731
    assert focused[0].paper_id in distilbert
    assert count(focused) >= count(plain)
    assert count(plain) <= retriever.settings.retrieval.per_paper_max < count(focused) <= 8 // 2


def test_a_plain_word_names_the_paper_that_declares_it(retriever):
    naming = retriever.naming([], ["Distilbert"])  # "... a smaller general-purpose model, called DistilBERT"
    assert [retriever.view().papers[p].arxiv_id for p in naming] == ["1910.01108"]
    assert list(naming.values()) == [["distilbert"]]          # its own name: left out of its inner ranking
    assert list(retriever.naming(["InstructGPT"]).values()) == [[]]  # named by its abstract: subject matter
    assert retriever.naming([], ["Transformer"]) == {}        # used by many, declared by none
    # Spelling an acronym out on its first pages declares it too: "... a reward model (RM) ..."
    assert retriever.naming(["RM"]).get("2203.02155") == ["rm"]


def test_focused_slots_follow_the_question_without_the_papers_name(retriever):
    question = "What reward signals were used to train DeepSeek-R1-Zero?"
    naming = retriever.naming(["DeepSeek-R1-Zero"])
    assert naming
    focused = retriever.search(question, k=8, focus=list(naming),
                               focus_names=[t for terms in naming.values() for t in terms])
    own = [p for p in focused if p.paper_id in naming]
    assert 2 <= len(own) <= 4
    assert any(p.arxiv_id == "2501.12948" and p.page == 6 for p in own[:2])  # the rule-based reward system


def test_interleave_and_query_without_words():
    assert interleave(["a", "b", "c"], ["b", "d"]) == ["a", "b", "d", "c"]
    assert retrieve._without_words("How does Whisper compute its features?", ["whisper"]) == \
        "How does compute its features?"


def test_focus_never_overrides_a_paper_filter(retriever):
    distilbert = retriever.papers_named(["DistilBERT"])
    ppo = retriever.resolve_papers(["1707.06347"])
    found = retriever.search("How is the DistilBERT student initialized?", k=6, papers=ppo, focus=distilbert,
                             focus_names=["distilbert"])
    assert found and {p.paper_id for p in found} == set(ppo)
