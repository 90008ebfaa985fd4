"""Text normalisation shared by chunking, quote checking and retrieval.

PDF text differs from what a reader types in ligatures (ﬀ), hyphenation at line
ends and whitespace; every comparison of a quote with a page goes through
`match_key` on both sides so those differences never decide a verdict.
"""
from __future__ import annotations

import re
import unicodedata

_HYPHEN_BREAK = re.compile(r"(\w)-\s+(?=[a-z])")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+|\d+(?:\.\d+)?%?")

STOPWORDS = frozenset(
    "a an the and or of to in on for with by from at as is are was were be been being this that these those "
    "it its we our they their which who whom what when where how than then there here such can could may might "
    "will would shall should do does did has have had not no nor but if so also into over under between using "
    "used use based both each more most other some any all one two via per while thus i e g et al".split()
)


def collapse(text: str) -> str:
    """NFKC (ligatures to letters) and single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def dehyphenate(text: str) -> str:
    """Join words split across lines: 'representa- tion' -> 'representation'."""
    return _HYPHEN_BREAK.sub(r"\1", text)


def match_key(text: str) -> str:
    """The form in which a quote is looked up on a page: case, spacing, ligatures and hyphen breaks ignored."""
    return dehyphenate(collapse(text)).lower()


def content_words(text: str) -> list[str]:
    """Lower-cased words and numbers that carry meaning (stopwords dropped)."""
    return [w.lower() for w in _WORD.findall(collapse(text)) if w.lower() not in STOPWORDS]


def numbers_in(text: str) -> set[str]:
    """Numbers as written (12.5, 74, 20%): a claim's numbers must appear in its evidence."""
    return set(re.findall(r"(?<![\w.])\d+(?:[.,]\d+)*%?", collapse(text)))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|Fig|Figs|Eq|Eqs|Sec|Tab|vs|cf|resp|approx|Ref|No)\.$")


def split_sentences(text: str) -> list[str]:
    """Sentence split that keeps 'e.g.', 'et al.', 'Fig.' inside their sentence."""
    parts = _SENTENCE_END.split(collapse(text))
    sentences: list[str] = []
    for part in parts:
        if sentences and _ABBREV.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {part}"
        else:
            sentences.append(part)
    return [s for s in sentences if s]


def s_stem(word: str) -> str:
    """Harman's S-stemmer: plural endings only (tokens→token, policies→policy), never touching names or numbers.

    Deliberately weak: a full stemmer conflates too much on technical text, and the
    dense retriever already covers morphology.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def acronym(title: str | None) -> str:
    """Initials of a title's capitalised words: 'Proximal Policy Optimization Algorithms' → 'PPOA' (and prefixes)."""
    if not title:
        return ""
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z][\w\-]*", title) if w[0].isupper())
    return " ".join(initials[:n] for n in range(2, len(initials) + 1))
