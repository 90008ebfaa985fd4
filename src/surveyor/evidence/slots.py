"""How well a sentence fits each field of a card, and a display equation its equations.

Each field scores a sentence by its cues (words that say "this is a limitation") plus a
bonus for the section it sits in; a sentence no field's section welcomes scores 0.
_FIELD_GROUPS lists the fields in the order cards.build_card fills them. rank_equation
scores a display equation as a key equation (objective, loss, update rule).
"""
from __future__ import annotations

import math
import re
from collections import Counter

from surveyor.evidence.datasets import _names, result_numbers
from surveyor.evidence.sections import Sentence, _bare_heading
from surveyor.index.pdfparse import Block


def _cue_score(text: str, cues: list[tuple[str, float]]) -> float:
    return sum(weight for pattern, weight in cues if re.search(pattern, text, re.I))


def _role_bonus(roles: frozenset, bonuses: dict[str, float]) -> float | None:
    """The best bonus among the sentence's roles; None when no role is welcome."""
    values = [bonuses[r] for r in roles if r in bonuses]
    if not values:
        return None
    score = max(values)
    return score - 1.0 if "appendix" in roles and "appendix" not in bonuses else score


def _scored(s: Sentence, cues, bonuses, min_cue: float = 1.0, prose_only: bool = False) -> float:
    if prose_only and "caption" in s.roles:
        return 0.0  # a caption describes a figure; problems, claims and plans are stated in prose
    bonus = _role_bonus(s.roles, bonuses)
    cue = _cue_score(s.text, cues)
    if bonus is None or cue < min_cue:
        return 0.0
    return cue + bonus


_CHALLENGE_CUES = [
    (r"\bhowever\b|\bbut\b|\byet\b|\bdespite\b|\balthough\b|\bwhile\b", 1.0),
    (r"challeng|limit|suffer|lack|difficult|problem|costly|expensive|prohibitive|bottleneck|struggle|"
     r"fail|unstable|inefficien|hinder|drawback|\bissues?\b|\bgap\b|remains?\b|unclear|not (?:inherently|well)|"
     r"restrict|poor|cannot|hard to|require[sd]? (?:large|massive|substantial|huge)", 1.5),
    (r"prior work|previous (?:work|method|approach)|existing (?:method|approach|work|model)|current (?:method|approach)"
     r"|most (?:prior|existing|previous)|standard", 1.0),
]
_INNOVATION_CUES = [
    (r"\bwe (?:propose|introduce|present|develop|design|devise|release|open-source)", 2.5),
    (r"our (?:main )?contributions?|contributions? (?:are|is|of this)|to summari[sz]e", 2.5),
    (r"\bwe (?:show|demonstrate|find|call)\b|in this (?:paper|work)|\bnovel\b|\bnew\b|first to", 1.0),
    (r"\bwe (?:leverage|use|train|study|explore)\b", 0.5),
]
_ARCHITECTURE_CUES = [
    (r"architecture|\blayers?\b|encoder|decoder|transformer|attention|module|backbone|\bheads?\b|embedding|"
     r"\btokens?\b|network|\bblocks?\b|projector|adapter|mixture-of-experts|\bMoE\b|vocabulary", 1.0),
    (r"consists? of|composed of|comprises?|built on|based on|we (?:use|adopt|initiali[sz]e|replace|add|remove)|"
     r"takes? as input|outputs?\b|parameteri[sz]ed|\bpolicy\b|value function|reward model", 1.0),
    (r"\bFigure \d+|\bFig\. \d+|overview|pipeline|framework", 0.5),
]
_TRAINING_CUES = [
    (r"learning rate|batch size|\bepochs?\b|optimi[sz]er|\bAdamW?\b|warm-?up|weight decay|dropout|"
     r"schedul|cosine (?:decay|annealing|learning)|iterations|(?:training|gradient|optimi[sz]ation) steps|"
     r"\d+[KkM]? steps|hyper-?parameters?", 2.0),
    (r"\btrain(?:ed|ing)? (?:on|for|with|using)|we train|fine-?tun|pre-?train|\bstages?\b|cold-?start|"
     r"training (?:data|set|corpus|examples|samples)", 1.0),
    (r"\bGPUs?\b|\bTPUs?\b|\b[VAH]100s?\b|\bnodes\b|\bhours\b|\bdays\b|compute budget", 1.0),
    (r"distill", 0.5),
    (r"\b\d+(?:\.\d+)?(?:e-?\d+|[KMB]\b|k\b)|\b\d{2,}\b", 0.5),
]
_DATASET_CUES = [
    (r"data ?sets?|benchmarks?|test[- ]sets?|test split|validation set|\bcorp(?:us|ora)\b|suite|leaderboard", 1.5),
    (r"\bevaluat|we (?:use|test|report|consider)|\btasks?\b|\bsplits?\b", 0.5),
]
_METRIC_CUES = [
    (r"achiev|outperform|surpass|improv|state-of-the-art|\bSOTA\b|exceed|reach|obtain|match(?:es|ing)?|"
     r"compar|better|higher|lower|gains?\b|drop|reduc|retain", 1.0),
    (r"accuracy|\bscores?\b|top-?\d|\bBLEU\b|\bWER\b|\bCER\b|\bF1\b|pass@\d+|\bpoints?\b|\bEM\b|ROUGE|perplexity|"
     r"win[- ]rate|\bElo\b|\bFID\b|\bmAP\b|\bAUC\b|%", 1.5),
]
_LIMITATION_CUES = [
    (r"limitation|\blimited\b|\blimits?\b|drawback|weakness|shortcoming|\bfails?\b|failure|struggle|"
     r"does not|do not|cannot|not yet|unclear|sensitive to|\bbias|\blacks?\b|costly|expensive|"
     r"\bonly\b|restricted|still (?:make|has|have|suffer|struggle|lag)|remains? (?:a |an )?(?:challenge|"
     r"open|limited|difficult)|unsuccessful|did not", 1.5),
    (r"\bhowever\b|\balthough\b|\bwhile\b", 0.5),
]
_FUTURE_CUES = [
    (r"future|we (?:plan|hope|intend|aim) to|next step|open (?:question|problem)|further (?:work|research|stud"
     r"|investigat|explor|improv)|promising (?:direction|avenue)|interesting direction|\bwe will\b|"
     r"could be extended|leave .{0,40} for|remains? to be|worth (?:exploring|investigating)", 2.0),
    (r"\bexplore\b|\binvestigate\b|\bextend\b|direction", 0.5),
]

