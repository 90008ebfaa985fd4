"""How well a sentence fits each field of a card, and a display equation its equations.

A field scores a sentence in two steps. First the rules of sentence_rules.py say what the
sentence is not: a caption standing alone, a signpost of the paper's structure, a report of
another paper's work, boilerplate "left for future work", a success claim where a weakness is
wanted. Then its cues (words that say "this is a limitation") and the section it sits in set
its score, each field with its own weights per section role; a sentence no field's section
welcomes scores 0, and a field with no sentence above its floor stays empty (a paper with no
stated limitation gets none). _FIELD_GROUPS lists the fields in the order cards.build_card
fills them; the datasets field is filled last, by cover_benchmarks, so that its quotes name the
paper's main benchmarks between them. rank_equation scores a display equation as a key equation (objective, loss, update rule).
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass

from surveyor.evidence.datasets import _names, result_numbers
from surveyor.evidence.sections import Sentence, _bare_heading
from surveyor.evidence.sentence_rules import (
    cites_other_work,
    compares,
    falls_behind,
    future_cue,
    is_boilerplate_future,
    is_caption,
    is_own_work,
    is_signpost,
    is_success_claim,
    is_thin,
    result_verb,
    success,
    weakness,
)
from surveyor.index.pdfparse import Block
from surveyor.textnorm import match_key


@dataclass
class PaperContext:
    """What every field's scorer may know about the paper beyond the sentence itself."""
    names: Counter                 # benchmark names and in how many sentences each occurs
    own: tuple[str, ...] = ()      # the names the paper gives its own method or model

    @functools.cached_property
    def own_pattern(self) -> re.Pattern | None:
        return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, self.own)) + ")") if self.own else None


_NAMING = re.compile(r"\b(?:we (?:call|name|term|dub|coin)|(?:called|named|dubbed|termed|coined))\s+(?:it |this |"
                     r"them |our (?:\w+ ){0,2}|the (?:\w+ ){0,2})?[“\"']?(?:(?P<name>[A-Z][\w\-]*[A-Z0-9][\w\-]*)|"
                     r"[\w\- ]{3,60}?\((?P<acronym>[A-Z][\w\-]*[A-Z][\w\-]*)\))")


def own_names(sentences: list[Sentence], title: str) -> tuple[str, ...]:
    """Names the paper gives what it built: the title's lead ("DeepSeek-R1: ...") and "we call it X"."""
    found: list[str] = []
    lead = title.split(":", 1)[0].split(",", 1)[0] if ":" in title else ""  # "DistilBERT, a distilled version of BERT"
    for token in re.findall(r"[A-Za-z][\w\-]*", lead):
        if sum(c.isupper() for c in token) >= 2 or re.search(r"\d", token):
            found.append(token)
    for s in sentences:
        if s.roles & {"abstract", "intro", "front"} and not cites_other_work(s.text):
            found += [m["name"] or m["acronym"] for m in _NAMING.finditer(s.text)]
    return tuple(dict.fromkeys(n for n in found if len(n) >= 3))


def _mentions_own(text: str, ctx: PaperContext) -> bool:
    return is_own_work(text) or bool(ctx.own_pattern and ctx.own_pattern.search(text))


def _cue_score(text: str, cues: list[tuple[str, float]]) -> float:
    return sum(weight for pattern, weight in cues if re.search(pattern, text, re.I))


def _role_bonus(roles: frozenset, bonuses: dict[str, float]) -> float | None:
    """The best bonus among the sentence's roles, less the field's appendix penalty; None when no role is welcome."""
    values = [bonuses[r] for r in roles if r in bonuses and r != "appendix"]
    if not values:
        return None
    return max(values) + (bonuses.get("appendix", -1.0) if "appendix" in roles else 0.0)


def _scored(s: Sentence, cues, bonuses, min_cue: float = 1.0) -> float:
    bonus = _role_bonus(s.roles, bonuses)
    cue = _cue_score(s.text, cues)
    if bonus is None or cue < min_cue:
        return 0.0
    return cue + bonus


def _stated(s: Sentence) -> bool:
    """A sentence that can state a problem, a claim or a plan: not a caption, a table or a signpost."""
    return not (is_caption(s.text, s.roles) or "table" in s.roles or is_signpost(s.text))


