"""Verbatim quotes for an answer: the candidates on the retrieved pages, and which of them answer best.

quote_candidates lists the quotable sentences of the passages (and of the other chunks of
their pages) that are verbatim on their page; closest_quote finds the one a written sentence
paraphrases; rank_quotes orders them by how well they answer the question, greedily covering
its parts. extractive is the answer without a model (--llm none, and the fallback); complement
adds the one quote that states what the model's sentences left out. Sentence records how each
sentence of an answer came about.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from surveyor.grounding import (
    embed_cached,
    name_words,
    numbers_of,
    quotable_sentences,
    quote_on_page,
    strip_citations,
)
from surveyor.index.bm25 import tokenize
from surveyor.index.catalog import Catalog
from surveyor.retrieve.retriever import Passage
from surveyor.textnorm import match_key, s_stem
from surveyor.write.ask.tables import extreme_row, superlative, table_row_quotes

# Choosing the quote a sentence paraphrased (closest_quote): a quote with the sentence's numbers
# (0.2, 7) is the one the sentence was paraphrasing; one from the passage the sentence cited,
# slightly more likely so.
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
class Sentence:
    """One sentence of the answer and how it got there (kept, reassigned, quoted, dropped)."""

    text: str
    action: str
    passage: Passage | None = None
    quote: str | None = None
    original: str = ""
    reasons: list[str] = field(default_factory=list)


# =========================================================================== candidates


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


# =========================================================================== the question


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


