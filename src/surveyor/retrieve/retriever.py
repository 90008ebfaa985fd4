"""Passage retrieval: dense (Chroma), keyword (BM25) and their fusion.

    search(query) ── dense: embed query → Chroma nearest chunks (paper filters as Chroma `where`)
                 ├─ bm25:  BM25 scores of every chunk, filtered in Python
                 ├─ hybrid: reciprocal rank fusion of the two ranked lists
                 └─ diversity: at most `per_paper_max` passages of one paper in the top k

Reciprocal rank fusion (score = Σ 1 / (rrf_k + rank)) needs no score
calibration between a cosine and a BM25 score, and rewards chunks both
retrievers rank well. Reference-list chunks are indexed but excluded unless
asked for: they match every query's keywords and support no claim.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from surveyor.errors import InputError
from surveyor.grounding import format_citation
from surveyor.index.bm25 import BM25Index, index_key, tokenize
from surveyor.index.catalog import Catalog, ChunkRow, PaperRecord
from surveyor.index.embedder import get_embedder
from surveyor.retrieve.acronyms import best_expansion, expansions
from surveyor.retrieve.fusion import diversify, interleave, rrf_fuse
from surveyor.settings import Settings

MODES = ("hybrid", "dense", "bm25")
REFERENCES = "references"
# Fusion needs depth: a chunk ranked 30th by one retriever and 3rd by the other must be seen by both.
MIN_CANDIDATES_PER_K = 4
# Reference chunks are filtered out of dense hits in Python (a Chroma `$ne` metadata filter costs
# ~4x the vector search itself); fetching this much more keeps the depth after filtering.
DENSE_OVERFETCH = 1.5
# The dense ranking within a named paper: the nearest chunks of the whole index, this many times the
# usual depth, kept when the paper's (one query with the main one; a Chroma metadata filter costs more).
FOCUS_OVERFETCH = 4
# A name found in more abstracts than this is a shared term (GPT-4, CLIP), not the name of one paper.
NAMED_MAX_PAPERS = 2
# Words that look like names in a question but name no paper.
GENERIC_NAMES = frozenset("ai llm llms vlm vlms mllm mllms rl sft asr tts gpu gpus".split())
# A paper declares its own name early ("We call our approach Whisper", "we introduce MindSearch").
DECLARED_MAX_PAGE = 3
# A word mentioned by more papers than this is a common word or a shared model name, not one paper's own.
DECLARED_MAX_MENTIONS = 12
EXPANSION_MAX_CHUNKS = 400     # chunks read for an acronym's expansion: enough votes, flat cost at any corpus size
_DECLARES = r"(?:\bwe\s+(?:call|name|dub|term)\s+(?:[\w\-]+\s+){0,3}?|\b(?:called|named|dubbed|termed)\s+|\bwe\s+(?:introduce|present|propose)\s+)[\"“‘']?"


@dataclass
class Passage:
    chunk_id: str
    paper_id: str
    arxiv_id: str
    title: str
    year: int | None
    page: int
    section: str
    kind: str
    text: str
    score: float                       # the ranking score of the mode used (RRF, cosine or BM25)
    dense_rank: int | None = None      # 1-based rank among dense candidates; None = not among them
    bm25_rank: int | None = None
    dense_score: float | None = None   # cosine similarity to the query, when dense retrieval saw it

    @property
    def tag(self) -> str:
        """How a sentence cites this passage: [1707.06347 p.3]."""
        return format_citation(self.arxiv_id, self.page)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _CorpusView:
    """What BM25 filtering and passage assembly need, aligned with the BM25 index's rows."""

    def __init__(self, bm25: BM25Index, rows: dict[str, ChunkRow], papers: dict[str, PaperRecord]):
        self.bm25 = bm25
        self.rows = rows
        self.papers = papers
        self.paper_ids = sorted(papers)
        position = {pid: i for i, pid in enumerate(self.paper_ids)}
        found = [rows.get(cid) for cid in bm25.chunk_ids]
        # Rows whose paper vanished (a mid-ingest read) point at an extra, never-allowed slot.
        self.row_paper = np.array([position.get(r.paper_id, len(self.paper_ids)) if r else len(self.paper_ids)
                                   for r in found], dtype=np.int64)
        self.row_is_ref = np.array([bool(r and r.kind == REFERENCES) for r in found], dtype=bool)
        # Built on first use, for ask: page texts (quotes), title names and first pages (named papers).
        self.by_page: dict[tuple[str, int], list[str]] | None = None
        self.title_names: dict[str, set[str]] | None = None
        self.openings: dict[str, list[str]] | None = None

    def allowed_rows(self, paper_ok: np.ndarray, include_references: bool) -> np.ndarray:
        mask = np.append(paper_ok, False)[self.row_paper]
        return mask if include_references else mask & ~self.row_is_ref


