"""Approach families ("themes" in the code): agglomerative (Ward) clustering of the embeddings of the papers' method
sentences (what each transfers, optimises or changes), each family named by a noun phrase its papers use
(surveyor.write.survey.families: mined, scored, checked verbatim; a model may only choose among those).

Themes are sticky: a regeneration keeps old papers where they were and places new ones at the
nearest theme, so unchanged themes keep their drafts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surveyor.textnorm import match_key
from surveyor.write.survey.families import choose_name, method_text, pick_names, rank_names
from surveyor.write.survey.select import Entry


@dataclass
class Theme:
    index: int
    name: str
    terms: list[str]
    papers: list[str]


def card_text(entry: Entry) -> str:
    """What papers are clustered by: their method sentences (families.method_text)."""
    return method_text(entry)


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


def assign_themes(entries: list[Entry], vectors: np.ndarray, previous: list[dict] | None) -> tuple[list[Theme], bool]:
    """Group entries into themes (unnamed: name_themes names them once every paper is placed); returns the themes
    and whether they were re-clustered from scratch."""
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
            # Outliers split off first: cut deeper until k groups hold two papers or more (singletons then join
            # their nearest group), so one odd paper does not leave the topic a single family.
            for cut in range(k, min(len(entries), k + 4) + 1):
                raw = fcluster(tree, t=cut, criterion="maxclust")
                sizes = np.bincount(raw)
                if int((sizes >= 2).sum()) >= k:
                    break
            labels = {e.pid: int(lab) for e, lab in zip(entries, raw)}
            _merge_singletons(entries, vectors, labels)
    # Number themes by the date of their earliest paper: the narrative goes from old to new.
    groups = sorted(set(labels.values()),
                    key=lambda g: min((e.record.meta.published or "9999", e.pid) for e in entries if labels[e.pid] == g))
    renumber = {g: i + 1 for i, g in enumerate(groups)} if reclustered else {g: g for g in groups}
    themes = []
    for g in groups:
        members = [e for e in entries if labels[e.pid] == g]
        for e in members:
            e.theme = renumber[g]
        themes.append(Theme(renumber[g], "", [], [e.pid for e in members]))
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


def name_themes(themes: list[Theme], entries: list[Entry], background: tuple[dict[str, int], int] | None = None,
                llm=None, topic=None, cache=None) -> None:
    """Name each family (key and compact members together) by a checked phrase of its papers; `terms` keeps the
    checked candidates. With a model, it may choose among them (exact match only)."""
    members = [[e for e in entries if e.theme == t.index] or [e for e in entries if e.pid in t.papers]
               for t in themes]
    fallback = [(m[0].record.title.split(":")[0].strip()[:60] if m else f"family {t.index}")
                for t, m in zip(themes, members)]
    exclude = set()
    if topic is not None:  # the topic's own name is not a family in it
        exclude = {match_key(x.replace("-", " ").replace("_", " ")) for x in [topic.title, topic.name, *topic.aliases]}
        exclude |= {match_key(x) for x in topic.aliases}
    topic_title = topic.title if topic is not None else ""
    ranked = rank_names(members, background, exclude)
    for theme, (name, candidates), group in zip(themes, pick_names(ranked, fallback), members):
        titles = [e.record.title for e in group]
        picked = None
        if llm is not None and len(candidates) > 1:
            inputs = {"kind": "family-name", "model": getattr(llm, "name", "?"), "titles": titles,
                      "candidates": candidates}
            make = lambda: {"md": choose_name(llm, topic_title, titles, candidates) or "", "claims": []}  # noqa: E731
            picked = (cache.get_or_make(f"family-name:{theme.index}", inputs, make) if cache else make())["md"]
        picked = picked if picked in candidates else None
        theme.name = picked or name
        theme.terms = candidates
