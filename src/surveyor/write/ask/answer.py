"""Answer one question from the corpus, every sentence cited to a page that supports it.

    answer(settings, question)
      1. retrieve      hybrid search (retrieve.py), top k passages; a paper the question names
                       (DistilBERT, MindSearch, PPO, Whisper) gets a vote of its own and room for more
                       passages, chosen by the question without the paper's name
      2. abstain?      the passages are far from the question (best cosine), or the question names
                       something the corpus never mentions (SmolVLM, pan-and-scan)
                       → "The corpus does not answer this." + the closest papers
      3. write         --llm none: the best supporting verbatim quotes (extractive, fast)
                       otherwise:  the LLM sees the top passages as numbered, quoted data with their
                                   [arxiv_id p.N] tags and one worked example (prompts/answer.txt)
      4. ground        code splits the reply into sentences; each one keeps its citation only if
                       verify.check_support accepts the cited passage, else moves to the retrieved
                       passage that supports it, else is replaced by the closest verbatim quote of
                       the retrieved pages, else is dropped; a sentence that only restates the
                       question is dropped; nothing left → the extractive answer.
                       A paraphrase that lost numbers its quote states becomes the quote; one more
                       quote is added when the sentences leave out a number, an equation or a part
                       of the question (complement)
      4b. structure    code adds what similarity cannot find: the paper's numbered equation
                       (ask_equations.py), the table row with the best value for "which was best"
                       (ask_tables.py), the other items of a bulleted list a quote opens (enumerations.py)
      5. cite          every citation's quote is checked verbatim on its page (verify.quote_on_page)

The model never decides the output format: the answer text, tags, citations and
sources are assembled here from retrieved passages, so text inside a paper
("ignore previous instructions ...") can change at most the words of a sentence
that must still pass verification, and instruction-like sentences are neither
shown to the model nor ever quoted.
"""
from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from surveyor import grounding
from surveyor.errors import InputError, LLMError
from surveyor.grounding import (
    PageTexts,
    Verdict,
    check_cited,
    embed_cached,
    has_tag,
    is_instruction_like,
    name_words,
    numbers_of,
    parse_tags,
    quotable_sentences,
    quote_on_page,
    strip_citations,
    strip_control,
)
from surveyor.index.bm25 import tokenize
from surveyor.index.catalog import Catalog
from surveyor.index.corpus import require_papers
from surveyor.index.embedder import get_embedder
from surveyor.retrieve.acronyms import question_acronyms
from surveyor.retrieve.retriever import Passage, Retriever
from surveyor.settings import Settings
from surveyor.textnorm import collapse, content_words, match_key, s_stem, split_sentences
from surveyor.write.ask.enumerations import following_items, opens_list
from surveyor.write.ask.equations import find_equation
from surveyor.write.ask.tables import extreme_row, superlative, table_row_quotes

ABSTAIN_TEXT = "The corpus does not answer this."
PROMPT_NAME = "answer"

# --- abstention (calibrated on shared/eval/dev_qa.jsonl with all-MiniLM-L6-v2; see bench/ask.py) ---
# Below this best dense cosine the passages are about something else (dev: answerable 0.43-0.86).
ABSTAIN_MIN_COSINE = 0.30
CLOSEST_PAPERS = 3
_COMPOUND = re.compile(r"(?<![\w\-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")

# --- the writer -----------------------------------------------------------------------------------
# Passages shown to the model: prompt evaluation dominates latency (~60-100 tokens/s on 2 cores).
PROMPT_PASSAGES = 4
# Per passage, at most this many characters (~220 tokens), cut to the sentences nearest the question;
# most chunks (<= 200 word pieces) fit whole.
PASSAGE_MAX_CHARS = 900
# The prompt asks for 3 short tagged sentences; a 4th is kept if the model writes one within the tokens.
ANSWER_MAX_TOKENS = 100
MAX_SENTENCES = 4
STOP = ["\nQuestion:", "\nPassages:", "\nPassage 1"]
# A claim shorter than this many content words is filler ("See below."), not a sentence to cite.
MIN_CLAIM_WORDS = 3
# A sentence that fails verification becomes the closest verbatim quote only if the quote is this
# close (cosine) to it; otherwise the sentence is dropped.
REPLACE_MIN_SIMILARITY = 0.5
# Choosing that quote: a quote with the sentence's numbers (0.2, 7) is the one the sentence was
# paraphrasing; one from the passage the sentence cited, slightly more likely so.
NUMBER_BONUS = 0.15
CITED_BONUS = 0.05