# Where each field looks, and how much a sentence gains from being there. "body" is text under
# a heading that names no role: allowed everywhere, ranked below text in the right section.
_BONUS_CHALLENGES = {"abstract": 1.5, "intro": 1.0, "front": 0.5, "body": -0.5}
_BONUS_INNOVATIONS = {"abstract": 1.5, "intro": 1.0, "front": 0.5, "conclusion": 0.0, "body": -0.5}
_BONUS_ARCHITECTURE = {"method": 1.0, "body": -0.5}
_BONUS_TRAINING = {"training": 1.0, "method": 0.0, "experiments": 0.0, "appendix": -0.5, "body": -0.5}
_BONUS_DATASETS = {"experiments": 1.0, "table": 1.0, "training": 0.5, "abstract": 0.5, "intro": 0.0,
                   "method": 0.0, "caption": 0.5, "front": 0.0, "body": 0.0}
_BONUS_METRICS = {"experiments": 1.0, "table": 1.0, "abstract": 1.0, "intro": 0.5, "conclusion": 0.5,
                  "caption": 0.5, "front": 0.5, "body": 0.0}
_BONUS_LIMITATIONS = {"conclusion": 1.0, "body": -0.5}
_BONUS_FUTURE = {"conclusion": 1.0, "body": -0.5}


_ROADMAP = re.compile(r"\b(?:in|see) (?:Section|Sec\.|Appendix|§)\s*\d|\(\d(?:\.\d)?\)", re.I)


def _not_roadmap(score: float, s: Sentence) -> float:
    """"We introduce our strategy in Section 4" announces the paper's plan, not a finding."""
    return score - 1.5 if score and _ROADMAP.search(s.text) else score


def _challenges(s: Sentence, names) -> float:
    if re.search(_INNOVATION_CUES[0][0], s.text, re.I):
        return 0.0  # "we propose ..." states the answer, not the problem
    return _not_roadmap(_scored(s, _CHALLENGE_CUES, _BONUS_CHALLENGES, min_cue=1.5, prose_only=True), s)


def _innovations(s: Sentence, names) -> float:
    return _not_roadmap(_scored(s, _INNOVATION_CUES, _BONUS_INNOVATIONS, min_cue=1.0, prose_only=True), s)


def _architecture(s: Sentence, names) -> float:
    if "caption" in s.roles and re.search(r"architecture|overview|pipeline|framework|illustration", s.text, re.I):
        return 3.0 + _cue_score(s.text, _ARCHITECTURE_CUES)  # the architecture figure's caption
    return _scored(s, _ARCHITECTURE_CUES, _BONUS_ARCHITECTURE, min_cue=1.5)


def _training(s: Sentence, names) -> float:
    # Under a "Training" / "Implementation details" heading one cue is enough.
    return _scored(s, _TRAINING_CUES, _BONUS_TRAINING, min_cue=1.0 if "training" in s.roles else 2.0)


def _benchmark_weight(s: Sentence, names: Counter) -> float:
    """Names the paper keeps coming back to are its main benchmarks: weigh them by how often they occur."""
    return sum(math.log2(1 + names[n]) for n in _names(s.text) if n in names)


def _datasets(s: Sentence, names: Counter) -> float:
    weight = _benchmark_weight(s, names)
    bonus = _role_bonus(s.roles, _BONUS_DATASETS)
    if not weight or bonus is None:
        return 0.0
    return weight + bonus + _cue_score(s.text, _DATASET_CUES)


def _metrics(s: Sentence, names: Counter) -> float:
    numbers = result_numbers(s.text)
    base = _scored(s, _METRIC_CUES, _BONUS_METRICS, min_cue=1.5) if numbers else 0.0
    weight = _benchmark_weight(s, names)
    if not base:
        return 0.0
    # A number next to a benchmark name is a result on that benchmark.
    return base + (weight + 0.5 * min(len(numbers), 3) if weight else 0.0)


def _limitations(s: Sentence, names) -> float:
    return _scored(s, _LIMITATION_CUES, _BONUS_LIMITATIONS, min_cue=1.5, prose_only=True)


def _future_work(s: Sentence, names) -> float:
    return _scored(s, _FUTURE_CUES, _BONUS_FUTURE, min_cue=2.0, prose_only=True)


_FIELD_GROUPS = [
    [("innovations", _innovations), ("challenges", _challenges), ("architecture", _architecture),
     ("training", _training), ("future_work", _future_work), ("limitations", _limitations)],
    [("metrics", _metrics), ("datasets", _datasets)],
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
