"""Does a piece of evidence support a sentence? The one checker behind ask, surveys and digests.

A sentence is supported by an evidence text when all of these hold:

  hard checks (any failure rejects, whatever the rest says)
    numbers   every number in the sentence appears in the evidence (12.5, 74, 20%; thousands
              commas and a trailing % are ignored), equation numbers included
    names     every name-like word (PPO, DistilBERT, V100, GPT-4, a capitalised word inside the
              sentence) appears in the evidence or in `names_from` (e.g. the cited paper's title,
              its acronym and abstract: the paper's own names)
    symbols   every math symbol or Greek letter (ε, θ, ≤, ∑) appears in the evidence
    formulas  every span around '=' (Lt(θ) = min(...), ε = 0.2) appears in the evidence verbatim,
              spaces ignored: a formula is copied from the paper or not stated
  soft checks
    coverage  at least MIN_COVERAGE of the sentence's content words occur in the evidence (or in
              `names_from`: naming the cited paper is not an unsupported claim)
    meaning   with an embedder: the best evidence window (one or two consecutive sentences)
              has cosine similarity ≥ MIN_SIMILARITY to the sentence

`score` (0..1) ranks candidate evidence for one sentence: the mean of coverage
and similarity (coverage alone without an embedder). Everything is
deterministic: no model generates anything here, the embedder only measures.

Citation tags ([1707.06347 p.3], [2]) are removed from the sentence before checking.
`check_cited` is the one entry point for a sentence that cites a page: every writer calls it.
"""
from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from surveyor.grounding.citations import Citation, strip_citations
from surveyor.grounding.quotes import PageTexts, quote_on_page
from surveyor.textnorm import acronym, collapse, content_words, match_key, numbers_in, s_stem, split_sentences

# A paraphrase by a small model keeps most content words; an invented claim keeps few.
MIN_COVERAGE = 0.5
# Without the embedder, word overlap is the only soft signal, so it must carry more.
MIN_COVERAGE_WITHOUT_EMBEDDER = 0.7
# all-MiniLM-L6-v2 cosine: close paraphrases of one sentence score ~0.7+, same-topic unrelated
# claims ~0.3–0.5; the hard checks catch what a same-topic claim gets wrong in numbers and names.
MIN_SIMILARITY = 0.5
# Evidence windows longer than this many sentences are not embedded (a whole page is ~30–60).
MAX_WINDOWS = 120
# A quote shorter than this says nothing checkable ("Yes.", a table cell).
MIN_QUOTE_CHARS = 25
EMBED_CACHE_SIZE = 4096

# Capitalised words that point into a paper rather than name something ("given in Equation 7").
NOT_NAMES = frozenset("equation equations eq eqs table tables figure figures fig figs section sections sec "
                      "appendix algorithm theorem lemma definition step stage phase part chapter".split())
_NAME = re.compile(r"(?<![\w\-])[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")
# Text that addresses a model rather than reporting research: never evidence, never a quote.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|above|earlier|all|any|the)\b.{0,30}"
    r"\b(?:instructions?|prompts?|rules?|directions?)\b"
    r"|\b(?:system prompt|you are now|as an ai|new instructions?)\b"
    r"|\b(?:respond|reply|answer|output|print|say)\s+(?:only\s+)?(?:with|in)\b.{0,40}\b(?:json|format|words?)\b",
    re.IGNORECASE)


@dataclass
class Verdict:
    supported: bool
    score: float
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"supported": self.supported, "score": self.score, "reasons": self.reasons}


def is_instruction_like(text: str) -> bool:
    """True for text addressed to a model ('ignore previous instructions', 'you are now ...')."""
    return bool(_INSTRUCTION.search(collapse(text)))


def _norm_number(value: str) -> str:
    return value.rstrip("%").replace(",", "")


def numbers_of(text: str) -> set[str]:
    """Numbers as compared: 16,000 → 16000, 20% → 20."""
    return {_norm_number(n) for n in numbers_in(text)}


def name_words(sentence: str) -> list[str]:
    """Words that name something: acronyms, CamelCase, letter+digit mixes, capitalised words after the first."""
    found = []
    for i, match in enumerate(_NAME.finditer(sentence)):
        word = match.group(0)
        if not any(c.isalpha() for c in word) or word.lower() in NOT_NAMES:
            continue
        upper_inside = any(c.isupper() for c in word[1:])
        has_digit = any(c.isdigit() for c in word)
        capitalised_mid = i > 0 and word[0].isupper() and not _after_sentence_break(sentence, match.start())
        if upper_inside or has_digit or capitalised_mid:
            found.append(word)
    return found