# --- the extractive answer (--llm none, and the fallback) ------------------------------------------
EXTRACT_FROM = 6               # passages searched for quotes
EXTRACTIVE_SENTENCES = 3       # quotes in the answer
EXTRACTIVE_RELATIVE = 0.8     # a further quote must score at least this share of the best
MAX_QUOTE_CHARS = 400          # longer "sentences" are table dumps; quoted only when nothing else is
QUESTION_OVERLAP_WEIGHT = 0.6  # word overlap with the question, added to the cosine
MIN_QUOTE_WORDS = 4            # what is left of a sentence after a running title, to be quotable
RANK_EMBED_MAX = 28            # candidate quotes embedded per ranking, the lexically best (40 gave the same dev keys)
# A quote is added after the model's sentences when it brings a number they lack, or at least this share
# of the question's (IDF-weighted) terms that their evidence does not state: one rare word is enough,
# since a small model often answers one half of a two-part question.
COMPLEMENT_MIN_TERMS = 0.05
CONTINUATION_BONUS = 0.15
# A number right after one of the question's names (within this many words) is likely the asked value.
NAMED_NUMBER_BONUS = 0.3
NAME_WINDOW = 3
# A table answers "which setting was best" when it shares this much of the question's term weight.
TABLE_MIN_SHARE = 0.25
_NUMBER_TOKEN = re.compile(r"[-−]?\d+(?:[.,]\d+)*%?")
# Words of a question's form, not its subject: they say nothing about which sentence answers it.
QUESTION_WORDS = frozenset("what which how why when where who whose does do did many much use used make made up give "
                           "gave given built end keep try tries during before after compared compare get".split())
# A caption ("Table 3: ...") names what a table shows without stating any of it: a poor answer.
CAPTION_PENALTY = 0.3
_CAPTION = re.compile(r"^\s*(?:table|figure|fig\.)\s*\d+\s*[:.]", re.IGNORECASE)
# A question that wants a quantity: a sentence with a number is more likely its answer.
_ASKS_NUMBER = re.compile(r"\bhow (?!do\b|does\b|did\b|is\b|are\b|was\b|were\b|can\b|could\b|should\b|would\b|to\b)\w+|\b(?:number|score|"
                          r"accuracy|budget|size|rate|ratio|parameter|value|percentage|pass@\d|speed|latency|"
                          r"hours|days|gpus|tokens|layers|prompts)\b", re.IGNORECASE)
# "... as shown in Eq. 1", "(7)" closing a display, "Equation 9": where an equation is named.
_EQUATION_NUMBER = re.compile(r"\b(?:eq|eqn|equation)s?\.?\s*\(?\d|\(\d{1,2}\)\s*[.,;:]?\s*$|\)\s*\(\d{1,2}\)",
                              re.IGNORECASE)


@dataclass
class Citation:
    arxiv_id: str
    page: int
    quote: str


@dataclass
class Source:
    arxiv_id: str
    title: str
    page: int
    score: float


@dataclass
class Sentence:
    """One sentence of the answer and how it got there (kept, reassigned, quoted, dropped)."""

    text: str
    action: str
    passage: Passage | None = None
    quote: str | None = None
    original: str = ""
    reasons: list[str] = field(default_factory=list)


@dataclass
class Answer:
    answer: str
    abstained: bool
    citations: list[Citation]
    sources: list[Source]
    llm: str
    sentences: list[Sentence] = field(default_factory=list)   # the audit trail, not part of the JSON
    timings: dict[str, float] = field(default_factory=dict)
    raw: str = ""                                             # the model's reply as written
    abstain_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer, "abstained": self.abstained,
                "citations": [asdict(c) for c in self.citations],
                "sources": [asdict(s) for s in self.sources], "llm": self.llm}


# =========================================================================== entry point


def answer(settings: Settings, question: str, k: int | None = None, llm_spec: str | None = None,
           papers: list[str] | None = None, since_year: int | None = None,
           retriever: Retriever | None = None, until_year: int | None = None, topic: str | None = None) -> Answer:
    """Answer `question` from the corpus of `settings.home` (see the module docstring). `papers`, the
    year range and `topic` limit which papers it is answered from."""
    question = collapse(question or "")
    if not question:
        raise InputError("empty question: ask something, e.g. surveyor ask \"What does PPO clip?\"")
    if since_year and until_year and since_year > until_year:
        raise InputError(f"--since-year {since_year} is after --until-year {until_year}")
    years = (since_year, until_year) if since_year or until_year else None
    own = retriever is None
    retriever = retriever or Retriever(settings)
    try:
        require_papers(retriever.catalog, settings)
        if retriever.allowed_papers(papers, years, topic) == []:
            raise InputError(f"no paper in the corpus matches {_filters_text(papers, years, topic)} "
                             "(see `surveyor papers` and `surveyor status`)")
        return _answer(settings, retriever, question, k, llm_spec, papers, years, topic)
    finally:
        if own:
            retriever.close()


