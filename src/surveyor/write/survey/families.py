"""Approach families named by the papers' own words: a noun phrase mined from what each family's papers say
they do (title, abstract, contribution statements), scored c-TF-IDF style and checked to occur verbatim.

    candidates   every run of 1-4 words inside one clause (no punctuation inside) that starts and ends on a
                 content word and ends on a noun-like word (not an adverb, a participle or a verb we know);
                 found without a part-of-speech tagger (nltk is installed but its tagger data is not, and no
                 data is downloaded at run time)
    score        c-TF-IDF: share of the family's papers that use the phrase × log(1 + papers in the topic /
                 topic papers that use it), plus a little for two- and three-word phrases and for title words,
                 minus the corpus background (a phrase in most corpus abstracts names nothing)
    check        the phrase occurs verbatim (case and spacing aside) in the text of at least 2 of the family's
                 papers (1 for a family of one); a phrase that fails is never a name

The chosen name is the phrase as most of the papers write it ("chain-of-thought reasoning"). With a model,
`choose_name` lets it pick among the checked candidates; its answer counts only when it is one of them
exactly (else the top-scored candidate stays). No name is ever a list of terms.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from surveyor.textnorm import STOPWORDS, collapse, match_key
from surveyor.write.survey.select import Entry

MAX_WORDS = 4
CANDIDATES = 5           # checked candidates kept per family (shown to a model, stored in run.json)
# Words that cannot start or end a family name: stopwords, and words any paper uses about itself.
_EDGE = frozenset(
    "paper papers propose proposed proposes present presents introduce introduces introduced show shows shown "
    "work works result results new novel first second third different based existing prior recent previous "
    "significant significantly also well many much several various overall key main general simple simply "
    "effective efficient better best strong stronger good high higher low lower large small smaller larger "
    "approach approaches method methods framework frameworks technique techniques way ways task tasks "
    "performance state art sota experiments experiment et al e.g i.e further including able order still even "
    "given provide provides two three number times fewer less help helps use uses used using enable enables "
    "allow allows make makes made achieve achieves achieved demonstrate demonstrates outperform outperforms "
    "extensive comprehensive specific specifically particular wide range only whole one ones more most other "
    "others same across without within while however thus therefore address addresses aims aim focus "
    "study studies analysis benchmark benchmarks dataset datasets table figure section arxiv preprint version "
    "series family improve improves improved improvement improvements called named termed known like via "
    "like each both all any some such very highly largely mainly existing current currently future "
    "capability capabilities ability abilities potential crucial critical important challenge challenges "
    "problem problems issue issues setting settings effectively called leverages leveraging leverage "
    "respectively finally additionally moreover furthermore notably inspired advanced enhanced basic "
    "open-source remarkable success successes direction directions "
    "research natural impressive promising emerging growing recently widely rapid rapidly great significant "
    "line lines area areas field fields community progress advances advance development developments "
    "attention-grabbing powerful superior robust novel unified various diverse real-world wide-ranging "
    "paradigm paradigms following contribution contributions "
    "long-term zero-shot few-shot one-shot high-quality large-scale small-scale state-of-the-art step-by-step "
    "multi-stage end-to-end out-of-the-box plug-and-play fine-grained general-purpose off-the-shelf billion "
    "million parameters root cause gpt-3 gpt-4 top-1 top-5".split()) | STOPWORDS
_VERBS = frozenset("is are was were be can could may might will would should do does did has have had "
                   "learns learn trains train distills distill performs perform reduces reduce compose composes "
                   "incorporates incorporate features feature collaborate collaborates formulated utilizes utilize "
                   "solve solves employs employ adopts adopt enhances enhance enhancing boosts boost yields yield "
                   "requires require remains remain".split())
# Words that may sit inside a name ("vision transformers", "small language models") but never make one alone.
_GENERIC = frozenset("model models system systems data training language vision llm llms mllm mllms vlm vlms "
                     "large multimodal multi-modal learning network networks neural deep".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'’][A-Za-z0-9]+)*")
_CLAUSE = re.compile(r"[.,;:()\[\]!?\"“”]|\s[-–—]\s|—|–")


def naming_text(entry: Entry) -> str:
    """What a paper says it does: title, abstract and its contribution statements (innovation slot)."""
    quotes = " ".join(q.text for q in entry.card.innovations[:3])
    return f"{entry.record.title}. {entry.record.meta.abstract or ''} {quotes}"


def method_text(entry: Entry) -> str:
    """What a family is grouped by: the title and the paper's method sentences (what it transfers, optimises or
    changes: innovation, architecture and training slots), not its whole card or abstract."""
    card = entry.card
    parts = [entry.record.title] + [q.text for q in card.innovations[:3]]
    parts += [q.text for name in ("architecture", "training") for q in getattr(card, name)[:1]]
    return " ".join(parts)


def _noun_like(word: str) -> bool:
    w = word.lower()
    return not (w in _EDGE or w in _VERBS or w.endswith("ly") or (w.endswith("ed") and len(w) > 4)
                or w[0].isdigit() or len(w) < 3 or w.endswith(("'s", "’s")))


def phrases(text: str) -> dict[str, str]:
    """Candidate noun phrases of a text: {match key: surface form}. Runs of content words within a clause."""
    out: dict[str, str] = {}
    for clause in _CLAUSE.split(collapse(text)):
        words = _WORD.findall(clause)
        for i in range(len(words)):
            if words[i].lower() in _EDGE or words[i].lower() in _VERBS or words[i].lower().endswith("ly"):
                continue
            for n in range(1, MAX_WORDS + 1):
                gram = words[i:i + n]
                if len(gram) < n:
                    break
                if any(w.lower() in STOPWORDS or w.lower() in _VERBS for w in gram):
                    break
                if not _noun_like(gram[-1]) or all(w.lower() in _GENERIC for w in gram):
                    continue
                if n == 1 and not (len(gram[0]) >= 3 and sum(c.isupper() for c in gram[0]) >= 2
                                   or gram[0].count("-") >= 2 and _noun_like(gram[0].split("-")[-1])):
                    continue  # a lone common word names nothing; an acronym or a compound may (CoT, chain-of-thought)
                surface = " ".join(gram)
                out.setdefault(match_key(surface), surface)
    return out


def _occurs(phrase_key: str, text: str) -> bool:
    """The phrase occurs verbatim as whole words (case, spacing and ligatures aside)."""
    return re.search(rf"(?<![\w-]){re.escape(phrase_key)}(?![\w-])", match_key(text)) is not None


def rank_names(families: list[list[Entry]], background: tuple[dict[str, int], int] | None = None,
               exclude: set[str] = frozenset()) -> list[list[tuple[float, str]]]:
    """For each family (a list of entries), its checked candidate names, best first: [(score, surface)].
    `exclude`: match keys that name the whole topic, not a family in it (the topic's title and aliases)."""
    texts = [[naming_text(e) for e in fam] for fam in families]
    methods = [[match_key(method_text(e)) for e in fam] for fam in families]
    found = [[phrases(t) for t in fam] for fam in texts]
    titles = [[match_key(e.record.title) for e in fam] for fam in families]
    n_topic = sum(len(f) for f in families)
    df_topic: Counter = Counter(k for fam in found for paper in fam for k in paper)
    df_corpus, n_corpus = background or ({}, 0)
    out = []
    for f, fam in enumerate(found):
        need = 1 if len(fam) == 1 else 2
        df_in: Counter = Counter(k for paper in fam for k in paper)
        surfaces: dict[str, Counter] = {}
        for paper in fam:
            for k, s in paper.items():
                surfaces.setdefault(k, Counter())[s] += 1
        scored = []
        for key, count in df_in.items():
            if count < need or key in exclude:
                continue
            users = sum(_occurs(key, t) for t in texts[f])  # the check: verbatim in the papers' own text
            if users < need:
                continue
            # What the papers say they do (title, contribution statements) counts as much as their abstracts.
            in_method = sum(_occurs(key, t) for t in methods[f])
            score = ((0.5 * count + 0.5 * in_method) / len(fam)) * math.log(1 + n_topic / df_topic[key])
            words = key.count(" ") + 1
            score += 0.15 * (words in (2, 3)) + 0.1 * sum(key in t for t in titles[f]) / len(fam)
            if n_corpus > 1:  # common in the whole corpus: names nothing
                score -= 0.3 * df_corpus.get(key, 0) / n_corpus
            scored.append((round(score, 6), surfaces[key].most_common(1)[0][0]))
        scored.sort(key=lambda item: (-item[0], -len(item[1]), item[1]))
        out.append(scored[:CANDIDATES * 4])
    return out


def pick_names(ranked: list[list[tuple[float, str]]], fallback: list[str]) -> list[tuple[str, list[str]]]:
    """One distinct name per family (the best candidate no other family took; a phrase inside another family's
    name is not distinct), with its checked candidates. A family without a candidate is named by its first
    paper's short title (`fallback`)."""
    taken: list[str] = []
    out = []
    # Families whose best candidate scores highest choose first: a strong name is not lost to a weak family.
    order = sorted(range(len(ranked)), key=lambda i: -(ranked[i][0][0] if ranked[i] else -1.0))
    chosen: dict[int, tuple[str, list[str]]] = {}
    for i in order:
        free = [s for _, s in ranked[i] if not any(s.lower() in t.lower() or t.lower() in s.lower() for t in taken)]
        name = free[0] if free else fallback[i]
        taken.append(name)
        chosen[i] = (name, free[:CANDIDATES])
    for i in range(len(ranked)):
        out.append(chosen[i])
    return out


def background_df(records) -> tuple[dict[str, int], int]:
    """In how many corpus papers (title + abstract) each candidate phrase occurs."""
    df: Counter = Counter()
    for record in records:
        df.update(list(phrases(f"{record.title}. {record.meta.abstract or ''}")))
    return dict(df), len(records)


def choose_name(llm, topic_title: str, papers: list[str], candidates: list[str], max_tokens: int = 16) -> str | None:
    """The model's pick among `candidates` for a family of `papers` (titles), or None when its answer is not
    exactly one of them (the caller keeps the top-scored candidate)."""
    if llm is None or len(candidates) < 2:
        return None
    listing = "\n".join(f"- {c}" for c in candidates)
    system = ("You name groups of research papers the way a survey author would: by the method family "
              "(what is transferred, optimised or changed). Answer with one phrase copied exactly from the list.")
    user = (f"Topic: {topic_title}\nPapers in the group:\n" + "\n".join(f"- {t}" for t in papers[:8])
            + f"\n\nCandidate names:\n{listing}\n\nThe best name, copied exactly:")
    try:
        raw = llm.chat(system, user, max_tokens=max_tokens, stop=["\n"])
    except Exception:  # noqa: BLE001 - the model is optional here: the scored name stands
        return None
    answer = collapse(raw).strip(" -*\"'`.“”")
    return next((c for c in candidates if c.lower() == answer.lower()), None)
