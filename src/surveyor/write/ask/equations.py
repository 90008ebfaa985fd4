"""The paper's own numbered equation for a question that asks for one ("which equation defines it?").

A small model rewrites formulas wrongly, and a formula split over PDF lines is rarely a
quotable sentence. So when a question asks for an equation, ask.py takes it from the
equation extractor (evidence/equations.py) instead: the numbered display equations on the
retrieved pages of the top papers, scored against the question by their own text plus
their section heading, the sentence that introduces them and the "where ..." sentence after them. The citation's
quote is that introducing (or "where") sentence, verbatim on the page; the formula itself
is shown as the extractor read it from the PDF.
"""
from __future__ import annotations

from dataclasses import dataclass

from surveyor.evidence.equation_cache import page_equations
from surveyor.grounding import embed_cached, quote_on_page
from surveyor.index.bm25 import tokenize
from surveyor.index.catalog import Catalog
from surveyor.retrieve.retriever import Passage
from surveyor.settings import Settings
from surveyor.textnorm import collapse, match_key

# Papers whose retrieved pages are searched for equations: the question is about one or two of them.
EQUATION_PAPERS = 2
# Term overlap with the question, added to the cosine (as in ask.rank_quotes).
OVERLAP_WEIGHT = 0.6
EMBED_MAX = 8             # equations embedded per question, those sharing most of its words
# Below this score no equation is about the question (dev: the asked-for equations score 0.5-1.2).
MIN_SCORE = 0.4


@dataclass
class FoundEquation:
    number: str
    passage: Passage          # a retrieved passage on the equation's page: its tag is the citation
    text: str                 # the formula as extracted from the PDF
    quote: str                # the introducing or "where" sentence, verbatim on the page
    where: str                # the "where ..." sentence, when the page has it verbatim
    score: float

    def render(self) -> str:
        lead = self.quote if self.quote != self.where else ""
        parts = [f"“{lead}”" if lead else "", f"Eq. ({self.number}): {self.text}",
                 f"— “{self.where}”" if self.where else ""]
        return " ".join(p for p in parts if p) + f" {self.passage.tag}"


def find_equation(question: str, passages: list[Passage], catalog: Catalog, settings: Settings, embedder,
                  weights: dict[str, float]) -> FoundEquation | None:
    """The numbered equation on a retrieved page that best matches the question, or None."""
    pages: dict[str, dict[int, Passage]] = {}
    for p in passages:
        if p.paper_id in pages or len(pages) < EQUATION_PAPERS:
            pages.setdefault(p.paper_id, {}).setdefault(p.page, p)
    found: list[FoundEquation] = []
    described: list[str] = []
    for paper_id, by_page in pages.items():
        chunks = [c for c in catalog.chunks(paper_id) if c.page in by_page]
        record = catalog.paper(paper_id)
        for eq in page_equations(settings, record, by_page) if record else []:
            passage = by_page.get(eq["page"])
            if passage is None or not eq["number"]:
                continue
            page_text = catalog.page_text(paper_id, eq["page"]) or ""
            intro, where = (collapse(eq["context"].get(k) or "") for k in ("intro", "where"))
            intro = intro if quote_on_page(intro, page_text) else ""
            where = where if quote_on_page(where, page_text) else ""
            if not (intro or where):
                continue  # nothing on the page to quote for it
            found.append(FoundEquation(eq["number"], passage, collapse(eq["text"]), intro or where, where, 0.0))
            # The section heading says what the equation is ("3 Clipped Surrogate Objective").
            section = next((c.section for c in chunks if c.page == eq["page"] and (intro or where)
                            and match_key(intro or where) in match_key(c.text)), "")
            described.append(f"{section}. {intro} {collapse(eq['text'])} {where}")
    if not found:
        return None
    total = sum(weights.values()) or 1.0
    overlap = [OVERLAP_WEIGHT * sum(weights[t] for t in set(tokenize(d)) & weights.keys()) / total for d in described]
    # Embedding costs: only the equations whose context shares most of the question's words are embedded.
    shortlist = sorted(sorted(range(len(found)), key=lambda i: -overlap[i])[:EMBED_MAX])
    vectors = embed_cached(embedder, [question] + [described[i] for i in shortlist])
    for i, cosine in zip(shortlist, vectors[1:] @ vectors[0]):
        found[i].score = float(cosine) + overlap[i]
    best = max((found[i] for i in shortlist), key=lambda e: e.score)  # first of equals: reading order
    return best if best.score >= MIN_SCORE else None
