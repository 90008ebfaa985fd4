"""Answers that need the structure of a page: the rest of a bulleted list, the best row of a table.

Real pages of the fixture's PPO and DeepSeek-R1 papers, the real embedder, `--llm none`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from surveyor.grounding import quotable_sentences, quote_on_page
from surveyor.retrieve.retriever import Retriever
from surveyor.settings import load_settings
from surveyor.write.ask.answer import answer
from surveyor.write.ask.enumerations import following_items, opens_list
from surveyor.write.ask.tables import extreme_row, superlative, table_row_quotes

R1 = "2501.12948"
PPO = "1707.06347"


@pytest.fixture(scope="module")
def settings(ingested_home, tmp_path_factory):
    copy = tmp_path_factory.mktemp("lists") / "home"
    shutil.copytree(ingested_home, copy)
    return load_settings(Path(copy))


@pytest.fixture(scope="module")
def retriever(settings):
    with Retriever(settings) as r:
        yield r


def paper_id(retriever: Retriever, arxiv_id: str) -> str:
    return next(pid for pid, p in retriever.view().papers.items() if p.arxiv_id == arxiv_id)


def test_following_items_of_a_list_head_on_a_real_page(retriever):
    pid = paper_id(retriever, R1)
    texts = retriever.page_texts(pid, 6)
    head = next(s for t in texts for s in quotable_sentences(t) if "two types of rewards:" in s)
    assert opens_list(head) and not opens_list("A plain sentence.")
    items = following_items(head, texts)
    assert items and items[0].startswith("• Format rewards:")
    assert all(quote_on_page(item, retriever.catalog.page_text(pid, 6)) for item in items)
    assert following_items("A plain sentence.", texts) == []


def test_extractive_answer_lists_every_reward(settings, retriever):
    result = answer(settings, "What reward signals were used to train DeepSeek-R1-Zero?", llm_spec="none",
                    retriever=retriever)
    assert not result.abstained
    text = result.answer.lower()
    assert "accuracy reward" in text and "format reward" in text
    for c in result.citations:
        page = retriever.catalog.page_text(paper_id(retriever, c.arxiv_id), c.page)
        assert quote_on_page(c.quote, page)


def test_superlative_picks_the_extreme_row_of_a_real_table(retriever):
    pid = paper_id(retriever, PPO)
    question = "Which clipping parameter gave the best average normalized score?"
    table = next(s for t in retriever.page_texts(pid, 6) for s in quotable_sentences(t)
                 if len(table_row_quotes(s)) > 5)
    assert extreme_row(question, table_row_quotes(table)) == "Clipping, ε = 0.2 0.82"
    assert extreme_row("Which clipping setting gave the lowest score?", table_row_quotes(table)).endswith(
        "No clipping or penalty -0.39")
    assert extreme_row("Which clipping parameter was used?", table_row_quotes(table)) is None
    assert superlative("Which model has the best WER?") == -1 and superlative("the highest accuracy") == 1


def test_superlative_question_is_answered_by_the_best_row(settings, retriever):
    question = ("In PPO's comparison of surrogate objectives on the MuJoCo benchmark, which clipping parameter "
                "gave the best average normalized score?")
    result = answer(settings, question, llm_spec="none", retriever=retriever)
    first = result.sentences[0]
    assert first.quote == "Clipping, ε = 0.2 0.82" and first.passage.arxiv_id == PPO and first.passage.page == 6
    assert result.answer.startswith("“Clipping, ε = 0.2 0.82” [1707.06347 p.6]")