_CHALLENGE_CUES = [
    (r"\bhowever\b|\bbut\b|\byet\b|\bdespite\b|\balthough\b|\bwhile\b", 1.0),
    (r"challeng|limit|suffer|lack|difficult|problem|costly|expensive|prohibitive|bottleneck|struggle|"
     r"fail|unstable|inefficien|hinder|drawback|\bissues?\b|\bgap\b|remains?\b|unclear|not (?:inherently|well)|"
     r"restrict|poor|cannot|hard to|require[sd]? (?:large|massive|substantial|huge)", 1.5),
    (r"prior work|previous (?:work|method|approach)|existing (?:method|approach|work|model)|current (?:method|approach)"
     r"|most (?:prior|existing|previous)|standard", 1.0),
]
_PROBLEM = re.compile(  # what makes a sentence state a problem ("problems" alone may be math problems)
    r"challeng|\blimit|suffer|\black|difficult|costly|expensive|prohibitive|bottleneck|struggle|\bfail|unstable|"
    r"inefficien|hinder|drawback|\bgap\b|unclear|restrict|\bpoor|cannot|hard to|unexplored|remains? (?:a |an )?"
    r"(?:open|unsolved|elusive|difficult)", re.I)
_INNOVATION_CUES = [
    (r"\bwe (?:propose|introduce|present|develop|design|devise|release|open-source)", 2.5),
    (r"our (?:main )?contributions?|contributions? (?:are|is|of this)|to summari[sz]e", 2.5),
    (r"\bwe (?:show|demonstrate|find|call)\b|in this (?:paper|work)|\bnovel\b|\bnew\b|first to", 1.0),
    (r"\bwe (?:leverage|use|train|study|explore)\b", 0.5),
]
_STRUCTURE = (r"architecture|\blayers?\b|encoder|decoder|transformer|attention|module|backbone|(?<!-)\bheads?\b(?!-)|"
              r"embedding|network|\bblocks?\b|projector|adapter|mixture-of-experts|\bMoE\b|tokeni[sz]er|connector|"
              r"\bbranch|convolution|\bMLP\b|\bneurons?\b|parameters? (?:sharing|shared)")
_ARCHITECTURE_CUES = [
    (_STRUCTURE, 1.5),
    (r"consists? of|composed of|comprises?|built on|based on|we (?:use|adopt|initiali[sz]e|replace|add|remove)|"
     r"takes? as input|outputs?\b|parameteri[sz]ed|\bpolicy\b|value function|reward model", 1.0),
    (r"overview|pipeline|framework", 0.5),
]
_DATA_WORK = re.compile(r"\bfilter|\bdata ?sets?\b|\bsamples\b|\bannotat|\bcurat|\bcollect|\bquestions\b|"
                        r"\bproblems\b|\bprompts\b|\bpairs\b", re.I)
_CITATIONS = re.compile(r"\[\d+(?:[,–-]\s*\d+)*\]|\([A-Z][^()]{0,60}?\d{4}[a-z]?\)|et al\.")


def _unquoted(text: str) -> str:
    return re.sub(r"“[^”]{0,200}”|\"[^\"]{0,200}\"", " ", text)
# Training: what the model learned from (data and its size) first, then how (recipe), then settings and compute.
_DATA_SIZE = re.compile(
    r"\b\d[\d,]*(?:\.\d+)?\s?[KkMB]?\b(?: [\w\-]+){0,2} (?:samples|examples|prompts|pairs|tokens|solutions|"
    r"questions|images|trajectories|problems|instructions|comparisons|labels|words|videos|utterances|hours of "
    r"(?:audio|speech|video)|demonstrations|episodes|dialogues|conversations|documents|sentences)\b", re.I)
_TRAINING_DATA = re.compile(
    r"training (?:data|set|corpus|prompts|examples|samples|mixture)|\bcurated (?:data|dataset)|\b(?:data ?set|data|"
    r"corpus) (?:contains|consists|comprises|has)|\bcorpus\b|\b(?:train|trained|fine-?tun\w*|pre-?train\w*) "
    r"(?:\w+ ){0,3}on (?:the )?[A-Z]", re.I)
_RECIPE = re.compile(
    r"\bwe (?:train|fine-?tune|finetune|pre-?train|distill|optimi[sz]e)|\btrained (?:on|for|with|using)|"
    r"\bfine-?tun(?:e|ed) (?:[\w\-]+ ){0,3}(?:on|for|with|using)|\bstages?\b|cold-?start|\bepochs?\b|"
    r"\bteacher\b|\bsupervised fine-?tuning\b", re.I)
