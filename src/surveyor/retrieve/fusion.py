"""Fusing ranked lists: reciprocal rank fusion, turn-taking, and at most so many passages per paper."""
from __future__ import annotations

from collections.abc import Callable, Sequence


def interleave(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """Items of both lists taking turns, first's first, each once."""
    out: dict[str, None] = {}
    for i in range(max(len(first), len(second))):
        for items in (first, second):
            if i < len(items):
                out.setdefault(items[i])
    return list(out)


def rrf_fuse(rankings: Sequence[Sequence[str]], rrf_k: int) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: Σ 1/(rrf_k + rank) over the lists; ties keep first-seen order (deterministic)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank)
    order = {cid: i for i, cid in enumerate(fused)}
    return sorted(fused.items(), key=lambda item: (-item[1], order[item[0]]))


def diversify(ranked: Sequence[tuple[str, float]], paper_of, k: int,
              per_paper_max: int | Callable[[str], int]) -> list[tuple[str, float]]:
    """The first k items of `ranked`, skipping any beyond `per_paper_max` (a number, or one per paper) from one paper."""
    limit = per_paper_max if callable(per_paper_max) else (lambda _paper: per_paper_max)
    counts: dict[str, int] = {}
    out: list[tuple[str, float]] = []
    for cid, score in ranked:
        paper = paper_of(cid)
        if counts.get(paper, 0) >= limit(paper):
            continue
        counts[paper] = counts.get(paper, 0) + 1
        out.append((cid, score))
        if len(out) == k:
            break
    return out
