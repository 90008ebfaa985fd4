"""The rules that decide what a card's slots may hold, on sentences with their section names (no PDF, no model).

Each case is a sentence as a paper prints it and the heading it sits under; the slot scorers
of evidence.slots and the predicates of evidence.sentence_rules are plain functions of them.
"""
from __future__ import annotations

from collections import Counter

import pytest

from surveyor.evidence import slots
from surveyor.evidence.datasets import dataset_names_in
from surveyor.evidence.sections import Sentence, _roles
from surveyor.evidence.sentence_rules import (
    cites_other_work,
    falls_behind,
    future_cue,
    is_boilerplate_future,
    is_caption,
    is_signpost,
    is_success_claim,
    weakness,
)
from surveyor.index.marks import is_marked

CONTEXT = slots.PaperContext(Counter({"ImageNet-1k": 6, "ImageNet": 4}), ("TinyViT",))


def sentence(text: str, heading: str, caption: bool = False) -> Sentence:
    roles = set(_roles(heading)) or {"body"}
    if heading == "Abstract":
        roles = {"abstract"}
    if caption:
        roles.add("caption")
    return Sentence(text, 1, heading, frozenset(roles), 0)


def score(field: str, text: str, heading: str, caption: bool = False) -> float:
    scorer = dict(pair for group in slots._FIELD_GROUPS for pair in group)[field]
    return scorer(sentence(text, heading, caption), CONTEXT)


# --------------------------------------------------------------------------- innovation: our work, not theirs


@pytest.mark.parametrize("text,heading", [
    ("Compared to all prior work, our key contribution is to scale human feedback up to deep reinforcement "
     "learning and to learn much more complex behaviors.", "1.1 Related Work"),
    ("Hinton et al. (2015) showed that the knowledge of an ensemble can be distilled into a single model.",
     "1 Introduction"),
    ("Recent studies propose to distill reasoning from large models into smaller ones [12, 14].", "1 Introduction"),
    ("In this section, we introduce the strategic knowledge and our method in detail.", "3 Method"),
])
def test_innovation_is_never_another_papers_work_or_a_signpost(text, heading):
    assert score("innovations", text, heading) == 0.0


def test_innovation_is_the_papers_own_proposal():
    assert score("innovations", "We propose TinyViT, a new family of tiny and efficient vision transformers.",
                 "Abstract") > 0
    assert score("innovations", "Following Hinton et al. (2015), we propose a distillation token for transformers.",
                 "1 Introduction") > 0


def test_citation_led_sentences_report_other_work():
    assert cites_other_work("Hinton et al. (2015) showed that an ensemble can be distilled.")
    assert cites_other_work("[12] proposes a reward model trained on comparisons.")
    assert cites_other_work("Knowledge distillation (Hinton et al., 2015) trains a student to match a teacher.")
    assert not cites_other_work("Following Hinton et al. (2015), we distill the teacher into a student.")
    assert not cites_other_work("We train DistilBERT on the same corpus as BERT [Zhu et al., 2015].")


# --------------------------------------------------------------------------- limitation: a weakness of ours


@pytest.mark.parametrize("text,heading", [
    ("By framing this recovery as a gradient-free local search problem, REER provides a scalable, cost-effective, "
     "and automatable \"third path\" for cultivating sophisticated reasoning.", "6 Limitations"),
    ("On MNIST distillation works remarkably well even when the transfer set lacks some classes.", "5 Discussion"),
    ("However, our approach does provides us with a clear empirical feedback loop of what works and what does not.",
     "5.1 Implications for alignment research"),
    ("However, our setup still has important disanalogies, which we now elaborate on.", "6 Discussion"),
    ("There are a number of limitations with our approach.", "Limitations"),
    ("These methods have the stability and reliability of trust-region methods but are much simpler to implement, "
     "requiring only few lines of code change to a vanilla policy gradient implementation.", "1 Introduction"),
    ("However, this is not the case for video.", "7 Limitations"),
])
def test_limitation_is_never_a_success_claim_a_signpost_or_an_empty_pointer(text, heading):
    assert score("limitations", text, heading) == 0.0


@pytest.mark.parametrize("text,heading", [
    ("A key limitation of our method is that it requires ten times more compute than the baseline.", "6 Limitations"),
    ("Currently, the capabilities of TinyViT fall short of larger models in dense prediction tasks.", "7 Conclusion"),
    ("Our method is slightly below EfficientNet when training with ImageNet only.", "5 Experiments"),
])
def test_limitation_is_a_stated_weakness_of_the_papers_own_approach(text, heading):
    assert score("limitations", text, heading) > 0


def test_polarity_of_weakness_and_success():
    assert is_success_claim("On MNIST distillation works remarkably well.")
    assert is_success_claim("Our method does not require any labels and outperforms the baseline.")
    assert not is_success_claim("Our models still fail to follow instructions on some inputs.")
    assert weakness("Our method does not require labels.") == 0  # praise dressed as a negation
    assert weakness("InstructGPT does not significantly improve over GPT-3 on Winogender.") >= 1
    assert falls_behind("Our method DeiT is slightly below EfficientNet.")
    assert not falls_behind("We found that the KL penalty performed worse than the clipped objective.")


# --------------------------------------------------------------------------- future work: a concrete plan


