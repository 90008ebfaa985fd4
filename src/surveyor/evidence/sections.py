"""The sentences of a parsed paper that a card may quote, each with the roles of its section.

A heading gives the text under it roles (abstract, intro, related, method, training,
experiments, conclusion, skip); captions, tables and back matter add their own. A sentence
is a candidate only when it reads as prose and occurs verbatim on its page in the catalog.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from surveyor.index.pdfparse import Block, ParsedPdf
from surveyor.textnorm import match_key, split_sentences

_NUMBERING = re.compile(r"^(?:(?P<num>\d+(?:\.\d+)*|[A-H](?:\.\d+)*)\.?|[IVX]{1,5}\.)\s+")

# Roles a heading can give the text under it; a heading may have several.
_ROLE_PATTERNS = {
    "skip": r"acknowledg|author contribution|contributions and acknowledg|ethics statement|reproducibility|"
            r"references|bibliography",
    "abstract": r"^abstract\b",
    "intro": r"introduction|motivation",
    "related": r"related work|background|preliminar|prior work|literature",
    "conclusion": r"conclusion|limitation|discussion|future|broader impact|open (?:question|problem)|societal|"
                  r"summary|outlook",
    "limits": r"limitation|weakness|shortcoming|caveat|disanalog|failure (?:mode|case)s?|threats to validity",
    "future": r"future|open (?:question|problem)|outlook|next steps",
    "experiments": r"experiment|result|evaluation|benchmark|empirical|ablation|analysis|comparison|performance",
    "training": r"training|implementation|set-?up|settings?\b|hyper-?parameter|details|\bdata\b|datasets?|"
                r"pre-?training|fine-?tuning|recipe|curriculum",
    "method": r"method|approach|model|architecture|framework|algorithm|design|proposed|objective|formulation|"
              r"overview|network|module|encoder|decoder|pipeline",
}


def _bare_heading(text: str) -> str:
    return _NUMBERING.sub("", text).strip()


def _heading_depth(text: str) -> int:
    match = _NUMBERING.match(text)
    if not match or not match["num"]:
        return 1
    return match["num"].count(".") + 1


def _is_chapter(heading: str) -> bool:
    """A top-level heading; not a numbered list item the parser took for one ("1. The cost of ...")."""
    bare = _bare_heading(heading)
    return _heading_depth(heading) == 1 and len(bare.split()) <= 10 and not re.search(r"\.\s+\S", bare)


def _roles(heading: str) -> set[str]:
    bare = _bare_heading(heading).lower()
    return {role for role, pattern in _ROLE_PATTERNS.items() if re.search(pattern, bare)}


@dataclass
class Sentence:
    text: str
    page: int
    section: str       # the heading printed above it
    roles: frozenset   # roles of its chapter and its section, plus "caption", "table", "appendix"
    order: int         # position in the paper, for stable ties


def _block_roles(parsed: ParsedPdf) -> list[tuple[Block, frozenset]]:
    """Each prose block with the roles of its chapter (top-level heading) and its own section.

    Chapters with no telling name that sit between the introduction and the experiments
    are taken as method sections: papers often name theirs after the method itself.
    A reader's marks never get here: the parser drops them (index.marks).
    """
    chapter, chapter_roles = "Front matter", set()
    seen_intro = seen_experiments = in_appendix = False
    out: list[tuple[Block, frozenset]] = []
    for block in parsed.blocks():
        if block.is_heading:
            in_appendix |= block.kind == "references"  # everything after the bibliography is back matter
            if _is_chapter(block.text):
                chapter, chapter_roles = block.text, _roles(block.text)
                if "intro" in chapter_roles:  # (again, after a table of contents)
                    seen_intro, seen_experiments = True, False
                seen_experiments |= "experiments" in chapter_roles and not in_appendix
                if seen_intro and not seen_experiments and not in_appendix and \
                        not chapter_roles & {"intro", "related", "experiments", "conclusion", "skip"}:
                    chapter_roles.add("method")
            continue
        if block.kind == "references":
            continue
        roles = set(chapter_roles)
        if block.section != chapter:
            roles |= _roles(block.section)
            if "related" in chapter_roles:
                roles.discard("method")  # "2.1 Policy Gradient Methods" under "2 Background" is prior work
        if block.section == "Abstract":
            roles = {"abstract"}
        elif block.section == "Front matter" and block.page == 1:
            roles = {"front"}
        if block.kind == "caption":
            roles.add("caption")
            if re.match(r"^(?:Table|Tab\.)", block.text):
                roles.add("table")
        if in_appendix:
            roles.add("appendix")
        if not roles - {"caption", "table", "appendix"}:
            roles.add("body")  # under a heading that says nothing (or none the parser found)
        out.append((block, frozenset(roles)))
    return out


# --------------------------------------------------------------------------- sentences


_LETTERS = re.compile(r"[A-Za-z]")


def _looks_like_prose(text: str) -> bool:
    """A whole sentence of words: not a fragment cut at a page break, a table row or a formula."""
    if not 40 <= len(text) <= 600 or len(text.split()) < 6:
        return False
    if not re.match(r"^[A-Z0-9(\"“‘']", text) or not re.search(r"[.!?][\"”’')\]]*$", text):
        return False
    if re.match(r"^[\d.,]+[a-z]?[),]|^\d+[A-Z][a-z]", text):
        return False  # a citation's tail cut off at a block start ("2024d), ..."), a footnote ("1While ...")
    visible = re.sub(r"\s", "", text)
    return len(_LETTERS.findall(visible)) / max(1, len(visible)) >= 0.65


def _candidate_sentences(blocks: list[tuple[Block, frozenset]]) -> list[Sentence]:
    out: list[Sentence] = []
    for block, roles in blocks:
        if "skip" in roles:
            continue
        # Bullets run together in one block; each item is its own sentence.
        parts = [p for item in re.split(r"\s*[•●▪]\s*", block.text) for p in split_sentences(item)]
        if "caption" in roles:
            parts = [" ".join(parts[:2])] if parts else []  # a caption's first sentences say what it shows
        for text in parts:
            if _looks_like_prose(text) or ("caption" in roles and len(text) >= 20):
                out.append(Sentence(text, block.page, block.section, roles, len(out)))
    return out


def _verified(sentences: list[Sentence], page_text: Callable[[int], str | None]) -> list[Sentence]:
    """Keep only sentences found verbatim on their page (page_text(n): the stored text of page n), each text once."""
    page_keys: dict[int, str] = {}
    seen: set[str] = set()
    kept: list[Sentence] = []
    for s in sentences:
        if s.page not in page_keys:
            page_keys[s.page] = match_key(page_text(s.page) or "")
        key = match_key(s.text)
        if key and key not in seen and key in page_keys[s.page]:
            seen.add(key)
            kept.append(s)
    return kept
