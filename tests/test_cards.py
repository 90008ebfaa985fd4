"""Evidence cards on real papers: every quote is on its page, main benchmarks are found, cards are cached,
and a slot holds what an expert would quote or nothing (never another paper's work, a success claim as a
limitation, boilerplate future work, a caption alone or a reader's notes)."""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pymupdf
import pytest

from conftest import run_cli
from surveyor.evidence.cards import (
    QUOTE_FIELDS,
    EvidenceCard,
    assets_dir,
    build_card_from_pdf,
    card_path,
    get_card,
)
from surveyor.evidence.datasets import dataset_names_in, result_numbers
from surveyor.evidence.sections import _roles
from surveyor.evidence.sentence_rules import is_caption, is_success_claim
from surveyor.grounding import quote_on_page
from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor
from surveyor.settings import load_settings
from surveyor.textnorm import match_key

# Each paper's abstract names (or, for DeepSeek-R1, its first result sentence names) a main benchmark.
MAIN_BENCHMARKS = {
    "2501.12948": "AIME 2024",
    "1910.01108": "GLUE",
    "2012.12877": "ImageNet",
    "2203.02155": "TruthfulQA",
    "2402.05861": "EgoSchema",
    "1707.06347": "Atari",
}


@pytest.fixture(scope="module")
def card_home(ingested_home, tmp_path_factory) -> Path:
    """A writable copy of the shared ingested home (cards and crops are written under index/)."""
    home = tmp_path_factory.mktemp("cards") / "home"
    shutil.copytree(ingested_home, home)
    return home


@pytest.fixture(scope="module")
def cards(card_home) -> dict[str, EvidenceCard]:
    settings = load_settings(card_home)
    catalog = Catalog(settings.index_dir)
    try:
        return {p.paper_id: get_card(settings, p.paper_id, catalog) for p in catalog.papers()}
    finally:
        catalog.close()


def test_every_quote_of_every_card_is_on_its_page(card_home, cards):
    catalog = Catalog(load_settings(card_home).index_dir)
    quotes = 0
    for paper_id, card in cards.items():
        for field, quote in card.quotes():
            quotes += 1
            page = catalog.page_text(paper_id, quote.page)
            assert quote_on_page(quote.text, page), f"{paper_id} {field} p.{quote.page}: {quote.text!r}"
        text = " ".join(q.text for _, q in card.quotes())
        for name in card.dataset_names:
            assert name in text, f"{paper_id}: dataset name {name!r} occurs in no quote"
    assert quotes >= 20 * len(cards)


def test_cards_fill_their_fields(cards):
    for paper_id, card in cards.items():
        assert not card.note, (paper_id, card.note)
        filled = [name for name in QUOTE_FIELDS if getattr(card, name)]
        assert {"innovations", "metrics"} <= set(filled), (paper_id, filled)
        assert len(filled) >= 5, (paper_id, filled)
        for name in QUOTE_FIELDS:
            scores = [q.score for q in getattr(card, name)]
            assert len(scores) <= 5 and scores == sorted(scores, reverse=True), (paper_id, name, scores)


@pytest.mark.parametrize("paper_id,benchmark", sorted(MAIN_BENCHMARKS.items()))
def test_main_benchmark_is_in_datasets_or_metrics(cards, paper_id, benchmark):
    card = cards[paper_id]
    text = " ".join(q.text for q in card.datasets + card.metrics).lower()
    assert benchmark.lower() in text, [q.text for q in card.datasets + card.metrics]
    assert any(benchmark.lower() in name.lower() for name in card.dataset_names), card.dataset_names


def test_ppo_key_equations_are_its_objectives_with_crops(card_home, cards):
    card = cards["1707.06347"]
    assert 1 <= len(card.equations) <= 3
    folder = assets_dir(load_settings(card_home), "1707.06347")
    for eq in card.equations:
        assert eq["why"] and eq["page"] >= 1 and len(eq["bbox"]) == 4
        crop = folder / eq["image"]
        assert crop.is_file() and crop.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The clipped surrogate objective, the paper's main equation (7), is among them.
    assert "7" in {eq["number"] for eq in card.equations}


def test_second_call_reads_the_cache(card_home, cards):
    settings = load_settings(card_home)
    catalog = Catalog(settings.index_dir)
    path = card_path(settings, catalog.paper("2012.12877"))
    catalog.close()
    assert path.is_file()
    before = path.stat().st_mtime_ns
    started = time.perf_counter()
    again = get_card(settings, "2012.12877")
    assert time.perf_counter() - started < 1.0  # extraction takes seconds; reading JSON does not
    assert path.stat().st_mtime_ns == before
    assert again.to_dict() == cards["2012.12877"].to_dict()
    assert EvidenceCard.from_dict(json.loads(path.read_text())).to_dict() == again.to_dict()


def test_a_new_extractor_version_rebuilds_and_replaces_the_cached_card(card_home, cards, monkeypatch):
    from surveyor import versions

    settings = load_settings(card_home)
    catalog = Catalog(settings.index_dir)
    record = catalog.paper("1910.01108")
    catalog.close()
    old = card_path(settings, record)
    monkeypatch.setattr(versions, "CARDS", "next")
    new = card_path(settings, record)
    assert new != old and not new.exists()
    get_card(settings, "1910.01108")
    assert new.is_file() and not old.exists()