def _after_sentence_break(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".:;!?\"“(" or before.endswith("—")


# A formula is short: a span this long that is not in the evidence is a rewritten formula.
MIN_FORMULA_CHARS = 4
_PLAIN_WORD = re.compile(r"^[a-z]{2,}[,.;:]?$")


def formulas(sentence: str) -> list[str]:
    """Spans of the sentence around '=' (Lt(θ) = min(...), ε = 0.2), stopped by plain words ('where', 'and').

    A formula must be copied, not paraphrased: each span must occur in the evidence verbatim,
    ignoring spaces (PDF text spaces math arbitrarily).
    """
    tokens = collapse(sentence).split()
    spans: list[str] = []
    i = 0
    while i < len(tokens):
        if "=" not in tokens[i]:
            i += 1
            continue
        start = i - 1 if i > 0 and tokens[i].startswith("=") and not _PLAIN_WORD.match(tokens[i - 1]) else i
        end = i + 1
        while end < len(tokens) and not _PLAIN_WORD.match(tokens[end]):
            end += 1
        span = " ".join(tokens[start:end]).rstrip(".,;:")
        if len(_squeeze(span)) >= MIN_FORMULA_CHARS:
            spans.append(span)
        i = end
    return spans


def _squeeze(text: str) -> str:
    """Formula comparison form: match_key without spaces or hyphens (line-end hyphens are ambiguous)."""
    return re.sub(r"[\s\-]+", "", match_key(text))


def _symbols(text: str) -> set[str]:
    """Math symbols and Greek letters, NFKC-normalised (so ϵ and ε stay distinct only where fonts made them so)."""
    out = set()
    for ch in unicodedata.normalize("NFKC", text):
        if unicodedata.category(ch) == "Sm" and ch not in "+=<>|~":
            out.add(ch)
        elif "GREEK" in unicodedata.name(ch, ""):
            out.add(ch.lower())
    return out


def _stems(words: Sequence[str]) -> set[str]:
    return {s_stem(w) for w in words}


# --------------------------------------------------------------------------- embeddings


class _EmbedCache:
    """Unit vectors of texts already seen, per embedder (evidence is re-checked against many sentences)."""

    def __init__(self, size: int = EMBED_CACHE_SIZE):
        self.size = size
        self.vectors: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    def get(self, embedder, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (id(embedder), t) not in self.vectors))
        if missing:
            for text, vector in zip(missing, embedder.embed(missing)):
                self.vectors[(id(embedder), text)] = vector
            while len(self.vectors) > self.size:
                self.vectors.popitem(last=False)
        return np.vstack([self.vectors[(id(embedder), t)] for t in texts])


_CACHE = _EmbedCache()


def embed_cached(embedder, texts: list[str]) -> np.ndarray:
    """Unit vectors of the texts, remembered per embedder (quotes are compared with many claims)."""
    return _CACHE.get(embedder, list(texts))


def evidence_windows(evidence_text: str) -> list[str]:
    """Sentences of the evidence and pairs of consecutive ones (a claim often spans a sentence break)."""
    sentences = split_sentences(evidence_text)[:MAX_WINDOWS]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
    return sentences + pairs if sentences else [collapse(evidence_text)]


def similarity(sentence: str, evidence_text: str, embedder) -> float:
    """Best cosine between the sentence and any evidence window."""
    windows = evidence_windows(evidence_text)
    vectors = _CACHE.get(embedder, [sentence] + windows)
    return float(np.max(vectors[1:] @ vectors[0]))


# --------------------------------------------------------------------------- the checks


def check_support(sentence: str, evidence_text: str, embedder=None, names_from: str = "",
                  page_text: str = "") -> Verdict:
    """Verdict on whether `evidence_text` supports `sentence` (see the module docstring for the rules).

    `page_text`: the whole cited page, when the evidence is a passage of it. Numbers, names and
    symbols may come from anywhere on the cited page (an equation's number often sits on its own
    line, outside the passage); coverage and meaning are judged on the passage itself.
    """
    claim = strip_citations(sentence)
    if not claim or not evidence_text or not evidence_text.strip():
        return Verdict(False, 0.0, ["empty sentence or evidence"])
    reasons: list[str] = []
    facts = f"{evidence_text}\n{page_text}" if page_text else evidence_text
    facts_key = match_key(facts)

    missing_numbers = sorted(numbers_of(claim) - numbers_of(facts))
    if missing_numbers:
        reasons.append(f"numbers not in evidence: {', '.join(missing_numbers)}")
    name_pool = f"{facts_key} {match_key(names_from)}"
    missing_names = [n for n in dict.fromkeys(name_words(claim))
                     if match_key(n) not in name_pool and match_key(n).replace("-", "") not in name_pool]
    if missing_names:
        reasons.append(f"names not in evidence: {', '.join(missing_names)}")
    altered = [f for f in formulas(claim) if _squeeze(f) not in _squeeze(facts)]
    if altered:
        reasons.append(f"formula not verbatim in evidence: {'; '.join(altered)}")
    missing_symbols = sorted(_symbols(claim) - _symbols(facts))
    if missing_symbols:
        reasons.append(f"symbols not in evidence: {' '.join(missing_symbols)}")

    words = _stems(content_words(claim))
    covered = _stems(content_words(evidence_text)) | _stems(content_words(names_from))
    coverage = len(words & covered) / len(words) if words else 0.0
    if embedder is not None:
        sim = similarity(claim, evidence_text, embedder)
        score = (coverage + max(sim, 0.0)) / 2
        if coverage < MIN_COVERAGE:
            reasons.append(f"content-word coverage {coverage:.2f} < {MIN_COVERAGE}")
        if sim < MIN_SIMILARITY:
            reasons.append(f"similarity {sim:.2f} < {MIN_SIMILARITY}")
    else:
        score = coverage
        if coverage < MIN_COVERAGE_WITHOUT_EMBEDDER:
            reasons.append(f"content-word coverage {coverage:.2f} < {MIN_COVERAGE_WITHOUT_EMBEDDER}")
    return Verdict(not reasons, round(score, 4), reasons)