def _filters_text(papers: list[str] | None, years: tuple[int | None, int | None] | None, topic: str | None) -> str:
    parts = [f"--paper {p}" for p in papers or []] + ([f"--topic {topic}"] if topic else [])
    if years and years[0]:
        parts.append(f"--since-year {years[0]}")
    if years and years[1]:
        parts.append(f"--until-year {years[1]}")
    return " ".join(parts)


def _answer(settings: Settings, retriever: Retriever, question: str, k: int | None, llm_spec: str | None,
            papers: list[str] | None, years: tuple[int | None, int | None] | None, topic: str | None) -> Answer:
    from surveyor.write.llm import make_llm

    timings: dict[str, float] = {}
    started = time.perf_counter()
    llm = make_llm(llm_spec, settings.llm)
    llm_name = llm.name if llm is not None else "none"
    timings["llm_load_s"] = time.perf_counter() - started

    started = time.perf_counter()
    passages, named = retrieve_passages(retriever, question, k, papers, years, topic)
    timings["retrieve_s"] = time.perf_counter() - started
    embedder = get_embedder(settings.embedding)
    reason = abstention_reason(question, passages, retriever) if passages else "nothing retrieved"
    if reason:
        return _abstention(passages, llm_name, timings, reason=reason)

    started = time.perf_counter()
    raw = ""
    grounded: list[Sentence] = []
    if llm is not None:
        raw = _write(llm, question, passages[:PROMPT_PASSAGES], embedder)
        grounded = ground(raw, passages, retriever.catalog, embedder, idf=retriever.view().bm25.idf,
                          question=question, page_texts=retriever.page_texts)
    kept = [s for s in grounded if s.action != "dropped"]
    # A named paper's own name is on every other sentence of it: it tells its quotes apart by nothing.
    own = {t for terms in named.values() for term in terms for t in tokenize(term)}
    weights = {t: 0.0 if t in own else retriever.view().bm25.idf(t) for t in question_terms(question)}
    # Answers code finds without the model: the paper's numbered equation, the table row with the extreme value.
    found = _equation(question, kept, passages, settings, retriever.catalog, embedder, weights)
    found += _extreme_row(question, kept, passages, retriever.catalog, retriever.page_texts, weights)
    if not kept:  # --llm none, or no sentence of the model's survived: quote the passages themselves
        kept = found + extractive(question, passages, retriever.catalog, embedder, weights,
                                  limit=EXTRACTIVE_SENTENCES - len(found), page_texts=retriever.page_texts)
        grounded += kept
    else:  # the model's answer may leave out a part of the question that one quote states
        kept += found
        extra = complement(question, kept, passages, retriever.catalog, embedder, weights,
                           page_texts=retriever.page_texts)
        kept += extra
        grounded += found + extra
    listed = list_items(kept, retriever)
    grounded += [x for x in listed if x not in grounded]
    kept = listed
    timings["write_s"] = time.perf_counter() - started
    if not kept:
        return _abstention(passages, llm_name, timings, raw=raw, reason="no sentence could be supported")
    return Answer(answer=" ".join(s.text for s in kept), abstained=False,
                  citations=_citations(kept), sources=_sources(passages), llm=llm_name,
                  sentences=grounded, timings=timings, raw=raw)


def retrieve_passages(retriever: Retriever, question: str, k: int | None = None, papers: list[str] | None = None,
                      years: tuple[int | None, int | None] | None = None,
                      topic: str | None = None) -> tuple[list[Passage], dict[str, list[str]]]:
    """The passages a question is answered from, and the papers it names (each with its own names):
    hybrid search in which a named paper gets a vote and room of its own (Retriever.search's focus)."""
    named = retriever.naming(paper_name_terms(question), capitalised_words(question))
    names = [t for terms in named.values() for t in terms]
    # An acronym that is no paper's name is searched with what it stands for: GRPO's definition says
    # "Group Relative Policy Optimization" once; dozens of chunks say "GRPO" in passing.
    spelled = [e for a in question_acronyms(question) if a.lower() not in names
               and (e := retriever.acronym_expansion(a)) and e not in question.lower()]
    query = " ".join([question, *(f"({e})" for e in spelled)])
    passages = retriever.search(query, k=k, papers=papers, years=years, topic=topic, focus=list(named),
                                focus_names=names)
    return passages, named