def test_quote_check_ignores_line_breaks_hyphens_and_ligatures_but_not_words():
    page = "We propose a new repre-\nsentation of the ﬁne-tuning\nobjective.\n"
    assert quote_on_page("We propose a new representation of the fine-tuning objective.", page)
    assert not quote_on_page("We propose a new representation of the pre-training objective.", page)
    assert not quote_on_page("", page)


def test_dataset_names_and_result_numbers():
    assert dataset_names_in("DeepSeek-R1 achieves 79.8% Pass@1 on AIME 2024 and 97.3% on MATH-500.") == [
        "AIME 2024", "MATH-500"]
    assert dataset_names_in("We evaluate on MMLU, GSM8K and HumanEval, and on LibriSpeech test-clean.") == [
        "MMLU", "GSM8K", "HumanEval", "LibriSpeech test-clean"]
    assert dataset_names_in("the General Language Understanding Evaluation (GLUE) benchmark") == ["GLUE"]
    assert dataset_names_in("We train on 8 GPUs in NeurIPS 2023 style, following BERT.") == []
    assert result_numbers("As shown in Table 2 [12], it is 0.6% behind, see Section 4.1 (2019).") == ["0.6%"]


# --------------------------------------------------------------------------- what a slot may hold

# Papers where an older extractor picked a wrong sentence; built from the PDF, nothing ingested.
SLOT_PAPERS = ["1706.03741", "2212.00193", "2311.17049", "2412.19048", "2509.06160", "2602.02204"]
_STORY = ("challenges", "innovations", "architecture", "training", "metrics", "limitations", "future_work")


@pytest.fixture(scope="module")
def pdf_cards(tmp_path_factory, corpus_dir) -> dict[str, EvidenceCard]:
    settings = load_settings(tmp_path_factory.mktemp("pdf-cards") / "home")
    return {name: build_card_from_pdf(settings, corpus_dir / "pdf" / f"{name}.pdf", name, media=False)
            for name in SLOT_PAPERS}


def _texts(card: EvidenceCard, field: str) -> list[str]:
    return [q.text for q in getattr(card, field)]


def test_a_related_work_sentence_is_never_an_innovation(pdf_cards):
    card = pdf_cards["1706.03741"]  # "Compared to all prior work, our key contribution ..." sits in 1.1 Related Work
    assert card.innovations
    assert not any("Compared to all prior work" in t for t in _texts(card, "innovations"))
    assert not any("related" in _roles(q.section) for q in card.innovations)


def test_a_limitation_is_never_a_success_claim(pdf_cards, cards):
    assert not any("third path" in t for t in _texts(pdf_cards["2509.06160"], "limitations"))
    assert not any("feedback loop of what works" in t for t in _texts(cards["2203.02155"], "limitations"))
    assert cards["2203.02155"].limitations  # InstructGPT states its limitations; the card quotes one
    for card in [*pdf_cards.values(), *cards.values()]:
        for field in ("limitations", "challenges"):
            assert not any(is_success_claim(t) for t in _texts(card, field)), (card.paper_id, field)


def test_future_work_is_never_boilerplate_or_a_signpost(pdf_cards):
    assert "We leave these experiments for the future." not in _texts(pdf_cards["2212.00193"], "future_work")
    assert not any(t.startswith("In this section") for t in _texts(pdf_cards["2412.19048"], "future_work"))
    assert not any("accounts for 80% of the full data" in t for t in _texts(pdf_cards["2412.19048"], "metrics"))


def test_a_caption_never_stands_alone(pdf_cards, cards):
    assert "Figure 1. Any-to-any multimodal model architecture." not in _texts(pdf_cards["2602.02204"], "architecture")
    for card in [*pdf_cards.values(), *cards.values()]:
        for field in _STORY:
            for text in _texts(card, field):
                label_only = is_caption(text) and len(re.sub(r"^\S+\s*\S+\s*", "", text).split()) < 12
                assert not label_only, (card.paper_id, field, text)


def test_a_readers_notes_are_never_quoted(pdf_cards, corpus_dir):
    summary = pdf_cards["2311.17049"]  # pp. 18-20 are a reader's handwritten-style summary; p. 4 has notes
    assert summary.innovations and summary.metrics
    assert not [q for _, q in summary.quotes() if q.page >= 18]
    assert not any("Can you think of" in q.text or "Why do we want" in q.text for _, q in summary.quotes())
    # 2212.00193 carries typed comments (FreeText annotations) beside and over its text.
    doc = pymupdf.open(corpus_dir / "pdf" / "2212.00193.pdf")
    comments = [match_key(a.info["content"]) for page in doc for a in page.annots() if a.type[1] == "FreeText"]
    doc.close()
    assert comments
    for _, quote in pdf_cards["2212.00193"].quotes():
        key = match_key(quote.text)
        assert not any(key[:50] in comment for comment in comments), quote.text