_HYPER = r"learning rate|batch size|optimi[sz]er|\bAdamW?\b|warm-?up|weight decay|dropout|hyper-?parameters?"
_SETTINGS = re.compile(_HYPER + r"|schedul|(?:training|gradient|optimi[sz]ation) steps", re.I)
_HYPERPARAMETERS = re.compile(_HYPER, re.I)
_COMPUTE = re.compile(r"\bGPUs?\b|\bTPUs?\b|\b[VAH]100s?\b|\bnodes?\b|\b\d+ (?:hours|days)\b|compute budget", re.I)
_DATASET_CUES = [
    (r"data ?sets?|benchmarks?|test[- ]sets?|test split|validation set|\bcorp(?:us|ora)\b|suite|leaderboard", 1.5),
    (r"\bevaluat|we (?:use|test|report|consider)|\btasks?\b|\bsplits?\b", 0.5),
]
_METRIC_WORDS = re.compile(
    r"accuracy|\bscores?\b|top-?\d|\bBLEU\b|\bWER\b|\bCER\b|\bF1\b|pass@\d+|\bpoints?\b|\bEM\b|ROUGE|perplexity|"
    r"win[- ]?rates?|\bwins\b|\bElo\b|\bFID\b|\bmAP\b|\bAUC\b|\bAP\b|%|\bof the time\b|performance|faster|smaller|"
    r"speed-?up|efficien|fewer|parameters", re.I)
_POINTER = re.compile(r"\b(?:in|see|from|shown in|as shown in) (?:Tab\.|Table|Fig\.|Figure)\s*\d", re.I)
_MULTIPLE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:x|×|⇥)(?![\w])|\b(?:twice|three times|half)\b|\b\d+(?:\.\d+)?\s?times\b",
                       re.I)

# Where each field looks, and how much a sentence gains from being there. "body" is text under
# a heading that names no role: allowed everywhere, ranked below text in the right section.
_BONUS_CHALLENGES = {"abstract": 1.5, "intro": 1.0, "front": 0.5, "body": -0.5}
_BONUS_INNOVATIONS = {"abstract": 1.5, "intro": 1.0, "front": 0.5, "conclusion": 0.0, "body": -0.5}
_BONUS_ARCHITECTURE = {"method": 1.0, "body": -0.5}
_BONUS_TRAINING = {"training": 1.0, "method": 0.5, "experiments": 0.0, "abstract": 0.0, "intro": 0.0,
                   "appendix": -1.5, "body": -0.5}
_BONUS_DATASETS = {"experiments": 1.0, "table": 1.0, "training": 0.5, "abstract": 0.5, "intro": 0.0,
                   "method": 0.0, "caption": 0.5, "front": 0.0, "body": 0.0}
_BONUS_METRICS = {"abstract": 2.5, "front": 1.0, "intro": 1.5, "conclusion": 1.5, "experiments": 0.0,
                  "method": -0.5, "training": -0.5, "body": -0.5, "appendix": -2.0}
_BONUS_LIMITATIONS = {"limits": 3.0, "conclusion": 1.0, "abstract": 1.0, "future": 0.5, "intro": 0.5,
                      "experiments": 0.0, "method": -0.5, "training": -0.5, "body": -0.5, "appendix": -1.5}
_BONUS_FUTURE = {"future": 3.0, "limits": 1.5, "conclusion": 1.5, "abstract": 0.0, "intro": 0.0,
                 "experiments": -0.5, "method": -0.5, "training": -0.5, "body": -0.5, "appendix": -1.0}
MIN_LIMITATION = 2.5   # a weakness cue of the paper's own work in a section that may state one
MIN_FUTURE = 2.5       # a plan in a section that may state one


_ROADMAP = re.compile(r"\b(?:in|see) (?:Section|Sec\.|Appendix|§)\s*[A-Z]?\d|\(\d(?:\.\d)?\)", re.I)


def _not_roadmap(score: float, s: Sentence) -> float:
    """"We introduce our strategy in Section 4" announces the paper's plan, not a finding."""
    return score - 1.5 if score and _ROADMAP.search(s.text) else score


