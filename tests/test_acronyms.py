"""Acronyms of a question, spelled out as the corpus spells them, widen ask's retrieval query."""
from __future__ import annotations

import shutil

import pytest

from surveyor.retrieve.acronyms import best_expansion, expansions, question_acronyms
from surveyor.retrieve.retriever import Retriever
from surveyor.settings import load_settings
from surveyor.write.ask.answer import retrieve_passages


def test_question_acronyms():
    assert question_acronyms("How do GRPO and RLHF differ for a MoE or ViT, per GPT-4 and DeepSeek-R1?") == [
        "GRPO", "RLHF", "MoE", "ViT"]


def test_expansions_read_the_words_before_the_parenthesis():
    texts = ["We adopt Group Relative Policy Optimization (GRPO), which drops the critic.",
             "trained with reinforcement learning from human feedback (RLHF; Christiano et al.)",
             "a sparse Mixture-of-Experts (MoE) layer", "GRPO (Shao et al.) is used.",
             "In 2024. Group relative policy optimization (GRPO) again"]
    assert expansions("GRPO", texts) == {"group relative policy optimization": 2}
    assert best_expansion("RLHF", texts) == "reinforcement learning from human feedback"
    assert best_expansion("MoE", texts) == "mixture-of-experts"
    assert best_expansion("DPO", texts) is None


@pytest.fixture(scope="module")
def retriever(ingested_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("acronyms") / "home"
    shutil.copytree(ingested_home, home)
    with Retriever(load_settings(home)) as r:
        yield r


def test_corpus_expansion_unless_a_title_holds_it(retriever):
    assert retriever.acronym_expansion("GRPO") == "group relative policy optimization"
    assert retriever.acronym_expansion("RLHF") == "reinforcement learning from human feedback"
    assert retriever.acronym_expansion("DeiT") is None  # "Training data-efficient image transformers ..."
    assert retriever.acronym_expansion("ZQX") is None


def test_question_on_an_acronym_retrieves_its_definition(retriever):
    passages, _ = retrieve_passages(retriever, "What reward does GRPO use and how is the advantage computed?", k=5)
    assert any("Group Relative Policy Optimization (GRPO)" in p.text for p in passages)