def test_a_slot_the_paper_leaves_empty_stays_empty(cards):
    # PPO and DistilBERT state no limitation and no future work (the labels' null slots).
    for paper_id in ("1707.06347", "1910.01108"):
        assert cards[paper_id].limitations == [] and cards[paper_id].future_work == [], paper_id


# --------------------------------------------------------------------------- unusual PDFs

_PLAIN_PAPER = [
    ("Abstract", "Large speech models are expensive to run on small devices. However, existing compression "
                 "methods suffer from large accuracy drops. We propose a simple pruning method that keeps "
                 "accuracy. Our model achieves 4.1% word error rate on the LibriSpeech test-clean benchmark."),
    ("1 Introduction", "Speech recognition has improved quickly. However, current models remain too large for "
                       "phones and prior work fails to keep accuracy when pruning. Our contributions are a "
                       "pruning schedule and an analysis of where accuracy is lost."),
    ("2 Method", "The model consists of a convolutional encoder followed by twelve transformer layers. We remove "
                 "attention heads whose weights are small and keep the decoder unchanged."),
    ("3 Experiments", "We train with a learning rate of 0.001 and a batch size of 64 for 30 epochs. We evaluate "
                      "on the LibriSpeech test-clean benchmark. The pruned model achieves 4.1% word error rate "
                      "compared to 4.0% for the full model."),
    ("4 Conclusion", "A limitation of this study is that it only covers English speech. In future work we plan "
                     "to extend the method to multilingual models."),
]


def _write_plain_pdf(path: Path) -> None:
    """A text-only paper in Helvetica: no math fonts, no display equations, no figures."""
    doc = pymupdf.open()
    page, y = doc.new_page(), 72
    page.insert_text((72, y), "Pruning Speech Models Without Losing Accuracy", fontsize=16, fontname="hebo")
    y += 40
    for heading, body in _PLAIN_PAPER:
        page.insert_text((72, y), heading, fontsize=12, fontname="hebo")
        y += 18
        box = pymupdf.Rect(72, y, 540, y + 150)
        spare = page.insert_textbox(box, body, fontsize=10, fontname="helv")
        y = box.y1 - spare + 16
    doc.save(path)


def _ingest(home: Path, pdf: Path) -> None:
    settings = load_settings(home)
    settings.arxiv.api_url = "http://127.0.0.1:9/api/query"
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run([pdf])
    assert report.added == 1, report.failed


def test_a_paper_without_math_fonts_still_gets_a_card(tmp_path):
    pdf = tmp_path / "plain.pdf"
    _write_plain_pdf(pdf)
    home = tmp_path / "home"
    _ingest(home, pdf)
    settings = load_settings(home)
    catalog = Catalog(settings.index_dir)
    (record,) = catalog.papers()
    card = get_card(settings, record.paper_id, catalog)
    assert card.equations == [] and not card.note
    assert card.innovations and card.challenges and card.metrics and card.training
    assert "LibriSpeech test-clean" in card.dataset_names
    assert card.limitations and card.future_work
    for _, quote in card.quotes():
        assert quote_on_page(quote.text, catalog.page_text(record.paper_id, quote.page))
    catalog.close()


def test_an_image_only_pdf_gets_an_empty_card_that_says_why(tmp_path):
    picture = pymupdf.open()
    picture.new_page().insert_text((72, 72), "Scanned page: this text becomes pixels.", fontsize=14)
    pixmap = picture[0].get_pixmap(dpi=72)
    pdf = tmp_path / "scan.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_image(pymupdf.Rect(0, 0, 595, 842), pixmap=pixmap)
    doc.save(pdf)
    home = tmp_path / "home"
    _ingest(home, pdf)
    settings = load_settings(home)
    (record,) = Catalog(settings.index_dir).papers()
    card = get_card(settings, record.paper_id)
    assert card.is_empty() and "no text layer" in card.note
    assert card_path(settings, record).is_file()


# --------------------------------------------------------------------------- CLI


def test_cli_card_equations_and_unknown_id(card_home, cards):
    done = run_cli(card_home, "card", "1707.06347", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["paper_id"] == "1707.06347" and data["innovations"]
    assert all(Path(eq["image"]).is_absolute() and Path(eq["image"]).is_file() for eq in data["equations"])

    done = run_cli(card_home, "card", "1707.06347")
    assert done.returncode == 0 and "Innovations" in done.stdout and "[1707.06347 p.1]" in done.stdout

    done = run_cli(card_home, "equations", "1707.06347", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {"1", "7", "12"} <= {r["number"] for r in rows}
    for row in rows:
        assert set(row) >= {"number", "page", "bbox", "text", "latex", "image", "context"}
        assert Path(row["image"]).is_absolute() and Path(row["image"]).is_file()

    done = run_cli(card_home, "figures", "2012.12877", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures and all(Path(f["image"]).is_file() and f["caption"] for f in figures)

    done = run_cli(card_home, "card", "2999.00001")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == ["surveyor: error: paper 2999.00001 is not in the corpus"]
