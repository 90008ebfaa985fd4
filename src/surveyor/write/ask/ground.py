"""Grounding the model's reply: each sentence keeps its citation only if the cited page supports it.

A sentence whose cited passage does not support it moves to a retrieved passage that does,
else gives way to the closest verbatim quote of the retrieved pages, else is dropped
(see answer.py, step 4). A supported paraphrase that lost the numbers of its quote
becomes the quote.
"""
from __future__ import annotations

import re

from surveyor import grounding
from surveyor.grounding import (
    PageTexts,
    Verdict,
    check_cited,
    has_tag,
    is_instruction_like,
    numbers_of,
    parse_tags,
    strip_citations,
    strip_control,
)
from surveyor.index.bm25 import tokenize
from surveyor.index.catalog import Catalog
from surveyor.retrieve.retriever import Passage
from surveyor.textnorm import content_words, s_stem, split_sentences
from surveyor.write.ask.quotes import (
    MAX_QUOTE_CHARS,
    QUESTION_WORDS,
    Sentence,
    _render,
    _render_quote,
    closest_quote,
    quote_candidates,
)

# Passages shown to the model: prompt evaluation dominates latency (~60-100 tokens/s on 2 cores).
# They are numbered from 1 in the prompt, so a tag [n] or [Passage n] names one of them.
PROMPT_PASSAGES = 4
# The prompt asks for 3 short tagged sentences; a 4th is kept if the model writes one within the tokens.
MAX_SENTENCES = 4
# A claim shorter than this many content words is filler ("See below."), not a sentence to cite.
MIN_CLAIM_WORDS = 3
# A sentence that fails verification becomes the closest verbatim quote only if the quote is this
# close (cosine) to it; otherwise the sentence is dropped.
REPLACE_MIN_SIMILARITY = 0.5


# =========================================================================== grounding


_TAG_AFTER_STOP = re.compile(r"([.!?])\s*((?:\[[^\[\]]{1,80}\]\s*)+)")


def cited_passages(sentence: str, passages: list[Passage]) -> list[Passage]:
    """Retrieved passages a sentence's tags point at ([1707.06347 p.3], [Passage 2], [2]), in tag order."""
    out: list[Passage] = []
    for ref in parse_tags(sentence):
        if isinstance(ref, int):
            if 1 <= ref <= min(PROMPT_PASSAGES, len(passages)):
                out.append(passages[ref - 1])
        else:
            out += [p for p in passages if ref.page == p.page and ref.paper_id in (p.arxiv_id, p.paper_id)]
    return list({p.chunk_id: p for p in out}.values())


def reply_sentences(raw: str) -> list[str]:
    """The model's reply as sentences; a tag split off after the full stop joins its sentence."""
    text = re.sub(r"(?m)^\s*(?:[-*•]|\d+[.)])\s+", " ", strip_control(raw))
    text = re.sub(r"^\s*answer\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    text = _TAG_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", text)  # "x. [t]" → "x [t]."
    out: list[str] = []
    for sentence in split_sentences(text):
        if out and not strip_citations(sentence) and has_tag(sentence):
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


def supports(claim: str, p: Passage, catalog: Catalog, embedder) -> Verdict:
    """grounding.check_cited of a claim by a retrieved passage: judged on the passage, facts from its page."""
    return check_cited(claim, grounding.Citation(p.paper_id, p.page), PageTexts.of(catalog), embedder, evidence=p.text)


def ground(raw: str, passages: list[Passage], catalog: Catalog, embedder, idf=None,
           question: str = "", page_texts=None) -> list[Sentence]:
    """Each sentence of the model's reply, kept with a verified citation, re-cited, replaced by a quote, or dropped."""
    out: list[Sentence] = []
    seen_quotes: set[str] = set()
    for original in reply_sentences(raw):
        claim = strip_citations(original).strip()
        if len([s for s in out if s.action != "dropped"]) >= MAX_SENTENCES:
            out.append(Sentence("", "dropped", original=original, reasons=[f"more than {MAX_SENTENCES} sentences"]))
            continue
        if len(content_words(claim)) < MIN_CLAIM_WORDS or is_instruction_like(claim):
            out.append(Sentence("", "dropped", original=original, reasons=["not a claim"]))
            continue
        if question and restates(claim, question):
            out.append(Sentence("", "dropped", original=original, reasons=["restates the question"]))
            continue
        sentence = _ground_one(original, claim, passages, catalog, embedder, idf, question, page_texts)
        if sentence.quote and sentence.quote in seen_quotes and sentence.action == "quoted":
            sentence = Sentence("", "dropped", original=original, reasons=["repeats an earlier quote"])
        if sentence.quote:
            seen_quotes.add(sentence.quote)
        out.append(sentence)
    return out


def _ground_one(original: str, claim: str, passages: list[Passage], catalog: Catalog, embedder, idf=None,
                question: str = "", page_texts=None) -> Sentence:
    cited = cited_passages(original, passages)
    reasons: list[str] = []
    for p in cited:
        verdict = supports(claim, p, catalog, embedder)
        if verdict.supported:
            quote = closest_quote(claim, quote_candidates([p], catalog, page_texts), embedder, idf=idf)
            if quote:
                return _fuller(Sentence(_render(claim, p), "kept", p, quote[0], original), question)
        reasons += [f"{p.tag}: {r}" for r in verdict.reasons]
    if not cited:
        reasons.append("no tag of a retrieved passage")
    ranked = sorted(((p, supports(claim, p, catalog, embedder)) for p in passages if p not in cited),
                    key=lambda pv: (-pv[1].supported, -pv[1].score))
    for p, verdict in ranked:
        if not verdict.supported:
            break
        quote = closest_quote(claim, quote_candidates([p], catalog, page_texts), embedder, idf=idf)
        if quote:
            return _fuller(Sentence(_render(claim, p), "reassigned", p, quote[0], original, reasons), question)
    # No passage supports the sentence as written: the verbatim quote closest to it takes its place.
    quote = closest_quote(claim, quote_candidates(passages, catalog, page_texts), embedder, cited=cited,
                          min_similarity=REPLACE_MIN_SIMILARITY, idf=idf)
    if quote:
        return Sentence(_render_quote(quote[0], quote[1]), "quoted", quote[1], quote[0], original, reasons)
    return Sentence("", "dropped", None, None, original, reasons)


def restates(claim: str, question: str) -> bool:
    """True when the claim says no word the question did not ("Neural reward models were avoided" for
    "... why were neural reward models avoided?"): its citation may check out, but it answers nothing."""
    form = {s_stem(w) for w in QUESTION_WORDS}
    return not (set(tokenize(claim)) - set(tokenize(question)) - form)

def _fuller(sentence: Sentence, question: str) -> Sentence:
    """A supported paraphrase that dropped numbers its own quote states ("approximately 90 hours" for
    "8 16GB V100 GPUs for approximately 90 hours"; an 80-channel Mel spectrogram without "16,000 Hz")
    gives way to the quote: the numbers are the facts a reader checks."""
    if not question or not sentence.quote or len(sentence.quote) > MAX_QUOTE_CHARS:
        return sentence
    said, quoted = numbers_of(strip_citations(sentence.text)), numbers_of(sentence.quote)
    if said and said < quoted:  # the quote says all it said, and more: it is the sentence it paraphrased
        return Sentence(_render_quote(sentence.quote, sentence.passage), "quoted", sentence.passage, sentence.quote,
                        sentence.original, sentence.reasons + ["its quote states numbers it left out"])
    return sentence