_ANSWER = re.compile(r"\bwe (?:propose|introduce|present|develop|design|devise|release|open-source|provide|offer|"
                     r"use|train|curate|construct|build|collect|apply|adopt|employ|create|fine-?tune|evaluate)\b|"
                     r"\bour (?:method|approach|model|framework|system|technique|algorithm)s?\b", re.I)


def _challenges(s: Sentence, ctx: PaperContext) -> float:
    """The problem the paper takes on: a weakness of prior work or of the field, never a claim of success."""
    text = s.text
    if not _stated(s) or _ANSWER.search(text) or text.rstrip().endswith("?") or future_cue(text):
        return 0.0  # "we propose ..." / "our method ..." states the answer, not the problem; a question asks it
    problem = weakness(text) > 0 or _PROBLEM.search(text) is not None
    if not problem or is_success_claim(text) or _mentions_own(text, ctx) and success(text):
        return 0.0  # "REER provides a scalable, cost-effective third path" is no problem
    if re.search(r"\bour\b", text, re.I) or ctx.own_pattern and ctx.own_pattern.search(text):
        return 0.0  # a weakness of the paper's own model is a limitation, not the problem it takes on
    return _not_roadmap(_scored(s, _CHALLENGE_CUES, _BONUS_CHALLENGES, min_cue=1.5), s)


def _innovations(s: Sentence, ctx: PaperContext) -> float:
    if not _stated(s) or "related" in s.roles or cites_other_work(s.text) or not _mentions_own(s.text, ctx):
        return 0.0  # the paper's own method, never another paper's
    score = _not_roadmap(_scored(s, _INNOVATION_CUES, _BONUS_INNOVATIONS, min_cue=1.0), s)
    return score - 2.0 if score and _RELEASE.search(s.text) else score  # "we release code at URL" is no method


_RELEASE = re.compile(r"\b(?:release|open-?source|make (?:\w+ ){0,3}(?:public|available))\w*\b.{0,80}\b(?:code|"
                      r"models?|weights|checkpoints|data(?:set)?|URL|https?://|github)", re.I)
_LABEL = re.compile(r"^(?:Figure|Fig\.|Table|Tab\.)\s*[A-Z]?\d+[.:|]?\s*", re.I)


def _architecture(s: Sentence, ctx: PaperContext) -> float:
    """How the paper's model is built: its parts named in a method section, or a caption that describes them."""
    text = s.text
    if "table" in s.roles or is_signpost(text) or "related" in s.roles or cites_other_work(text):
        return 0.0
    if _HYPERPARAMETERS.search(text) or weakness(text) >= 1 or len(_CITATIONS.findall(text)) >= 2:
        return 0.0  # settings, problems and surveys of other models are told elsewhere
    structure = len(re.findall(_STRUCTURE, _unquoted(text), re.I))
    if not structure or structure < 2 and not _mentions_own(text, ctx):
        return 0.0  # filtering data, sampling actions: no part of (our) model is named
    if is_caption(s.text, s.roles):
        # A caption only when it says something beyond its label ("Figure 4: Hybrid Deployment Framework" does not).
        said = _LABEL.sub("", s.text)
        if len(said.split()) < 12 or not re.search(r"\b(?:is|are|consists?|comprises?|takes?|uses?|contains?|"
                                                    r"includes?|maps?|feeds?|produces?|shares?)\b", said):
            return 0.0
        return 0.5 + _cue_score(s.text, _ARCHITECTURE_CUES)
    if _DATA_WORK.search(s.text) and structure < 2:
        return 0.0
    return _scored(s, _ARCHITECTURE_CUES, _BONUS_ARCHITECTURE, min_cue=2.5)


def _training(s: Sentence, ctx: PaperContext) -> float:
    """Data, size and recipe of the paper's own training ("fine-tune X for two epochs on 800k samples")."""
    text = s.text
    if not _stated(s) or "related" in s.roles or cites_other_work(text):
        return 0.0
    bonus = _role_bonus(s.roles, _BONUS_TRAINING)
    if bonus is None:
        return 0.0
    sizes = len(_DATA_SIZE.findall(text))
    cue = (2.0 + 0.5 * min(sizes - 1, 2) if sizes else 0.0) + (1.0 if _TRAINING_DATA.search(text) else 0.0)
    cue += (1.5 if _RECIPE.search(text) else 0.0) + (1.0 if _SETTINGS.search(text) else 0.0)
    cue += 1.0 if _COMPUTE.search(text) else 0.0
    # Under a "Training" / "Implementation details" heading one cue is enough.
    if cue < (1.5 if "training" in s.roles else 2.5):
        return 0.0
    score = cue + bonus + (0.5 if _mentions_own(text, ctx) else 0.0)
    # A result ("we recover half of the gap") or a problem ("slowing down training") is told elsewhere.
    score -= 1.5 if result_verb(text) and (compares(text) or result_numbers(text) or _MULTIPLE.search(text)) else 0.0
    return score - (1.0 if weakness(text) >= 1 or _PROBLEM.search(text) else 0.0)