def best_support(sentence: str, passages: Sequence[Any], embedder=None, names_from=None,
                 page_text=None) -> tuple[Any | None, Verdict]:
    """The passage (anything with .text, or a str) that best supports the sentence, and its verdict.

    A supported passage always wins over an unsupported one; among equals the higher score,
    then the earlier passage (retrieval order). (None, unsupported) when there are no passages.
    `names_from(passage)` and `page_text(passage)` supply those check_support arguments per passage;
    by default names come from the passage's `title` and its acronym, and no page text is used.
    """
    best: tuple[Any | None, Verdict] = (None, Verdict(False, 0.0, ["no evidence"]))
    for passage in passages:
        text = passage if isinstance(passage, str) else passage.text
        title = "" if isinstance(passage, str) else getattr(passage, "title", "") or ""
        names = names_from(passage) if names_from else f"{title} {acronym(title)}"
        page = page_text(passage) if page_text else ""
        verdict = check_support(sentence, text, embedder, names_from=names, page_text=page)
        if (verdict.supported, verdict.score) > (best[1].supported, best[1].score):
            best = (passage, verdict)
    return best


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_control(text: str) -> str:
    """Text without control characters (PDF math fonts decode some glyphs to \x00-\x1f)."""
    return _CONTROL.sub(" ", text)


def quotable_sentences(evidence_text: str) -> list[str]:
    """Sentences of the evidence that may be quoted: long enough, not garbled, not addressed to a model."""
    return [s for s in split_sentences(evidence_text)
            if len(s) >= MIN_QUOTE_CHARS and not _CONTROL.search(s) and not is_instruction_like(s)]


def best_quote(claim: str, evidence_text: str, embedder=None) -> tuple[str | None, float]:
    """The evidence sentence closest to `claim` (cosine with an embedder, else word overlap) and that score."""
    candidates = quotable_sentences(evidence_text)
    if not candidates:
        return None, 0.0
    claim = strip_citations(claim)
    if embedder is not None:
        vectors = _CACHE.get(embedder, [claim] + candidates)
        scores = vectors[1:] @ vectors[0]
    else:
        words = _stems(content_words(claim))
        scores = np.array([len(words & _stems(content_words(c))) / max(1, len(words)) for c in candidates])
    best = int(np.argmax(scores))  # first of equals: deterministic
    return candidates[best], float(scores[best])


def check_cited(claim: str, citation: Citation, pages: PageTexts, embedder=None, evidence: str | None = None,
                verbatim: bool = False) -> Verdict:
    """Does the page `citation` points at support `claim`? The one check every writer's cited sentence passes.

    - The cited page must be in the corpus.
    - `verbatim`: the claim is a quote; it must be on the page (quote_on_page) and pass the hard checks.
    - otherwise a claim found verbatim on the page is supported; else check_support decides, against
      `evidence` (the passage or quotes the sentence was written from, all on that page) when given,
      with numbers, names and symbols also allowed from anywhere on the page, else against the page.
    Names may also come from the cited paper's title, initials and abstract.
    """
    page_text = pages.text(citation.paper_id, citation.page)
    if not page_text:
        return Verdict(False, 0.0, [f"page {citation.page} of {citation.paper_id} is not in the corpus"])
    names = pages.names(citation.paper_id)
    if verbatim:  # a quote is compared as quoted: its own bracketed numbers ("[12]") are part of it
        verdict = check_support(claim, page_text, None, names_from=names)
        if verdict.supported and not quote_on_page(claim, page_text):
            return Verdict(False, verdict.score, ["quote not found verbatim on the page"])
        return verdict
    claim = strip_citations(claim)
    if quote_on_page(claim, page_text):
        return Verdict(True, 1.0, ["verbatim on the cited page"])
    if evidence:
        return check_support(claim, evidence, embedder, names_from=names, page_text=page_text)
    return check_support(claim, page_text, embedder, names_from=names)