def _equation(question: str, kept: list[Sentence], passages: list[Passage], settings: Settings, catalog: Catalog,
              embedder, weights: dict[str, float]) -> list[Sentence]:
    """The paper's numbered equation, when the question asks for one and the written sentences name none."""
    if not asks_for_equation(question) or _EQUATION_NUMBER.search(" ".join(strip_citations(s.text) for s in kept)):
        return []
    found = find_equation(question, passages, catalog, settings, embedder, weights)
    if found is None:
        return []
    return [Sentence(found.render(), "equation", found.passage, found.quote,
                     reasons=[f"eq. ({found.number}) from the PDF, score {found.score:.2f}"])]


# =========================================================================== abstention


def subject_terms(question: str) -> list[str]:
    """What a question is about by name: name-like words (SmolVLM, DeiT, GPT-4) and hyphenated terms (pan-and-scan)."""
    return list(dict.fromkeys(name_words(question) + _COMPOUND.findall(question)))


def paper_name_terms(question: str) -> list[str]:
    """Words of a question that may name a paper: true names (DistilBERT, s1K, DeepSeek-R1-Zero, PPO) and the
    initials of capitalised phrases ("Language Agent Tree Search" → LATS); plain capitalised words are not."""
    names = [w for w in name_words(question) if any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w)]
    phrases = re.findall(r"(?:\b[A-Z][a-z]+(?:\s+|$)){2,}", question)
    return names + ["".join(w[0] for w in phrase.split()) for phrase in phrases]


def capitalised_words(question: str) -> list[str]:
    """Plain capitalised words inside a question (Whisper, Transformer): perhaps a paper's declared name."""
    words = re.findall(r"(?<=[\s(“\"'])[A-Z][a-z]{2,}\b", question)
    return [w for w in dict.fromkeys(words) if w.lower() not in QUESTION_WORDS]


def abstention_reason(question: str, passages: list[Passage], retriever: Retriever) -> str | None:
    """Why the corpus cannot answer, or None. Calibrated on the dev questions: every answerable one names
    only things present in the corpus; each unanswerable one names something absent (SmolVLM, AnyRes,
    pan-and-scan), although its passages are close in meaning (cosine 0.43-0.49)."""
    best = max((p.dense_score for p in passages if p.dense_score is not None), default=0.0)
    if best < ABSTAIN_MIN_COSINE:
        return f"best passage cosine {best:.2f} < {ABSTAIN_MIN_COSINE}"
    absent = [t for t in subject_terms(question) if not retriever.corpus_has(t)]
    if absent:
        return f"not in the corpus: {', '.join(absent)}"
    return None


def _abstention(passages: list[Passage], llm_name: str, timings: dict[str, float], raw: str = "",
                reason: str = "") -> Answer:
    closest: list[Source] = []
    seen: set[str] = set()
    for p in passages:
        if p.paper_id not in seen and len(closest) < CLOSEST_PAPERS:
            seen.add(p.paper_id)
            closest.append(Source(p.arxiv_id, p.title, p.page, p.score))
    text = ABSTAIN_TEXT
    if closest:
        text += " Closest papers: " + "; ".join(f"{s.title} ({s.arxiv_id})" for s in closest) + "."
    return Answer(answer=text, abstained=True, citations=[], sources=closest, llm=llm_name, timings=timings, raw=raw,
                  abstain_reason=reason)


# =========================================================================== the writer


def _write(llm, question: str, passages: list[Passage], embedder) -> str:
    from surveyor.write.prompts import load_prompt

    system, user = load_prompt(PROMPT_NAME).render(passages=format_passages(question, passages, embedder),
                                                   question=_as_data(question))
    try:
        return llm.chat(system, user, max_tokens=ANSWER_MAX_TOKENS, stop=STOP)
    except LLMError as exc:
        if "--llm none" in str(exc):
            raise
        raise LLMError(f"{exc}; use --llm none for an extractive answer") from None


def _as_data(text: str) -> str:
    """Text quoted into the prompt: no double quotes or brackets of its own, so it cannot forge a tag."""
    return collapse(strip_control(text)).replace('"', "'").replace("[", "(").replace("]", ")")