def _benchmark_weight(s: Sentence, names: Counter) -> float:
    """Names the paper keeps coming back to are its main benchmarks: weigh them by how often they occur."""
    return sum(math.log2(1 + names[n]) for n in _names(s.text) if n in names)


def _datasets(s: Sentence, ctx: PaperContext) -> float:
    weight = _benchmark_weight(s, ctx.names)
    bonus = _role_bonus(s.roles, _BONUS_DATASETS)
    if not weight or bonus is None or "related" in s.roles:
        return 0.0
    return weight + bonus + _cue_score(s.text, _DATASET_CUES)


MAIN_BENCHMARKS = 8  # the names a paper uses most; its dataset quotes should name them all


def cover_benchmarks(sentences: list[Sentence], ctx: PaperContext, limit: int,
                     taken: frozenset = frozenset()) -> list[tuple[float, Sentence]]:
    """Dataset quotes that between them name the paper's main benchmarks, best first.

    Each next quote is the one naming the most (by weight) main benchmarks not yet named, so
    five quotes cover the benchmarks instead of repeating the best-known one; a quote that adds
    no new name is not taken. Sentences whose match key is in `taken` are skipped.
    """
    main = {n: math.log2(1 + c) for n, c in ctx.names.most_common(MAIN_BENCHMARKS)}
    pool = []
    for s in sentences:
        names = set(_names(s.text)) & main.keys()
        base = _datasets(s, ctx) if names else 0.0
        if base > 0 and match_key(s.text) not in taken:
            pool.append((s, base, names))
    covered: set[str] = set()
    out: list[tuple[float, Sentence]] = []
    while pool and len(out) < limit:
        gain, s, names = max(((sum(main[n] for n in names - covered) + 0.1 * base, s, names)
                              for s, base, names in pool if names - covered),
                             key=lambda item: (item[0], -item[1].order), default=(0.0, None, set()))
        if s is None:
            break
        out.append((gain, s))
        covered |= names
        pool = [item for item in pool if item[0] is not s]
    return out


def _metrics(s: Sentence, ctx: PaperContext) -> float:
    """A headline result: how the paper's method compares or what it reached, with a number or a benchmark."""
    text = s.text
    if not _stated(s) or "related" in s.roles or cites_other_work(text) or not result_verb(text):
        return 0.0
    if _HYPERPARAMETERS.search(text):
        return 0.0  # a learning rate is a setting, not a result
    numbers = result_numbers(text) + _MULTIPLE.findall(text)
    weight = _benchmark_weight(s, ctx.names)
    own = _mentions_own(text, ctx)
    if not own and re.search(r"\b(?:they|their)\b", text, re.I):
        return 0.0  # "their reported error rate": another paper's result
    measured = bool(numbers and _METRIC_WORDS.search(text))
    if not (measured or weight or own and compares(text)):
        return 0.0  # "which accounts for 80% of the full data" measures nothing
    bonus = _role_bonus(s.roles, _BONUS_METRICS)
    if bonus is None:
        return 0.0
    score = 1.0 + bonus + 0.75 * min(weight, 2.0) + (1.0 + 0.25 * min(len(numbers), 4) if measured else 0.0)
    score += (1.0 if own else 0.0) + (0.5 if compares(text) else 0.0) - 0.5 * min(weakness(text), 2)
    return score - 0.5 if _POINTER.search(text) else score