@pytest.mark.parametrize("text,heading", [
    ("We leave these experiments for the future.", "6 Conclusion"),
    ("In this section, we will discuss some interesting findings and possible improvements that have not yet "
     "been validated.", "5 Discussion"),
    ("We then outline a number of promising avenues for future work.", "7 Future work"),
    ("We plan to release our code and model checkpoints.", "Limitations"),
    ("We hope to test this conjecture in future work.", "6 Discussion"),
    ("In the future, we plan to invest in research across the following directions for our model.", "6 Conclusion"),
])
def test_future_work_is_never_boilerplate_a_signpost_or_a_release(text, heading):
    assert score("future_work", text, heading) == 0.0


def test_future_work_names_what_to_do():
    assert score("future_work", "In future work, we would study how to effectively transfer the knowledge from wider "
                 "and deeper teachers to the student.", "6 Conclusion") > 0
    assert score("future_work", "Adaptively choosing layers for a specific task is a challenging problem and we "
                 "leave it as future work.", "5 Analysis") > 0
    assert is_boilerplate_future("This is left for future work.")
    assert not is_boilerplate_future("We leave how to build a better QA model as future work.")
    assert future_cue("One could also combine our method with filtering the pretraining data.")
    assert not future_cue("We further explore distilling the reasoning capability to small dense models.")


# --------------------------------------------------------------------------- results, captions, architecture


def test_headline_result_needs_a_measure_and_is_never_a_caption():
    assert score("metrics", "In stage1, stage2 and stage3, we use finewebedu as our main training dataset, "
                 "which accounts for 80% of the full data.", "3 Method") == 0.0
    assert score("metrics", "Table 6: Mean final scores of PPO and A2C on Atari games after 40M game frames.",
                 "6 Experiments", caption=True) == 0.0
    assert score("metrics", "TinyViT achieves a top-1 accuracy of 84.8% on ImageNet-1k with only 21M parameters, "
                 "outperforming Swin-B.", "Abstract") > 0


def test_a_caption_that_only_labels_a_figure_never_stands_alone():
    assert is_caption("Figure 4: Hybrid Deployment Framework")
    assert score("architecture", "Figure 4: Hybrid Deployment Framework", "3 Method", caption=True) == 0.0
    assert score("architecture", "Figure 3: SONAR architecture.", "3 Method", caption=True) == 0.0
    assert score("innovations", "Figure 1: Overview of our proposed framework.", "1 Introduction", caption=True) == 0.0


def test_architecture_names_parts_of_the_model_not_data_work():
    assert score("architecture", "Additionally, because the model output is sometimes chaotic and difficult to "
                 "read, we have filtered out chain-of-thought with mixed languages and code blocks.",
                 "2.3 Cold Start") == 0.0
    assert score("architecture", "The model consists of a vision encoder, an MLP projector and a transformer "
                 "decoder with 24 layers.", "3 Method") > 0


def test_signposts():
    assert is_signpost("In this section, we describe our training setup.")
    assert is_signpost("However, our setup still has important disanalogies, which we now elaborate on.")
    assert is_signpost("The rest of this paper is organized as follows.")
    assert is_signpost("We end with a discussion to motivate future work on simple methods (§6).")
    assert not is_signpost("We train for 16 epochs with a cosine learning rate schedule.")


def test_success_claim_is_never_a_challenge():
    assert score("challenges", "REER provides a scalable, cost-effective, and automatable third path for "
                 "cultivating reasoning.", "1 Introduction") == 0.0
    assert score("challenges", "However, existing compression methods suffer from large accuracy drops.",
                 "1 Introduction") > 0


# --------------------------------------------------------------------------- datasets and reader marks


def test_dataset_names_read_past_citations_versions_and_small_letters():
    assert dataset_names_in("InstructGPT does not improve over GPT-3 on the Winogender (Rudinger et al., 2018) and "
                            "CrowSPairs (Nangia et al., 2020) datasets.") == ["Winogender", "CrowSPairs"]
    assert dataset_names_in("We report results on SQuAD v1.1 and SQuAD v2.0, and on AlpacaEval 2.0.") == [
        "SQuAD v1.1", "SQuAD v2.0", "AlpacaEval 2.0"]
    assert dataset_names_in("We need only 12.5% of the data to outperform distillation on e-SNLI dataset.") == [
        "e-SNLI"]
    assert dataset_names_in("For distilled models, we report results on AIME 2024, GPQA Diamond, Codeforces, "
                            "and LiveCodeBench.") == ["AIME 2024", "GPQA Diamond", "Codeforces", "LiveCodeBench"]
    assert dataset_names_in("We train on 8 GPUs in NeurIPS 2023 style, following BERT.") == []


def test_reader_marks_cover_comment_text_only():
    marks = {1: [((500.0, 100.0, 595.0, 300.0), frozenset("llms annotate data along with reasoning".split())),
                 ((0.0, 0.0, 100.0, 50.0), None)]}
    # A typed comment's own words inside its box are a mark; body text under a large comment box is not.
    assert is_marked(1, (510.0, 120.0, 580.0, 160.0), "- LLMs annotate data along with reasoning", marks)
    assert not is_marked(1, (510.0, 120.0, 580.0, 160.0), "We propose distilling step-by-step.", marks)
    # Handwriting (no words recorded): anything mostly inside it.
    assert is_marked(1, (10.0, 10.0, 60.0, 30.0), "Why?", marks)
    assert not is_marked(2, (10.0, 10.0, 60.0, 30.0), "Why?", marks)
