"""What an acronym in a question stands for, as the corpus spells it out.

A question says "GRPO"; the passage that defines it says "Group Relative Policy Optimization
(GRPO)" once and goes on with the formula. Dozens of chunks mention GRPO in passing, so neither
BM25 nor the encoder singles out the definition from the acronym alone. `surveyor ask` adds
the expansion the corpus uses most to its retrieval query, which brings those passages up.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Words an expansion may skip when its initials are read: Reinforcement Learning from Human Feedback (RLHF).
_FUNCTION_WORDS = {"a", "an", "and", "by", "for", "from", "in", "of", "on", "the", "to", "via", "with"}
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
MAX_EXPANSION_WORDS = 10
LOOK_BACK_CHARS = 160
_ACRONYM = re.compile(r"(?<![\w\-])([A-Z][A-Za-z]{0,6}[A-Z][A-Za-z]?)(?![\w\-])")


def question_acronyms(question: str) -> list[str]:
    """Acronym-like words of a question: GRPO, RLHF, MoE, ViT (two or more capitals, letters only)."""
    return list(dict.fromkeys(a for a in _ACRONYM.findall(question) if 2 <= len(a) <= 8))


def expansions(acronym: str, texts: Iterable[str]) -> Counter[str]:
    """How often each spelled-out form precedes "(ACRONYM)" in the texts, by its lower-cased words."""
    defined = re.compile(r"\(\s*" + re.escape(acronym) + r"s?\s*[),;]")
    found: Counter[str] = Counter()
    for text in texts:
        for match in defined.finditer(text):
            words = text[max(0, match.start() - LOOK_BACK_CHARS):match.start()].split()[1:]  # [1:]: maybe cut
            run: list[str] = []
            for word in reversed(words):  # the plain words right before the parenthesis
                if not _PLAIN_WORD.fullmatch(word) or len(run) == MAX_EXPANSION_WORDS:
                    break
                run.insert(0, word)
            for n in range(1, len(run) + 1):  # the shortest run of them that spells the acronym
                if _spells(run[-n:], acronym):
                    found[" ".join(run[-n:]).lower()] += 1
                    break
    return found


def best_expansion(acronym: str, texts: Iterable[str]) -> str | None:
    found = expansions(acronym, texts)
    return found.most_common(1)[0][0] if found else None


def _spells(words: list[str], acronym: str) -> bool:
    parts = [p for w in words for p in w.split("-") if p]  # Mixture-of-Experts (MoE)
    target = acronym.lower()
    if not parts or parts[0][0].lower() != target[0]:
        return False
    return any("".join(p[0] for p in seq).lower() == target
               for seq in (parts, [p for p in parts if p.lower() not in _FUNCTION_WORDS]))
