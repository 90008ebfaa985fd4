"""Themes: agglomerative (Ward) clustering of the surveyed papers' card embeddings, each theme named
by its most distinctive shared terms (counted, not generated).

Themes are sticky: a regeneration keeps old papers where they were and places new ones at the
nearest theme, so unchanged themes keep their drafts.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from surveyor.index.catalog import PaperRecord
from surveyor.textnorm import STOPWORDS, collapse
from surveyor.topics import Topic
from surveyor.write.survey.select import Entry


@dataclass
class Theme:
    index: int
    name: str
    terms: list[str]
    papers: list[str]


# Words that say nothing about what distinguishes a group of papers (they occur in any abstract).
_BORING = frozenset(
    "paper papers propose proposed proposes method methods approach approaches result results show shows shown "
    "work works performance new novel task tasks table figure fig section arxiv preprint however first second "
    "third different large larger small smaller based achieve achieves achieved state art sota existing prior "
    "recent recently previous significantly significant improve improves improved improvement improvements "
    "demonstrate demonstrates experiments experiment et al also well many much make makes made like introduce "
    "introduces introduced present presents study studies often across without within further including able "
    "order still even given provide provides two three specific number reduce reduces reduced before after "
    "faster better best high higher low lower good strong stronger simple simply effective efficient "
    "comparable competitive outperform outperforms outperforming while yet because since thus therefore "
    "times fewer less several various overall key main general whole need needs needed require requires "
    "leverage leverages leveraging enable enables allow allows help helps way ways use uses paradigm "
    "framework frameworks technique techniques lead leads large-scale wide range through them only thereby "
    "address addresses addressing designed design effectively effective challenging challenge challenges "
    "applications application procedure aims aim produce produces ensuring ensure purely strategy "
    "strategies advantageously whereas although among upon toward towards around about against along "
    "instead rather very really just simply mainly mostly largely highly particularly especially "
    "notably typically usually generally commonly widely currently called named termed known termed "
    "setting settings example examples case cases part parts terms term fact due respect "
    "furthermore moreover additionally finally although despite however whether either neither "
    "dataset datasets benchmark benchmarks available potential possible important crucial critical "
    "following contribution contributions comprehensive survey surveys success successful feature features "
    "capability capabilities ability abilities focus focuses aspect aspects level levels various variety "
    "single solution solutions modeling modelling"
    .split()) | STOPWORDS
# Too generic to name a theme alone, but fine inside a two-word term ("language models").
_GENERIC = frozenset(
    "model models language training learning data network networks system systems performances parameters "
    "understanding representation representations inference knowledge task-specific pre-trained pre-training "
    "fine-tuning fine-tuned tuning memory size teacher student students teachers processing natural".split())
_FRAGMENTS = re.compile(r"[.,;:()\[\]!?\"“”]|\s-\s|—")


def _terms(text: str) -> set[str]:
    """Unigrams and bigrams (within one phrase) of meaningful words, lower case."""
    out: set[str] = set()
    for fragment in _FRAGMENTS.split(collapse(text)):
        words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]*", fragment)]
        keep = [w if len(w) >= 3 and w not in _BORING else None for w in words]
        out.update(w for w in keep if w and w not in _GENERIC)
        out.update(f"{a} {b}" for a, b in zip(keep, keep[1:]) if a and b and a != b)
    return out


def card_text(entry: Entry) -> str:
    card = entry.card
    parts = [entry.record.title, entry.record.meta.abstract or ""]
    for name in ("innovations", "challenges", "architecture", "training"):
        parts += [q.text for q in getattr(card, name)[:2]]
    return " ".join(parts)


def naming_text(entry: Entry) -> str:
    """What a paper says it does: title, abstract and its contribution statements."""
    quotes = " ".join(q.text for q in entry.card.innovations[:3])
    return f"{entry.record.title}. {entry.record.meta.abstract or ''} {quotes}"


def background_df(records: list[PaperRecord]) -> tuple[dict[str, int], int]:
    """In how many corpus papers (title + abstract) each term occurs: common terms name nothing."""
    df: dict[str, int] = {}
    for record in records:
        for term in _terms(f"{record.title}. {record.meta.abstract or ''}"):
            df[term] = df.get(term, 0) + 1
    return df, len(records)


def name_theme(members: list[Entry], others: list[Entry], topic: Topic,
               background: tuple[dict[str, int], int] | None = None) -> list[str]:
    """The 2 terms most distinctive of `members`: shared within, rare outside and rare in the corpus."""
    inside = [_terms(naming_text(e)) for e in members]
    outside = [_terms(naming_text(e)) for e in others]
    titles = [_terms(e.record.title) for e in members]
    df_corpus, n_corpus = background or ({}, 0)
    topic_words = {w.lower() for w in topic.name.split("_")}
    counts: dict[str, int] = {}
    for terms in inside:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    need = min(2, len(members))
    scored = []
    for term, df_in in counts.items():
        if term in topic_words:
            continue
        df_out = sum(1 for terms in outside if term in terms)
        score = df_in / len(members) - (df_out / len(outside) if outside else 0.0)
        if df_in < need:
            score -= 0.5  # a term of one paper names a theme only when nothing is shared
        if n_corpus > 1:
            score += 0.4 * math.log((n_corpus + 1) / (1 + df_corpus.get(term, 0))) / math.log(n_corpus + 1)
        score += 0.15 if " " in term else 0.0
        score += 0.1 * sum(1 for t in titles if term in t) / len(members)
        scored.append((-round(score, 6), -len(term), term))
    picked: list[str] = []
    for _, _, term in sorted(scored):
        if any(term in p or p in term for p in picked):
            continue
        picked.append(term)
        if len(picked) == 2:
            break
    return picked or [members[0].record.title.split(":")[0].lower()[:40]]


def _theme_count(n: int) -> int:
    if n <= 3:
        return 1
    if n <= 6:
        return 2
    if n <= 12:
        return 3
    return 4


def _merge_singletons(entries: list[Entry], vectors: np.ndarray, labels: dict[str, int]) -> None:
    """A theme of one paper is no theme: with 6+ papers, a lone paper joins the nearest group."""
    if len(entries) < 6:
        return
    index = {e.pid: i for i, e in enumerate(entries)}
    for e in entries:
        group = labels[e.pid]
        if sum(1 for g in labels.values() if g == group) > 1:
            continue
        others = sorted({g for g in labels.values() if g != group})
        if not others:
            return
        v = vectors[index[e.pid]]

        def closeness(g: int) -> float:
            members = [index[p] for p, lab in labels.items() if lab == g]
            return float(v @ vectors[members].mean(axis=0))

        labels[e.pid] = max(others, key=lambda g: (closeness(g), -g))


def assign_themes(entries: list[Entry], vectors: np.ndarray, topic: Topic, previous: list[dict] | None,
                  background: tuple[dict[str, int], int] | None = None) -> tuple[list[Theme], bool]:
    """Group entries into themes; returns the themes and whether they were re-clustered from scratch."""
    index = {e.pid: i for i, e in enumerate(entries)}
    labels: dict[str, int] = {}
    reclustered = True
    if previous:
        old = {pid: t["index"] for t in previous for pid in t.get("papers", []) if pid in index}
        new = [e.pid for e in entries if e.pid not in old]
        groups = sorted(set(old.values()))
        if old and len(groups) >= 1 and len(new) <= max(2, int(0.4 * len(entries))):
            reclustered = False
            labels.update(old)
            centroids = {g: vectors[[index[p] for p, lab in old.items() if lab == g]].mean(axis=0) for g in groups}
            for pid in new:
                v = vectors[index[pid]]
                labels[pid] = max(groups, key=lambda g: (float(v @ centroids[g]), -g))
    if reclustered:
        k = _theme_count(len(entries))
        if k == 1 or len(entries) < 2:
            labels = {e.pid: 1 for e in entries}
        else:
            from scipy.cluster.hierarchy import fcluster, linkage

            tree = linkage(vectors.astype(np.float64), method="ward")
            raw = fcluster(tree, t=k, criterion="maxclust")
            labels = {e.pid: int(lab) for e, lab in zip(entries, raw)}
            _merge_singletons(entries, vectors, labels)
    # Number themes by the date of their earliest paper: the narrative goes from old to new.
    groups = sorted(set(labels.values()),
                    key=lambda g: min((e.record.meta.published or "9999", e.pid) for e in entries if labels[e.pid] == g))
    renumber = {g: i + 1 for i, g in enumerate(groups)} if reclustered else {g: g for g in groups}
    themes = []
    for g in groups:
        members = [e for e in entries if labels[e.pid] == g]
        others = [e for e in entries if labels[e.pid] != g]
        terms = name_theme(members, others, topic, background)
        for e in members:
            e.theme = renumber[g]
        themes.append(Theme(renumber[g], " · ".join(terms), terms, [e.pid for e in members]))
    return sorted(themes, key=lambda t: t.index), reclustered



def place_compact(entries: list[Entry], vectors: np.ndarray, themes: list[Theme]) -> None:
    """Compact (non-key) entries join the theme whose key papers' centroid is nearest; themes keep only key papers
    in `papers` (their paragraphs and the next run's sticky themes are about the key papers)."""
    index = {e.pid: i for i, e in enumerate(entries)}
    centroids = {t.index: vectors[[index[p] for p in t.papers if p in index]].mean(axis=0)
                 for t in themes if any(p in index for p in t.papers)}
    for e in entries:
        if not e.full and centroids:
            v = vectors[index[e.pid]]
            e.theme = max(centroids, key=lambda g: (float(v @ centroids[g]), -g))