def format_passages(question: str, passages: list[Passage], embedder) -> str:
    """'Passage N [id p.P]: "text"' lines; instruction-like sentences removed, long text cut near the question."""
    lines = []
    for number, p in enumerate(passages, 1):
        sentences = [s for s in split_sentences(p.text) if not is_instruction_like(s)]
        text = _window(question, sentences, embedder) if sentences else ""
        lines.append(f'Passage {number} {p.tag}: "{_as_data(text)}"')
    return "\n".join(lines)


def _window(question: str, sentences: list[str], embedder) -> str:
    """The run of consecutive sentences, at most PASSAGE_MAX_CHARS, around the sentence nearest the question."""
    if sum(len(s) + 1 for s in sentences) <= PASSAGE_MAX_CHARS:
        return " ".join(sentences)
    vectors = embedder.embed([question] + sentences)
    best = int(np.argmax(vectors[1:] @ vectors[0]))
    lo = hi = best
    size = len(sentences[best])
    while True:  # grow to the side with the next sentence while it fits
        grew = False
        for side in ("after", "before"):
            nxt = hi + 1 if side == "after" else lo - 1
            if 0 <= nxt < len(sentences) and size + 1 + len(sentences[nxt]) <= PASSAGE_MAX_CHARS:
                size += 1 + len(sentences[nxt])
                lo, hi = min(lo, nxt), max(hi, nxt)
                grew = True
        if not grew:
            break
    text = " ".join(sentences[lo : hi + 1])
    return text[:PASSAGE_MAX_CHARS]


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


def quote_candidates(passages: list[Passage], catalog: Catalog, page_texts=None,
                     table_rows: bool = False) -> list[tuple[str, Passage]]:
    """(sentence, passage) for every quotable sentence of the passages that is verbatim on its page.

    page_texts (paper id, page → chunk texts): also the sentences of the other chunks of each passage's
    page, once per page. A citation names a page, and the sentence that answers often sits in the
    page's next chunk ("... remove questions that Qwen2.5-7B or Qwen2.5-32B can solve").
    """
    out: list[tuple[str, Passage]] = []
    for sentences, p, page in _page_sentences(passages, catalog, page_texts):
        if table_rows:  # a flattened table gives way to its rows
            rows = {x: table_row_quotes(x) for x in sentences}
            sentences = list(dict.fromkeys(r for x in sentences for r in (rows[x] or [x])))
        out += [(x, p) for x in sentences if quote_on_page(x, page)]
    short = [c for c in out if len(c[0]) <= MAX_QUOTE_CHARS]
    return short or out


def _page_sentences(passages: list[Passage], catalog: Catalog, page_texts=None):
    """(quotable sentences, passage, page text) per passage, or per page when `page_texts` adds the
    page's other chunks (see quote_candidates)."""
    seen_pages: set[tuple[str, int]] = set()
    for p in passages:
        page = catalog.page_text(p.paper_id, p.page)
        texts = [p.text]
        if page_texts is not None:
            if (p.paper_id, p.page) in seen_pages:
                continue
            seen_pages.add((p.paper_id, p.page))
            texts += [t for t in page_texts(p.paper_id, p.page) if t != p.text]
        sentences = (after_running_title(x, p.title) for t in texts for x in quotable_sentences(t))
        yield list(dict.fromkeys(x for x in sentences if x)), p, page


def after_running_title(sentence: str, title: str) -> str:
    """The sentence without the paper's title in front: a running page header glued to the page's
    first line ("MiniMax-M1: Scaling ... Lightning Attention 2x speedup"). "" when little else is left."""
    words, title_words = sentence.split(), title.split()
    if not title_words or [match_key(w) for w in words[:len(title_words)]] != [match_key(w) for w in title_words]:
        return sentence
    rest = words[len(title_words):]
    return " ".join(rest) if len(rest) >= MIN_QUOTE_WORDS else ""


def extreme_row_quote(question: str, passages: list[Passage], catalog: Catalog, page_texts=None,
                      weights: dict[str, float] | None = None) -> tuple[str, Passage] | None:
    """For a question asking for the best, highest or lowest value: the row that has it (ask_tables.py),
    of the table sharing most of the question's term weight (the results table, not the hyperparameter
    table), when that table shares at least TABLE_MIN_SHARE of it."""
    if not superlative(question):
        return None
    weights = weights or {t: 1.0 for t in question_terms(question)}
    total = sum(weights.values()) or 1.0
    best, best_overlap = None, TABLE_MIN_SHARE * total
    for sentences, p, page in _page_sentences(passages, catalog, page_texts):
        for x in sentences:
            row = extreme_row(question, table_row_quotes(x))
            overlap = sum(weights.get(t, 0.0) for t in set(tokenize(x)))
            if row and overlap >= best_overlap and quote_on_page(row, page):
                best, best_overlap = (row, p), overlap
    return best