class Retriever:
    """Search the corpus of one home. Picks up new ingests: the BM25 view is reloaded when the corpus changes."""

    def __init__(self, settings: Settings, catalog: Catalog | None = None, store=None):
        self.settings = settings
        self._own_catalog = catalog is None
        self.catalog = catalog or Catalog(settings.index_dir)
        self._store = store
        self._view: _CorpusView | None = None
        self._view_key: str | None = None
        self._pinned = False

    def close(self) -> None:
        if self._own_catalog:
            self.catalog.close()

    def __enter__(self) -> Retriever:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def store(self):
        if self._store is None:
            from surveyor.index.store import VectorStore

            self._store = VectorStore(self.settings)
        return self._store

    @property
    def embedder(self):
        return get_embedder(self.settings.embedding)

    def pin_view(self, bm25: BM25Index, rows: dict[str, ChunkRow]) -> None:
        """Search this BM25 index and these rows instead of the catalog's (bench/retrieval.py's 100k scale-up)."""
        papers = {p.paper_id: p for p in self.catalog.papers()}
        self._view, self._pinned = _CorpusView(bm25, rows, papers), True

    def view(self) -> _CorpusView:
        if self._pinned and self._view is not None:
            return self._view
        key = index_key(self.catalog)
        if self._view is None or key != self._view_key:
            bm25 = BM25Index.for_catalog(self.catalog, self.settings.index_dir)
            rows = {r.chunk_id: r for r in self.catalog.chunks()}
            papers = {p.paper_id: p for p in self.catalog.papers()}
            self._view, self._view_key = _CorpusView(bm25, rows, papers), key
        return self._view

    def corpus_has(self, term: str) -> bool:
        """True when some non-reference chunk contains the term (a compound: whole, or all its parts in one chunk).

        Ask uses it to tell a question about something absent from the corpus (SmolVLM) from one
        whose passages merely failed to mention a name.
        """
        view = self.view()
        tokens = tokenize(term)
        if not tokens:
            return True
        body = ~view.row_is_ref
        if (view.bm25.rows_with_all(tokens[:1]) & body).any():
            return True
        return len(tokens) > 1 and bool((view.bm25.rows_with_all(tokens[1:]) & body).any())

    def page_texts(self, paper_id: str, page: int) -> list[str]:
        """Texts of the non-reference chunks of one page, in reading order (the page as the index cleaned it)."""
        view = self.view()
        if view.by_page is None:
            by_page: dict[tuple[str, int], list[ChunkRow]] = {}
            for row in view.rows.values():
                if row.kind != REFERENCES:
                    by_page.setdefault((row.paper_id, row.page), []).append(row)
            view.by_page = {key: [r.text for r in sorted(rows, key=lambda r: r.ordinal)]
                            for key, rows in by_page.items()}
        return view.by_page.get((paper_id, page), [])

    def papers_named(self, terms: Iterable[str], plain: Iterable[str] = ()) -> list[str]:
        """Paper ids that the names in `terms` point at, best first (see naming)."""
        return list(self.naming(terms, plain))

    def naming(self, terms: Iterable[str], plain: Iterable[str] = ()) -> dict[str, list[str]]:
        """Paper ids that the names in `terms` point at (DistilBERT, MindSearch, PPO, s1, InstructGPT), best
        first, each with its own names among the terms: those that name it by its title or its declaration.

        A term names a paper when it is a word of the paper's title or one of its title's initials
        (Proximal Policy Optimization → PPO); failing that, when it occurs in the abstracts of at most
        NAMED_MAX_PAPERS papers (InstructGPT), or when at most that many papers declare it as their own
        name on their first pages ("We call our approach Whisper"). A name in many abstracts (GPT-4)
        names no paper. `plain` words (a capitalised word: Whisper, Transformer) name a paper only by a
        declaration (titles are full of plain words), and not when part of a term (WhisperX). Papers named by
        more terms, and by their titles, come first; at most NAMED_MAX_PAPERS are returned.
        """
        votes: dict[str, float] = {}
        own: dict[str, list[str]] = {}
        terms = [t.lower() for t in terms]
        for term in dict.fromkeys(terms):
            self._vote(term, self._named_by(term), votes, own)
        for term in dict.fromkeys(t.lower() for t in plain):
            if not any(term in t for t in terms):  # Whisper in a question on WhisperX is WhisperX's
                self._vote(term, (self._declaring(term), 0.5, True), votes, own)
        ranked = sorted(votes, key=lambda pid: (-votes[pid], pid))
        return {pid: own.get(pid, []) for pid in ranked[:NAMED_MAX_PAPERS]}

    @staticmethod
    def _vote(term: str, named: tuple[list[str], float, bool], votes: dict[str, float],
              own: dict[str, list[str]]) -> None:
        papers, weight, is_own = named
        if len(papers) > NAMED_MAX_PAPERS:
            return
        for pid in papers:
            votes[pid] = votes.get(pid, 0.0) + weight
            if is_own:
                own.setdefault(pid, []).append(term)

    def _named_by(self, term: str) -> tuple[list[str], float, bool]:
        """(papers, vote weight, whether the term is their own name) for one term of a question."""
        if len(term) < 2 or term in GENERIC_NAMES:
            return [], 0.0, False
        named = [pid for pid, names in self._title_names().items() if term in names]
        if named:
            return named, 1.0, True
        view = self.view()
        pattern = re.compile(rf"(?<![\w\-]){re.escape(term)}(?![\w\-])")
        named = [pid for pid, p in sorted(view.papers.items()) if pattern.search((p.meta.abstract or "").lower())]
        if named:  # a word of the abstract is the paper's subject matter, not its name: kept in its own search
            return named, 0.5, False
        return self._declaring(term), 0.5, True

    def acronym_expansion(self, acronym: str) -> str | None:
        """What the corpus says the acronym stands for most often ("grpo" → "group relative policy
        optimization"), from the non-reference chunks that contain it. None when none spells it out, and
        when a paper's title holds every word of it (DeiT, LLM): the acronym then means a paper, or
        nothing in particular."""
        view = self.view()
        tokens = tokenize(acronym)
        if not tokens:
            return None
        rows = np.flatnonzero(view.bm25.rows_with_all(tokens) & ~view.row_is_ref)[:EXPANSION_MAX_CHUNKS]
        ids = (view.bm25.chunk_ids[i] for i in rows)
        expansion = best_expansion(acronym, (view.rows[cid].text for cid in ids if cid in view.rows))
        words = _title_words(expansion) if expansion else set()
        if not words or any(words <= names for names in self._title_names().values()):
            return None
        return expansion

    def _title_names(self) -> dict[str, set[str]]:
        """Per paper: the words of its title and its initials, the names a question may call it by."""
        view = self.view()
        if view.title_names is None:
            view.title_names = {pid: _title_words(p.meta.title) | _initials(p.meta.title)
                                for pid, p in sorted(view.papers.items())}
        return view.title_names

    def _declaring(self, term: str) -> list[str]:
        """Papers that declare `term` as their name on one of their first DECLARED_MAX_PAGE pages
        (a footnote mark may follow it: "We call our approach Whisper2"), or spell it out there as an
        acronym ("Multimodal Bottleneck Transformer (MBT)")."""
        view = self.view()
        tokens = tokenize(term)
        if not tokens:
            return []
        mentions = np.flatnonzero(view.bm25.rows_with_all(tokens) & ~view.row_is_ref)
        candidates = {view.rows[cid].paper_id for cid in (view.bm25.chunk_ids[i] for i in mentions) if cid in view.rows}
        if len(candidates) > DECLARED_MAX_MENTIONS:  # a common word (Language, Search), not a name
            return []
        if view.openings is None:  # the first pages' texts of each paper (lower-cased), where papers name themselves
            view.openings = {}
            for row in view.rows.values():
                if row.page <= DECLARED_MAX_PAGE and row.kind != REFERENCES:
                    view.openings.setdefault(row.paper_id, []).append(row.text.lower())
        pattern = re.compile(_DECLARES + re.escape(term) + r"\d?(?![\w\-])")
        return sorted(pid for pid in candidates
                      if any(term in text and (pattern.search(text) or expansions(term, [text]))
                             for text in view.openings.get(pid, ())))

    # --- filters ----------------------------------------------------------------
    def resolve_papers(self, ids: Iterable[str]) -> list[str]:
        """Paper ids for arXiv ids or paper ids (version suffixes ignored); unknown ones are an InputError."""
        papers = self.view().papers
        by_arxiv = {p.arxiv_id: pid for pid, p in papers.items() if p.arxiv_id}
        out = []
        for raw in ids:
            wanted = raw.strip()
            base = re.sub(r"v\d+$", "", wanted)
            pid = wanted if wanted in papers else by_arxiv.get(wanted) or by_arxiv.get(base) or (
                base if base in papers else None)
            if pid is None:
                raise InputError(f"paper {raw!r} is not in the corpus (see `surveyor papers`)")
            out.append(pid)
        return out

    def allowed_papers(self, papers: Sequence[str] | None, years: tuple[int | None, int | None] | None,
                       topic: str | None) -> list[str] | None:
        """Paper ids a query may return; None = all (no paper-level filter)."""
        view = self.view()
        allowed: set[str] | None = None
        if papers:
            allowed = set(self.resolve_papers(papers))
        if topic:
            from surveyor.index.topic_match import papers_in_topic
            from surveyor.topics import resolve_topic

            in_topic = set(papers_in_topic(self.catalog, resolve_topic(topic), self.settings.topics.threshold))
            allowed = in_topic if allowed is None else allowed & in_topic
        if years and (years[0] is not None or years[1] is not None):
            lo, hi = years[0] or 0, years[1] or 9999
            in_years = {pid for pid, p in view.papers.items() if p.meta.year and lo <= p.meta.year <= hi}
            allowed = in_years if allowed is None else allowed & in_years
        return None if allowed is None else sorted(allowed)

    @staticmethod
    def _where(allowed: list[str] | None) -> dict[str, Any] | None:
        """Chroma's filter for a paper-level restriction (papers, years and topic all reduce to paper ids)."""
        return None if allowed is None else {"paper_id": {"$in": allowed}}

    # --- search -----------------------------------------------------------------
    def search(self, query: str, k: int | None = None, papers: Sequence[str] | None = None,
               years: tuple[int | None, int | None] | None = None, topic: str | None = None,
               include_references: bool | None = None, mode: str = "hybrid",
               focus: Sequence[str] = (), focus_names: Sequence[str] = ()) -> list[Passage]:
        """The top k passages for `query`. `focus`: paper ids the query names; their chunks get a third
        vote in the fusion and room for k/2 passages each, so a question about one paper reads more of it.
        That vote ranks the paper's chunks by the query without `focus_names` (the names that pointed at
        the paper): within a paper its own name is on every other chunk and tells them apart by nothing."""
        if mode not in MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; valid: {', '.join(MODES)}")
        if not query or not query.strip():
            raise InputError("empty query")
        cfg = self.settings.retrieval
        k = k or cfg.k
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        include_refs = cfg.include_references if include_references is None else include_references
        view = self.view()
        allowed = self.allowed_papers(papers, years, topic)
        if allowed is not None and not allowed:
            return []
        depth = max(cfg.candidates, MIN_CANDIDATES_PER_K * k)

        # Within a named paper, the query without the paper's names ranks its chunks (see _focused).
        within = _without_words(query, focus_names) if focus and focus_names else query
        dense: list[tuple[str, float]] = []
        dense_within: list[tuple[str, float, str]] | None = None
        if mode in ("hybrid", "dense"):
            texts = [query] + ([within] if within != query else [])
            vectors = self.embedder.embed(texts)  # one pass for both: the cost is reading the weights once
            fetch = depth if include_refs else int(depth * DENSE_OVERFETCH)
            if len(texts) > 1:  # and one query for both
                fetch = max(fetch, depth * FOCUS_OVERFETCH)
            hits = self._nearest(list(vectors), fetch, self._where(allowed))
            dense = [(cid, score) for cid, score, kind in hits[0] if include_refs or kind != REFERENCES][:depth]
            dense_within = hits[1] if len(texts) > 1 else None
        keyword: list[tuple[str, float]] = []
        if mode in ("hybrid", "bm25"):
            paper_ok = np.ones(len(view.paper_ids), dtype=bool)
            if allowed is not None:
                paper_ok = np.isin(np.array(view.paper_ids, dtype=object), allowed)
            mask = view.allowed_rows(paper_ok, include_refs)
            keyword = [(h.chunk_id, h.score) for h in view.bm25.search(query, depth, mask)]

        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = keyword
        else:
            ranked = rrf_fuse([[cid for cid, _ in dense], [cid for cid, _ in keyword]], cfg.rrf_k)
        ranked = [(cid, s) for cid, s in ranked if cid in view.rows]  # skip rows of a concurrent re-ingest
        focus = set(focus) & set(allowed) if allowed is not None else set(focus)
        if focus:
            ranked = self._focused(view, within, dense_within, ranked, dense, focus, depth, include_refs)

        n_papers = len(allowed) if allowed is not None else len(view.paper_ids)
        cap = max(cfg.per_paper_max, math.ceil(k / max(1, n_papers)))  # one-paper filters still fill k
        focus_cap = max(cap, k // 2)
        chosen = diversify(ranked, lambda cid: view.rows[cid].paper_id, k,
                           lambda paper: focus_cap if paper in focus else cap)

        dense_rank = {cid: i for i, (cid, _) in enumerate(dense, 1)}
        dense_score = dict(dense)
        bm25_rank = {cid: i for i, (cid, _) in enumerate(keyword, 1)}
        return [self._passage(view, cid, score, dense_rank.get(cid), bm25_rank.get(cid), dense_score.get(cid))
                for cid, score in chosen]

    def _focused(self, view: _CorpusView, within: str, dense_within: list[tuple[str, float, str]] | None,
                 ranked: list[tuple[str, float]], dense: list[tuple[str, float]], focus: set[str], depth: int,
                 include_refs: bool) -> list[tuple[str, float]]:
        """`ranked` with a third vote for the named papers' chunks, whose own slots are then filled in an
        order of their own: the query `within` them, without the papers' names (BM25 and dense, fused),
        taking turns with the overall order. The fusion decides how much room a named paper gets; within
        the paper, its name tells its chunks apart by little ("Whisper" is on every other chunk of Whisper)."""
        cfg = self.settings.retrieval
        focus_ok = np.isin(np.array(view.paper_ids, dtype=object), sorted(focus))
        lexical = [h.chunk_id for h in view.bm25.search(within, depth, view.allowed_rows(focus_ok, include_refs))
                   if h.chunk_id in view.rows]
        semantic = [cid for cid, _ in dense if cid in view.rows and view.rows[cid].paper_id in focus]
        if dense_within is not None:
            semantic = [cid for cid, _, kind in dense_within if cid in view.rows and view.rows[cid].paper_id in focus
                        and (include_refs or kind != REFERENCES)]
        overall = [cid for cid, _ in ranked if view.rows[cid].paper_id in focus]
        # Taking turns keeps both views: the answer may sit where the name is (DistilBERT was trained on
        # ...) or where it is not (Whisper's input features are described once, without the name).
        inside = interleave([cid for cid, _ in rrf_fuse([lexical, semantic], cfg.rrf_k)], overall)
        fused = rrf_fuse([[cid for cid, _ in ranked], inside], cfg.rrf_k)
        order = iter(inside)
        return [(next(order), score) if view.rows[cid].paper_id in focus else (cid, score) for cid, score in fused]

    def _nearest(self, vectors: list[np.ndarray], n: int,
                 where: dict[str, Any] | None) -> list[list[tuple[str, float, str]]]:
        """Per query vector, (chunk id, cosine, kind) of the n nearest chunks; the kind comes from the catalog."""
        rows = self.view().rows
        return [[(cid, cosine, rows[cid].kind if cid in rows else "") for cid, cosine in hits]
                for hits in self.store.nearest(vectors, n, where)]

    @staticmethod
    def _passage(view: _CorpusView, cid: str, score: float, d_rank: int | None, b_rank: int | None,
                 d_score: float | None) -> Passage:
        row = view.rows[cid]
        paper = view.papers.get(row.paper_id)
        meta = paper.meta if paper else None
        return Passage(chunk_id=cid, paper_id=row.paper_id, arxiv_id=(paper.arxiv_id if paper else None) or row.paper_id,
                       title=(meta.title if meta else None) or row.paper_id, year=meta.year if meta else None,
                       page=row.page, section=row.section, kind=row.kind, text=row.text, score=round(score, 6),
                       dense_rank=d_rank, bm25_rank=b_rank,
                       dense_score=round(d_score, 6) if d_score is not None else None)


def _without_words(query: str, words: Iterable[str]) -> str:
    """The query with every token of `words` removed (BM25 tokens, so 'Whisper' also drops 'whisper')."""
    drop = {t for w in words for t in tokenize(w)}
    return " ".join(w for w in query.split() if not set(tokenize(w)) & drop)


def _title_words(title: str | None) -> set[str]:
    """Lower-case words of a title, whole and split at ':' and '-' (s1: → s1, DeepSeek-R1 → deepseek-r1)."""
    words = re.findall(r"[\w][\w.\-]*[\w]|\w", (title or "").lower())
    return set(words) | {part for w in words for part in re.split(r"[-.]", w) if len(part) > 1}


def _initials(title: str | None) -> set[str]:
    """Initials of a title's capitalised words and their prefixes of 3+ letters, lower-case (ppo, ppoa)."""
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z][\w\-]*", title or "") if w[0].isupper()).lower()
    return {initials[:n] for n in range(3, len(initials) + 1)}
