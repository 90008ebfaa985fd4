"""Result-table rows as answers: the row a question about a method's number on a benchmark asks for.

"On Minerva Math, how does DFT compare with SFT for Qwen2.5-Math-7B?" is answered by two rows of
Table 1, which only the table states; the table's text is a run of numbers no similarity ranks
above the prose around it. The paper's rows come from evidence.tables (method, benchmark,
metric, value, table, page); a row matches when its method shares a word with the question and
its column header or caption shares another. It is quoted as the row's own line of the page
(`row_text`, checked verbatim on the page again here) with its table number, so the citation
stays verbatim-checkable.
"""
from __future__ import annotations

import dataclasses
import re

from surveyor.evidence.tables import ResultRow, paper_tables
from surveyor.grounding import quote_on_page, strip_citations
from surveyor.index.bm25 import tokenize
from surveyor.index.catalog import Catalog
from surveyor.retrieve.retriever import Passage
from surveyor.settings import Settings
from surveyor.write.ask.quotes import Sentence, asks_for_table

# Questions that want a result: a number, or how methods compare on something.
_ASKS_RESULT = re.compile(r"\b(?:compar\w*|beat|outperform\w*|versus|vs\.?|improv\w*|rate|error|scores?|accuracy|"
                          r"results?|reach\w*|achiev\w*|wer|cer|fid|f1|bleu|spider)\b", re.IGNORECASE)
ROWS_QUOTED = 2          # the best row and the row it is compared with
PAPERS_SEARCHED = 3      # the named paper, else the papers of the top passages
EXTRA_WORD = 0.2         # the cost of a method word the question does not say
CAPTION_WEIGHT = 0.5     # a caption word says less about a row than its own header


def asks_for_result(question: str) -> bool:
    return asks_for_table(question) or bool(_ASKS_RESULT.search(question))


def result_rows(question: str, kept: list[Sentence], passages: list[Passage], settings: Settings, catalog: Catalog,
                weights: dict[str, float], named: list[str] = ()) -> list[Sentence]:
    """Quotes of the table rows that state the number the question asks for, best table first; [] when
    no row's method and benchmark (or caption) both match the question."""
    if not asks_for_result(question) or not passages:
        return []
    said = " ".join(strip_citations(s.text) for s in kept)
    by_paper = {p.paper_id: p for p in reversed(passages)}  # each paper's best passage
    # The named papers first, then the papers of the top passages (a name may point at the wrong paper).
    papers = list(dict.fromkeys([pid for pid in named if pid in by_paper] + [p.paper_id for p in passages]))
    best: tuple[float, list[tuple[float, ResultRow]]] | None = None
    best_paper = ""
    for pid in papers[:PAPERS_SEARCHED]:
        record = catalog.paper(pid)
        if record is None:
            continue
        tables: dict[tuple[str, int], list[ResultRow]] = {}
        for row in paper_tables(settings, record).rows:
            if row.row_text:
                tables.setdefault((row.table, row.page), []).append(row)
        for rows in tables.values():
            scored = _score_table(rows, weights, question)
            if scored and (best is None or scored[0] > best[0]):
                best, best_paper = scored, pid
    if best is None:
        return []
    out: list[Sentence] = []
    for _score, row in best[1][:ROWS_QUOTED]:
        source = by_paper.get(best_paper)
        page_text = catalog.page_text(source.paper_id, row.page) if source else None
        if source is None or not quote_on_page(row.row_text, page_text) or row.row_text in said:
            continue
        passage = dataclasses.replace(source, chunk_id=f"table:{source.paper_id}:{row.table}:{row.page}",
                                      page=row.page, section="table", kind="table", text=row.row_text)
        out.append(Sentence(f"Table {row.table}: “{row.row_text}” {passage.tag}", "quoted", passage, row.row_text,
                            reasons=[f"result row of Table {row.table}: {row.method} on "
                                     f"{row.benchmark or row.metric} = {row.value}"]))
    return out


def _words(text: str, weights: dict[str, float]) -> float:
    return sum(weights.get(t, 0.0) for t in set(tokenize(text)))


def _spelled_out(name: str, question: str) -> bool:
    """True when the question spells out an acronym the row names: CoT-FT ← "chain-of-thought fine-tuning"."""
    letters = re.sub(r"[^a-z]", "", name.lower())
    if len(letters) < 3 or not re.fullmatch(r"[A-Za-z][A-Za-z\-]*", name) or sum(c.isupper() for c in name) < 2:
        return False
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]+", question.lower()))
    return letters in initials


def _score_table(rows: list[ResultRow], weights: dict[str, float],
                 question: str = "") -> tuple[float, list[tuple[float, ResultRow]]] | None:
    """(table score, its matching rows best first, one per row line); None when no row matches. A row scores
    the question's words in its method (twice) and in the headers of its values, together."""
    caption = CAPTION_WEIGHT * _words(rows[0].caption, weights)
    lines: dict[str, list[ResultRow]] = {}
    for row in rows:
        lines.setdefault(row.row_text, []).append(row)
    ranked: list[tuple[float, ResultRow]] = []
    for same in lines.values():
        row = same[0]
        # The paper's own method: its name is zeroed in `weights` (every page says it), yet the question asks it.
        method = max(_words(f"{row.group} {row.method}", weights), 1.0 if row.own else 0.0)
        spelled = [w for w in re.split(r"[\s()/]+", row.method) if _spelled_out(w, question)]
        method += sum(max(weights.values(), default=1.0) for _ in spelled[:1])
        # A method word the question does not say ("iw-SFT" for "SFT") counts a little against the row.
        method -= EXTRA_WORD * len({t for t in tokenize(row.method) if not t.isdigit()} - set(tokenize(question)))
        header = _words(" ".join(f"{r.benchmark} {r.metric}" for r in same), weights)
        if method <= 0 or header + caption <= 0:
            continue
        ranked.append((2 * method + header + (0.5 if row.own else 0.0), row))
    if not ranked:
        return None
    ranked.sort(key=lambda sr: -sr[0])
    # The row it is compared with is another method, not a second variant of the best row's method
    # ("Retroformer (r=1)" is compared with "Reflexion", not with "Retroformer (r=4)").
    other = next((i for i, (_, r) in enumerate(ranked[1:], 1) if _method_head(r.method) != _method_head(ranked[0][1].method)), None)
    if other is not None and other > 1:
        ranked.insert(1, ranked.pop(other))
    return caption + sum(s for s, _ in ranked[:ROWS_QUOTED]), ranked


def _method_head(method: str) -> frozenset:
    """A method without its variant: what is left without brackets and numbers ("Qwen2.5-Math-7B w/DFT" and
    "Qwen2.5-Math-1.5B w/DFT" are one method; "... w/SFT" is another)."""
    return frozenset(t for t in tokenize(re.sub(r"\(.*?\)|\d+(?:\.\d+)?", " ", method)) if not t.isdigit())