def _extreme_row(question: str, kept: list[Sentence], passages: list[Passage], catalog: Catalog,
                 page_texts, weights: dict[str, float]) -> list[Sentence]:
    """The table row a superlative question asks for, unless the answer already gives its value."""
    found = extreme_row_quote(question, passages[:EXTRACT_FROM], catalog, page_texts, weights)
    if found is None or found[0] in {s.quote for s in kept}:
        return []
    row, p = found
    if numbers_of(row) <= numbers_of(" ".join(strip_citations(s.text) for s in kept)):
        return []
    return [Sentence(_render_quote(row, p), "quoted", p, row, reasons=["the table row with the value asked for"])]


def closest_quote(claim: str, candidates: list[tuple[str, Passage]], embedder, cited: list[Passage] = (),
                  min_similarity: float = -1.0, idf=None) -> tuple[str, Passage] | None:
    """The candidate closest to the claim: cosine, plus a bonus for carrying the claim's numbers, for
    coming from a passage the claim cited and, given `idf` (token → weight), for sharing the claim's
    rare words ('UCT' says more than 'Language Agent Tree Search', which every page of the paper has).
    None when no candidate reaches `min_similarity` (cosine)."""
    if not candidates:
        return None
    wanted = numbers_of(strip_citations(claim))
    terms = question_terms(strip_citations(claim))
    weights = {t: idf(t) for t in terms} if idf else {t: 1.0 for t in terms}
    total = sum(weights.values()) or 1.0
    overlap = [sum(weights[t] for t in set(tokenize(sentence)) & weights.keys()) / total for sentence, _ in candidates]
    lexical = [NUMBER_BONUS * (len(wanted & numbers_of(sentence)) / len(wanted) if wanted else 0.0)
               + (CITED_BONUS if p in cited else 0.0) + (QUESTION_OVERLAP_WEIGHT * overlap[i] if idf else 0.0)
               for i, (sentence, p) in enumerate(candidates)]
    # Only the candidates sharing most of the claim's words are embedded (see rank_quotes).
    shortlist = sorted(sorted(range(len(candidates)), key=lambda i: -(overlap[i] + lexical[i]))[:RANK_EMBED_MAX])
    vectors = embed_cached(embedder, [claim] + [candidates[i][0] for i in shortlist])
    cosine = dict(zip(shortlist, vectors[1:] @ vectors[0]))
    best, best_score = None, -np.inf
    for i in shortlist:
        if cosine[i] < min_similarity:
            continue
        score = cosine[i] + lexical[i]
        if score > best_score:  # first of equals: retrieval order decides ties
            best, best_score = candidates[i], score
    return best


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


def _render(claim: str, p: Passage) -> str:
    return f"{claim.rstrip(' .;:')} {p.tag}."


def _render_quote(quote: str, p: Passage) -> str:
    return f"“{quote.strip()}” {p.tag}"


# =========================================================================== extractive


def extractive(question: str, passages: list[Passage], catalog: Catalog, embedder,
               weights: dict[str, float] | None = None, limit: int = EXTRACTIVE_SENTENCES,
               page_texts=None) -> list[Sentence]:
    """The verbatim sentences of the top passages that best answer the question, each with its tag."""
    candidates = quote_candidates(passages[:EXTRACT_FROM], catalog, page_texts, table_rows=asks_for_table(question))
    after = [i - 1 if i and candidates[i - 1][1].page == c[1].page and candidates[i - 1][1].paper_id == c[1].paper_id
             else None for i, c in enumerate(candidates)]
    order = rank_quotes(question, [s for s, _ in candidates], embedder, weights, limit, after=after)
    return [Sentence(_render_quote(candidates[i][0], candidates[i][1]), "quoted", candidates[i][1],
                     candidates[i][0], reasons=["extractive"]) for i in order]


