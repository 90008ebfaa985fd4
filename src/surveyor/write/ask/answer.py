"""Answer one question from the corpus, every sentence cited to a page that supports it.

    answer(settings, question)
      1. retrieve      hybrid search (retrieve.py), top k passages; a paper the question names
                       (DistilBERT, MindSearch, PPO, Whisper) gets a vote of its own and room for more
                       passages, chosen by the question without the paper's name
      2. abstain?      the passages are far from the question (best cosine), or the question names
                       something the corpus never mentions (SmolVLM, pan-and-scan)
                       → "The corpus does not answer this." + the closest papers
      3. write         --llm none: the best supporting verbatim quotes (extractive, fast; quotes.py)
                       otherwise:  the LLM sees the top passages as numbered, quoted data with their
                                   [arxiv_id p.N] tags and one worked example (prompts/answer.txt)
      4. ground        (ground.py) code splits the reply into sentences; each one keeps its citation only if
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
                       and the rows of a result table that state the asked-for method's number on the
                       asked-for benchmark, quoted as printed with their table number (results.py)
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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from surveyor.errors import InputError, LLMError
from surveyor.grounding import (
    is_instruction_like,
    name_words,
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
from surveyor.textnorm import collapse, match_key, split_sentences
from surveyor.write.ask.enumerations import following_items, opens_list
from surveyor.write.ask.equations import find_equation
from surveyor.write.ask.ground import PROMPT_PASSAGES, ground
from surveyor.write.ask.quotes import (
    _EQUATION_NUMBER,
    EXTRACTIVE_SENTENCES,
    QUESTION_WORDS,
    Sentence,
    _extreme_row,
    _render_quote,
    asks_for_equation,
    complement,
    extractive,
    question_terms,
)
from surveyor.write.ask.results import result_rows

ABSTAIN_TEXT = "The corpus does not answer this."
PROMPT_NAME = "answer"

# --- abstention (calibrated on shared/eval/dev_qa.jsonl with all-MiniLM-L6-v2; see bench/ask.py) ---
# Below this best dense cosine the passages are about something else (dev: answerable 0.43-0.86).
ABSTAIN_MIN_COSINE = 0.30
CLOSEST_PAPERS = 3
_COMPOUND = re.compile(r"(?<![\w\-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")

# --- the writer -----------------------------------------------------------------------------------
# How many passages the model sees is PROMPT_PASSAGES (ground.py): its [n] tags count them.
# Per passage, at most this many characters (~220 tokens), cut to the sentences nearest the question;
# most chunks (<= 200 word pieces) fit whole.
PASSAGE_MAX_CHARS = 900
# The prompt asks for 3 short tagged sentences; a 4th is kept if the model writes one within the tokens.
STOP = ["\nQuestion:", "\nPassages:", "\nPassage 1"]


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
           retriever: Retriever | None = None, until_year: int | None = None, topic: str | None = None,
           warm: bool = False) -> Answer:
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
        return _answer(settings, retriever, question, k, llm_spec, papers, years, topic, warm)
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
            papers: list[str] | None, years: tuple[int | None, int | None] | None, topic: str | None,
            warm: bool = False) -> Answer:
    from surveyor.write.llm import make_llm

    timings: dict[str, float] = {}
    started = time.perf_counter()
    llm = make_llm(llm_spec, settings.llm, warm=warm)
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
        raw = _write(llm, question, passages[:PROMPT_PASSAGES], embedder, settings.ask.max_tokens)
        grounded = ground(raw, passages, retriever.catalog, embedder, idf=retriever.view().bm25.idf,
                          question=question, page_texts=retriever.page_texts)
    kept = [s for s in grounded if s.action != "dropped"]
    # A named paper's own name is on every other sentence of it: it tells its quotes apart by nothing.
    own = {t for terms in named.values() for term in terms for t in tokenize(term)}
    weights = {t: 0.0 if t in own else retriever.view().bm25.idf(t) for t in question_terms(question)}
    # Answers code finds without the model: the paper's numbered equation, the table row with the extreme value.
    found = _equation(question, kept, passages, settings, retriever.catalog, embedder, weights)
    found += _extreme_row(question, kept, passages, retriever.catalog, retriever.page_texts, weights)
    # The rows of a result table that state the asked-for number (evidence.tables), quoted as printed.
    # The equation or extreme row code found answers the question itself: it stays first.
    rows = result_rows(question, kept + found, passages, settings, retriever.catalog, weights, list(named))
    found = found + rows
    passages = passages + [s.passage for s in rows if s.passage is not None]
    if not kept:  # --llm none, or no sentence of the model's survived: quote the passages themselves
        # Table rows come on top of the quotes: they state numbers, the quotes say what they measure.
        kept = found + extractive(question, passages, retriever.catalog, embedder, weights,
                                  limit=EXTRACTIVE_SENTENCES - len(found) + len(rows), page_texts=retriever.page_texts)
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


def _write(llm, question: str, passages: list[Passage], embedder, max_tokens: int) -> str:
    from surveyor.write.prompts import load_prompt

    system, user = load_prompt(PROMPT_NAME).render(passages=format_passages(question, passages, embedder),
                                                   question=_as_data(question))
    try:
        return llm.chat(system, user, max_tokens=max_tokens, stop=STOP)
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