def _limitations(s: Sentence, ctx: PaperContext) -> float:
    """A weakness of the paper's own approach; never a success claim, another paper's problem or a signpost."""
    text = s.text
    if not _stated(s) or "related" in s.roles or cites_other_work(text) or is_success_claim(text) or is_thin(text):
        return 0.0
    cues = weakness(text)
    own = _mentions_own(text, ctx)
    if not cues or not (own or s.roles & {"limits", "experiments"}):
        return 0.0  # outside a limitations section or the paper's own experiments it must say "we" / "our"
    bonus = _role_bonus(s.roles, _BONUS_LIMITATIONS)
    if bonus is None:
        return 0.0
    score = min(cues, 3) + bonus + (0.5 if own else 0.0) - 0.5 * success(text)
    score += 1.0 if falls_behind(text, ctx.own) else 0.0  # "Our method DeiT is slightly below EfficientNet"
    score -= 1.0 if _ROADMAP.search(text) or _POINTER.search(text) else 0.0  # "In Appendix D.1, we show ..."
    return score if score >= MIN_LIMITATION else 0.0


def _future_work(s: Sentence, ctx: PaperContext) -> float:
    """A concrete plan or open direction; never "we leave these experiments for the future" alone."""
    text = s.text
    if not _stated(s) or "related" in s.roles or cites_other_work(text) or is_boilerplate_future(text):
        return 0.0
    if not future_cue(text):
        return 0.0
    bonus = _role_bonus(s.roles, _BONUS_FUTURE)
    if bonus is None:
        return 0.0
    score = 2.0 + bonus + (1.0 if re.search(r"\bfuture (?:work|research|directions?|stud)", text, re.I) else 0.0)
    return score if score >= MIN_FUTURE else 0.0


_FIELD_GROUPS = [
    [("innovations", _innovations), ("challenges", _challenges), ("architecture", _architecture),
     ("training", _training), ("future_work", _future_work), ("limitations", _limitations)],
    [("metrics", _metrics)],  # then datasets: cover_benchmarks
]


# --------------------------------------------------------------------------- key equations


_EQUATION_WORDS = ["loss", "objective", "reward", "gradient", "maximi", "minimi", "KL", "divergence",
                   "distillation", "update", "advantage", "likelihood", "optimi", "policy", "cross-entropy",
                   "surrogate", "penalty", "regulari", "expectation", "target"]
_PROPOSED = re.compile(r"\bwe (?:propose|introduce|define|use|optimi[sz]e|minimi[sz]e|maximi[sz]e)|\bour (?:objective|"
                       r"loss|method|approach)|(?:main|final|overall|total|training) (?:objective|loss)", re.I)


def _words_in(text: str) -> list[str]:
    found = []
    for word in _EQUATION_WORDS:
        # "KL" only as the capitalised abbreviation; the others as word starts in any case.
        pattern, flags = (r"\bKL\b", 0) if word == "KL" else (rf"\b{word}", re.I)
        if re.search(pattern, text, flags):
            found.append(word)
    return found


def _section_above(blocks: list[tuple[Block, frozenset]], page: int, bbox) -> tuple[str, frozenset]:
    """Heading and roles of the text block just above the equation in its column."""
    found: tuple[str, frozenset] = ("", frozenset())
    best_y = -1.0
    for block, roles in blocks:
        overlaps = block.bbox[0] < bbox[2] and block.bbox[2] > bbox[0]
        if block.page == page and overlaps and best_y <= block.bbox[1] <= bbox[1]:
            best_y, found = block.bbox[1], (block.section, roles)
    return found


def rank_equation(eq, section: str, roles: frozenset) -> tuple[float, list[str]]:
    """Score of a display equation as a key equation, and the words that earned it.

    Words around it (loss, objective, reward, ...) count most; the words of its section
    heading, being in a method section and being numbered help; background and appendix hurt.
    """
    context = " ".join(str(v) for v in (eq.context or {}).values())
    why = _words_in(context)
    score = float(len(why))
    heading_words = [w for w in _words_in(_bare_heading(section)) if w not in why]
    score += 0.5 * len(heading_words)
    why += [f"section: {w}" for w in heading_words]
    if _PROPOSED.search(context):
        why.append("proposed")
        score += 2.0
    if "method" in roles:
        why.append("method section")
        score += 1.5
    score -= 1.0 if "related" in roles or "appendix" in roles else 0.0
    score += 0.5 if eq.number is not None else -0.5  # authors number the equations they refer back to
    if len(re.findall(r"\w", eq.text)) < 4:
        score -= 2.0  # a lone symbol is not an objective
    return score, why