def rank_quotes(question: str, sentences: list[str], embedder, weights: dict[str, float] | None = None,
                limit: int = EXTRACTIVE_SENTENCES, covered: set[str] = frozenset(),
                boost: Sequence[float] | None = None, after: Sequence[int | None] | None = None) -> list[int]:
    """Indices of the sentences that answer the question best, greedily covering its parts.

    A sentence scores its cosine to the question, plus the weighted share of the question's terms it
    contains that earlier picks (and `covered`) did not, plus a bonus for a number where the question
    asks for one (how many, which parameter, what score) or an equation number where it asks for an
    equation. `weights` are the terms' IDF in the corpus: 'pooler' says more than 'model'.
    `after[i]`: the index of the sentence that sentence i follows on its page, if any; once that one is
    picked, sentence i continues it and competes with CONTINUATION_BONUS.
    """
    if not sentences:
        return []
    weights = weights if weights is not None else {t: 1.0 for t in question_terms(question)}
    total = sum(weights.values()) or 1.0
    terms = [set(tokenize(s)) & weights.keys() for s in sentences]
    bonus = -CAPTION_PENALTY * np.array([bool(_CAPTION.match(s)) for s in sentences])
    if boost is not None:
        bonus += np.asarray(boost, dtype=float)
    if asks_for_number(question):
        bonus += NUMBER_BONUS * np.array([bool(numbers_of(strip_citations(s))) for s in sentences])
    if asks_for_equation(question):
        bonus += NUMBER_BONUS * np.array([bool(_EQUATION_NUMBER.search(s)) for s in sentences])
    lexical = bonus + QUESTION_OVERLAP_WEIGHT * np.array([sum(weights[t] for t in ts) / total for ts in terms])
    # Embedding is the cost (~0.4 ms per word piece on 2 cores): only the lexically best are embedded.
    shortlist = sorted(sorted(range(len(sentences)), key=lambda i: -lexical[i])[:RANK_EMBED_MAX])
    base = np.full(len(sentences), -np.inf)
    vectors = embed_cached(embedder, [question] + [sentences[i] for i in shortlist])
    base[shortlist] = vectors[1:] @ vectors[0]
    alone = base + lexical
    floor = EXTRACTIVE_RELATIVE * float(alone.max())
    floor = max(floor, -1e9)  # sentences left out of the shortlist never pass
    covered = set(covered)
    chosen: list[int] = []
    after = after or [None] * len(sentences)
    while len(chosen) < limit:
        continues = [after[i] is not None and after[i] in chosen for i in range(len(sentences))]
        for i in (i for i in range(len(sentences)) if continues[i] and base[i] == -np.inf):
            base[i] = float(embed_cached(embedder, [question, sentences[i]])[1] @ vectors[0])
        scores = [base[i] + bonus[i] + CONTINUATION_BONUS * continues[i]
                  + QUESTION_OVERLAP_WEIGHT * sum(weights[t] for t in terms[i] - covered) / total
                  if i not in chosen and (alone[i] >= floor or continues[i])
                  and sentences[i] not in {sentences[j] for j in chosen}
                  else -np.inf for i in range(len(sentences))]
        best = int(np.argmax(scores))  # first of equals: retrieval order decides ties
        if scores[best] == -np.inf:
            break
        chosen.append(best)
        covered |= terms[best]
    return chosen


def complement(question: str, kept: list[Sentence], passages: list[Passage], catalog: Catalog, embedder,
               weights: dict[str, float], page_texts=None) -> list[Sentence]:
    """The one quote that best answers what the written sentences leave out, when it adds a number or at
    least COMPLEMENT_MIN_TERMS of the question's term weight; else nothing. Small models drop numbers
    ("outperforms by large amounts") and the second half of two-part questions."""
    pool = quote_candidates(passages[:EXTRACT_FROM], catalog, page_texts, table_rows=asks_for_table(question))
    candidates = pool
    answer_text = " ".join(strip_citations(s.text) for s in kept)
    # What the answer covers is what its evidence states: a model that echoes the question's words
    # ("The reward signals used to train ... were") has not answered them.
    covered = set(tokenize(" ".join(s.quote or "" for s in kept))) & weights.keys()
    # What is missing decides where to look: an equation asked for and not numbered, numbers not yet given.
    missing_equation = asks_for_equation(question) and not _EQUATION_NUMBER.search(answer_text)
    if missing_equation:
        candidates = [c for c in candidates if _EQUATION_NUMBER.search(c[0])] or candidates
    elif asks_for_number(question):
        candidates = [c for c in candidates if numbers_of(c[0]) - numbers_of(answer_text)] or candidates
    # The sentence right after a quote the answer rests on continues its thought ("... 0.06. As the
    # embeddings are computed at each layer, they become more similar ... (cos=0.93)").
    follows = {b[0] for a, b in zip(pool, pool[1:]) if a[0] in {s.quote for s in kept} and a[1].page == b[1].page}
    candidates = [c for c in candidates if c[0] not in {s.quote for s in kept}]
    given = numbers_of(answer_text)
    names = {t for n in name_words(question) for t in tokenize(n)}
    boost = [(CONTINUATION_BONUS if c[0] in follows else 0.0)
             + (NAMED_NUMBER_BONUS * min(2, len(names & set(tokenize(c[0])))) / 2
                if asks_for_number(question) and _number_after_name(c[0], names, given) else 0.0)
             for c in candidates]
    order = rank_quotes(question, [c for c, _ in candidates], embedder, weights, limit=1, covered=covered, boost=boost)
    if not order:
        return []
    quote, passage = candidates[order[0]]
    new_terms = (set(tokenize(quote)) & weights.keys()) - covered
    new_numbers = numbers_of(quote) - numbers_of(answer_text) if asks_for_number(question) else set()
    new_equation = missing_equation and bool(_EQUATION_NUMBER.search(quote))
    if (not new_numbers and not new_equation
            and sum(weights[t] for t in new_terms) < COMPLEMENT_MIN_TERMS * (sum(weights.values()) or 1)):
        return []
    return [Sentence(_render_quote(quote, passage), "quoted", passage, quote, reasons=["complements the answer"])]


def _number_after_name(text: str, names: set[str], given: set[str]) -> bool:
    """A number not yet given that follows one of the question's names closely ("GPT-3.5 83.8"):
    in a table row or a results sentence, that is the value the question asks about."""
    tokens = text.split()
    for i, token in enumerate(tokens):
        value = token.strip("(),;:")
        if (_NUMBER_TOKEN.fullmatch(value) and numbers_of(value) - given
                and any(set(tokenize(t)) & names for t in tokens[max(0, i - NAME_WINDOW):i])):
            return True
    return False


def question_terms(question: str) -> list[str]:
    """The question's BM25 tokens that say what it is about (not 'what', 'how', 'many')."""
    form = {s_stem(w) for w in QUESTION_WORDS}
    return list(dict.fromkeys(t for t in tokenize(question) if t not in form))


def asks_for_number(question: str) -> bool:
    return bool(_ASKS_NUMBER.search(question))


def asks_for_table(question: str) -> bool:
    """Tables answer questions for a number and for the best of several settings."""
    return asks_for_number(question) or bool(superlative(question))


def asks_for_equation(question: str) -> bool:
    return bool(re.search(r"\b(?:equation|eq\.|formula|objective|loss)\b", question, re.IGNORECASE))


# =========================================================================== output


def list_items(kept: list[Sentence], retriever: Retriever) -> list[Sentence]:
    """`kept`, each quote that opens a bulleted list followed by the list's further items (enumerations.py),
    quoted from the same page; an item whose label ("Format rewards:") the answer already states is left out."""
    out: list[Sentence] = []
    said = " ".join(strip_citations(s.text) for s in kept).lower()
    quoted = {match_key(s.quote) for s in kept if s.quote}
    for s in kept:
        out.append(s)
        if s.passage is None or not s.quote or not opens_list(s.quote):
            continue
        page = retriever.catalog.page_text(s.passage.paper_id, s.passage.page)
        for item in following_items(s.quote, retriever.page_texts(s.passage.paper_id, s.passage.page)):
            label = item.lstrip("• ").split(":", 1)[0] if ":" in item[:60] else ""
            key = match_key(item)
            if (label and label.lower() in said) or any(key in q for q in quoted) or not quote_on_page(item, page):
                continue
            quoted.add(key)
            out.append(Sentence(_render_quote(item, s.passage), "quoted", s.passage, item,
                                reasons=["the next item of the list its quote opens"]))
    return out


def _citations(kept: list[Sentence]) -> list[Citation]:
    out: list[Citation] = []
    seen: set[tuple[str, int, str]] = set()
    for s in kept:
        if s.passage is None or not s.quote:
            continue
        key = (s.passage.arxiv_id, s.passage.page, s.quote)
        if key not in seen:
            seen.add(key)
            out.append(Citation(s.passage.arxiv_id, s.passage.page, s.quote))
    return out


def _sources(passages: list[Passage]) -> list[Source]:
    out: dict[tuple[str, int], Source] = {}
    for p in passages:
        out.setdefault((p.arxiv_id, p.page), Source(p.arxiv_id, p.title, p.page, p.score))
    return list(out.values())
