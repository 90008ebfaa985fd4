"""Evidence cards: what a paper is about, as verbatim quotes with their pages.

A card is extracted deterministically from the parsed PDF, no model involved:

    challenges    the problem / limitation of prior work (abstract, introduction)
    innovations   the contributions ("we propose", "our contributions")
    equations     the key display equations (objective, loss, update rule), with crops
    architecture  method / model sections, and the architecture figure
    training      data, stages, schedule, hyperparameters
    datasets      benchmarks named in experiments and table captions
    metrics       result sentences that carry numbers
    limitations / future_work   for "next steps"

Every quote is a whole sentence taken from one text block, and is kept only if its
`match_key` occurs on the catalog's text of its page: a card never holds a quote
that is not on its page. Cards are cached as JSON per paper, per extractor version
and per PDF hash, so unchanged papers are never extracted twice.

    card = get_card(settings, "1707.06347")
    card.equations[0]["image"]     # file name under assets_dir(settings, "1707.06347")
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from surveyor.errors import InputError
from surveyor.files import atomic_write_json
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.pdfparse import Block, ParsedPdf, parse_pdf
from surveyor.settings import Settings
from surveyor.sources.identity import find_latex_source, safe_key, split_version
from surveyor.textnorm import match_key, split_sentences

# Bump whenever what a card contains changes: old cached cards are then rebuilt.
EXTRACTOR_VERSION = "2"

MAX_QUOTES = 5       # per field, best first
MAX_EQUATIONS = 3
MAX_FIGURES = 4

QUOTE_FIELDS = ("challenges", "innovations", "architecture", "training", "datasets", "metrics",
                "limitations", "future_work")


# --------------------------------------------------------------------------- the card


@dataclass
class Quote:
    text: str
    page: int
    section: str
    score: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EvidenceCard:
    paper_id: str
    title: str
    published: str | None
    challenges: list[Quote] = field(default_factory=list)
    innovations: list[Quote] = field(default_factory=list)
    equations: list[dict] = field(default_factory=list)  # Equation.to_dict() + "why"; "image" relative to assets dir
    architecture: list[Quote] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)  # Figure.to_dict(), architecture figures first
    training: list[Quote] = field(default_factory=list)
    datasets: list[Quote] = field(default_factory=list)
    metrics: list[Quote] = field(default_factory=list)
    limitations: list[Quote] = field(default_factory=list)
    future_work: list[Quote] = field(default_factory=list)
    dataset_names: list[str] = field(default_factory=list)  # each occurs in some quote of the card
    note: str = ""
    assets_dir: Path | None = field(default=None, compare=False)  # where the crops are; not cached

    def quotes(self) -> list[tuple[str, Quote]]:
        """(field, quote) for every quote of the card."""
        return [(name, q) for name in QUOTE_FIELDS for q in getattr(self, name)]

    def is_empty(self) -> bool:
        return not (self.quotes() or self.equations or self.figures)

    def to_dict(self) -> dict:
        data = {"extractor_version": EXTRACTOR_VERSION, "paper_id": self.paper_id, "title": self.title,
                "published": self.published}
        for name in QUOTE_FIELDS:
            data[name] = [q.to_dict() for q in getattr(self, name)]
        data.update(equations=self.equations, figures=self.figures, dataset_names=self.dataset_names, note=self.note)
        return data

    def to_json(self) -> dict:
        """What `surveyor card --json` prints: the card with absolute image paths and its assets folder."""
        data = self.to_dict()
        if self.assets_dir is not None:
            for kind in ("equations", "figures"):
                data[kind] = [{**row, "image": str(self.assets_dir / row["image"]) if row.get("image") else None}
                              for row in data[kind]]
            data["assets_dir"] = str(self.assets_dir)
        return data

    @classmethod
    def from_dict(cls, d: dict) -> "EvidenceCard":
        quotes = {name: [Quote(**q) for q in d.get(name, [])] for name in QUOTE_FIELDS}
        return cls(paper_id=d["paper_id"], title=d.get("title", ""), published=d.get("published"),
                   equations=list(d.get("equations", [])), figures=list(d.get("figures", [])),
                   dataset_names=list(d.get("dataset_names", [])), note=d.get("note", ""), **quotes)


# --------------------------------------------------------------------------- paths and cache


def assets_dir(settings: Settings, paper_id: str) -> Path:
    """Where a paper's equation and figure crops live."""
    return settings.index_dir / "assets" / safe_key(paper_id)


def cards_dir(settings: Settings) -> Path:
    return settings.index_dir / "cards"


def card_path(settings: Settings, record: PaperRecord) -> Path:
    return cards_dir(settings) / f"{safe_key(record.paper_id)}.{EXTRACTOR_VERSION}.{record.sha256[:12]}.json"


def open_catalog(settings: Settings, paper_id: str) -> Catalog:
    """The home's catalog; InputError naming the paper when nothing was ever ingested there."""
    if not (settings.index_dir / "catalog.sqlite").is_file():
        raise InputError(f"paper {paper_id} is not in the corpus (nothing ingested at {settings.home})")
    return Catalog(settings.index_dir)


def require_paper(catalog: Catalog, paper_id: str) -> PaperRecord:
    """The paper's record; accepts "arXiv:1707.06347v2" for 1707.06347. InputError when absent."""
    bare, _ = split_version(paper_id)
    record = catalog.paper(bare or paper_id.strip())
    if record is None:
        raise InputError(f"paper {paper_id} is not in the corpus")
    return record


def get_card(settings: Settings, paper_id: str, catalog: Catalog | None = None) -> EvidenceCard:
    """The paper's card: read from the cache, or built (and cached) when missing.

    Raises InputError when the paper is not in the corpus.
    """
    own_catalog = catalog is None
    catalog = catalog or open_catalog(settings, paper_id)
    try:
        record = require_paper(catalog, paper_id)
        path = card_path(settings, record)
        card = _read_cached(path)
        if card is None:
            card = build_card(settings, record, catalog)
            _write_atomically(path, card.to_dict())
            _drop_stale_cards(path, record.paper_id)
        card.assets_dir = assets_dir(settings, record.paper_id)
        return card
    finally:
        if own_catalog:
            catalog.close()


def _read_cached(path: Path) -> EvidenceCard | None:
    try:
        return EvidenceCard.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # a damaged cache file is rebuilt, never trusted
        return None


def _write_atomically(path: Path, data: dict) -> None:
    atomic_write_json(path, data, indent=1)


def _drop_stale_cards(current: Path, paper_id: str) -> None:
    """Cards of older PDF versions or extractor versions of this paper are dead weight."""
    pattern = re.compile(rf"{re.escape(safe_key(paper_id))}\.[^.]+\.[0-9a-f]{{12}}\.json")
    for other in current.parent.glob(f"{safe_key(paper_id)}.*.json"):
        if other != current and pattern.fullmatch(other.name):
            other.unlink(missing_ok=True)


# --------------------------------------------------------------------------- building


def build_card(settings: Settings, record: PaperRecord, catalog: Catalog) -> EvidenceCard:
    """Extract a card from the stored PDF (no cache involved)."""
    card = EvidenceCard(paper_id=record.paper_id, title=record.title, published=record.meta.published)
    pdf_path = settings.home / record.file
    parsed = parse_pdf(pdf_path)
    if not parsed.has_text:
        card.note = "no text layer (image-only PDF?): nothing to extract"
        return card
    blocks = _block_roles(parsed)
    sentences = _verified(_candidate_sentences(blocks), catalog, record.paper_id)
    if not sentences:
        card.note = "no sentence of the text layer could be read as prose: nothing to extract"
        return card
    name_counts = _dataset_name_counts(sentences)
    # Within a group a sentence goes to the first field that claims it (innovations before
    # challenges); the evidence group (metrics, datasets) may repeat a sentence of the story group.
    for group in _FIELD_GROUPS:
        picked: set[str] = set()
        for name, scorer in group:
            setattr(card, name, _best(sentences, lambda s, f=scorer: f(s, name_counts), picked))
    card.dataset_names = _names_in_quotes(card, name_counts)
    assets = assets_dir(settings, record.paper_id)
    card.equations = _key_equations(pdf_path, assets, blocks, find_latex_source(settings, record.paper_id))
    card.figures = _figures(pdf_path, assets)
    if card.is_empty():
        card.note = "no sentence matched any field's cues"
    return card


# --------------------------------------------------------------------------- sections


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


def _verified(sentences: list[Sentence], catalog: Catalog, paper_id: str) -> list[Sentence]:
    """Keep only sentences found verbatim on their page, and each text once."""
    page_keys: dict[int, str] = {}
    seen: set[str] = set()
    kept: list[Sentence] = []
    for s in sentences:
        if s.page not in page_keys:
            page_keys[s.page] = match_key(catalog.page_text(paper_id, s.page) or "")
        key = match_key(s.text)
        if key and key not in seen and key in page_keys[s.page]:
            seen.add(key)
            kept.append(s)
    return kept


# --------------------------------------------------------------------------- scoring


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


def _best(sentences: list[Sentence], score, picked: set[str]) -> list[Quote]:
    """The top sentences by score (ties: earlier in the paper first), none already given to another field."""
    ranked = sorted(((score(s), s) for s in sentences), key=lambda pair: (-pair[0], pair[1].order))
    quotes: list[Quote] = []
    for value, s in ranked:
        if value <= 0 or len(quotes) >= MAX_QUOTES:
            break
        key = match_key(s.text)
        if key in picked:
            continue
        picked.add(key)
        quotes.append(Quote(s.text, s.page, s.section, round(value, 2)))
    return quotes


# --------------------------------------------------------------------------- numbers and names


_NOT_RESULT_NUMBERS = re.compile(
    r"(?:Table|Tab\.|Figure|Fig\.|Section|Sec\.|Eq\.|Eqs\.|Equation|Appendix|Algorithm|Step|Stage)\s*[A-Z]?\d+"
    r"(?:\.\d+)*|\[[^\]]{0,80}\]|\((?:19|20)\d\d[a-z]?\)|\b(?:19|20)\d\d\b|\(\d+\)", re.I)


def result_numbers(text: str) -> list[str]:
    """Numbers that can be results (83.1%, 79.8, 0.45), not references to tables, sections, years or citations."""
    text = _NOT_RESULT_NUMBERS.sub(" ", text)
    for name in _names(text):
        text = text.replace(name, " ")  # the 500 of MATH-500 is part of a name
    return re.findall(r"(?<![\w.@-])\d+(?:\.\d+)?%|(?<![\w.@-])\d+\.\d+(?![\w.])|(?<![\w.@-])\d{2,}(?![\w.])", text)


_DATA_NOUN = (r"(?:data ?sets?|benchmarks?|test[- ]?sets?|test split|dev(?:elopment)? sets?|validation sets?|"
              r"corpus|corpora|suite|leaderboard|challenge|games|environments?|tasks?|splits?)")
_NAME_NOUN = re.compile(r"(?:Corpus|Benchmark|Environment|Dataset|Test|Challenge|Bench|Suite)s?")
_TOKEN = re.compile(r"(?<![\w@-])[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?<!\.)")
_YEAR_AFTER = re.compile(r"\s+((?:19|20)\d\d)\b")
_SPLIT_AFTER = re.compile(r"\s+(test-clean|test-other|dev-clean|dev-other|Diamond|Verified|Lite|Hard|Pro)\b")
_EVAL_BEFORE = re.compile(
    r"(?:evaluat\w*|test\w*|results?|performance|accuracy|scores?|achiev\w*|outperform\w*|benchmark\w*|pass@\d+|"
    r"top-?\d|points|%|state-of-the-art|SOTA|improv\w*|gains?|surpass\w*|fine-?tun\w*|(?:pre-?)?train\w*|"
    r"experiments?|perplexity|BLEU|WER|F1|EM)\W+(?:[\w\-@.%]+\W+){0,3}?on\s+(?:the\s+)?$", re.I)
_LIST_BEFORE = re.compile(rf"{_DATA_NOUN}\s*(?:\(|:|,?\s*(?:such as|including|like|namely|e\.g\.,?))\s*$", re.I)
# TruthfulQA, MMBench, AlpacaEval; all-capital "GQA" may as well be grouped-query attention.
_KNOWN_SUFFIX = re.compile(r"^(?=.*[a-z]).+(?:QA|Bench|bench|Eval|EVAL|Arena)$")
_BENCHMARK_WORDS = frozenset({"Arena", "Bench", "Eval", "QA"})
_VENUES = re.compile(
    r"^(?:NeurIPS|NIPS|ICLR|ICML|ACL|EMNLP|NAACL|EACL|COLING|CVPR|ICCV|ECCV|AAAI|IJCAI|KDD|SIGIR|TACL|JMLR|"
    r"Interspeech|INTERSPEECH|ICASSP|ASRU|SLT|CoRL|ICRA|IROS|arXiv|ArXiv|January|February|March|April|May|June|"
    r"July|August|September|October|November|December|Table|Figure|Section|Appendix|Version)$")
# Generic acronyms, metrics and model families that sit where dataset names do ("trained on GPUs").
_NOT_DATASETS = frozenset(
    "GPU GPUs TPU TPUs CPU CPUs API APIs NLP NLU NLG LLM LLMs RL SFT AI ML CV ASR TTS RLHF RLAIF KL FLOPs SOTA CoT "
    "VQA MLLM MLLMs VLM VLMs LM LMs FP16 BF16 FP32 RAM URL PDF JSON HTML SGD Adam AdamW BERT GPT PPO TRPO DPO GRPO "
    "LoRA ViT ViTs CNN CNNs RNN RNNs LSTM MLP MoE OpenAI Google Meta DeepMind Microsoft NVIDIA We Our The This In "
    "For On To As An At By Of With Each All Both These Those Finally First Second Third Moreover However Table "
    "Figure Fig Section Sec Appendix Eq English Chinese I II III IV V F1 EM BLEU ROUGE WER CER mAP AUC FID Pass Top "
    "MSE MAE PSNR SSIM Acc Avg QA Various Different Several Multiple Other Standard Public Common Popular New "
    "Many Existing Downstream Evaluation Training Test Validation Main Additional Selected Full".split())


def _is_namey(token: str) -> bool:
    """A token shaped like a dataset name: acronym, CamelCase, or letters with digits (GLUE, ImageNet, GSM8K)."""
    if token in _NOT_DATASETS or _VENUES.match(token) or len(token) < 3:
        return False  # "M1", "L2": model and norm labels, not names
    if any(c.isdigit() for c in token) or _KNOWN_SUFFIX.search(token):
        return True
    parts = token.split("-")
    if any(part in _BENCHMARK_WORDS for part in parts):
        return True  # Arena-Hard
    # Capitals inside a part make a name (ImageNet, GLUE, MMLU-Pro); "Knowledge-Based" is an adjective.
    return any(sum(c.isupper() for c in part) >= 2 for part in parts)


def _runs(text: str) -> list[list[re.Match]]:
    """Capitalised tokens, grouped into runs separated by single spaces ("Toronto Book Corpus")."""
    runs: list[list[re.Match]] = []
    for match in _TOKEN.finditer(text):
        if runs and text[runs[-1][-1].end():match.start()] == " ":
            runs[-1].append(match)
        else:
            runs.append([match])
    return runs


def _with_suffixes(name: str, after: str) -> str:
    """Add a year or a split written right after the name ("AIME 2024", "LibriSpeech test-clean")."""
    for pattern in (_YEAR_AFTER, _SPLIT_AFTER):
        match = pattern.match(after)
        if match:
            name, after = f"{name} {match[1]}", after[match.end():]
    return name


def _candidates(text: str):
    """(name, start, end, shape_says_name) for each name-shaped phrase in the text."""
    for run in _runs(text):
        words = [m.group(0) for m in run]
        # "Toronto Book Corpus", "Arcade Learning Environment": a capitalised dataset word ends the name.
        lead = next((i for i, w in enumerate(words) if w not in _NOT_DATASETS), len(words))
        if len(words) - lead >= 2 and _NAME_NOUN.fullmatch(words[-1]):
            yield " ".join(words[lead:]), run[lead].start(), run[-1].end(), True
            continue
        i = 0
        while i < len(words):
            if not _is_namey(words[i]):
                i += 1
                continue
            j = i + 1
            while j < len(words) and _is_namey(words[j]):
                j += 1
            yield " ".join(words[i:j]), run[i].start(), run[j - 1].end(), False
            i = j
        # An ordinary capitalised word names a dataset only right before a dataset word ("Atari games").
        last = run[-1]
        if len(run) == 1 and re.fullmatch(r"[A-Z][a-z]{2,}", last.group(0)) and last.group(0) not in _NOT_DATASETS:
            before = text[:last.start()]
            mid_sentence = before.strip() and not re.search(r"[.!?:]\s*$", before)
            if mid_sentence and re.match(rf"\s+{_DATA_NOUN}\b", text[last.end():]):
                yield last.group(0), last.start(), last.end(), True


def _continues_list(text: str, previous_end: int, start: int, end: int) -> bool:
    """"on GLUE, SQuAD and IMDb": a list continues what its first member started.

    After a bare comma the list must go on (another comma, "and", a bracket, the end), so that
    "On MMLU and GPQA, DeepSeek-R1 achieves ..." does not take the subject for a benchmark.
    """
    if previous_end < 0:
        return False
    link = text[previous_end:start]
    if re.fullmatch(r"\s*,?\s*(?:and|or)\s+(?:on\s+)?(?:the\s+)?", link):
        return True
    list_goes_on = re.match(r"\s*(?:[,;).]|and\b|or\b|$)", text[end:]) is not None
    return re.fullmatch(r"\s*,\s*", link) is not None and list_goes_on


def dataset_names_in(text: str) -> list[str]:
    """Benchmark / dataset names in a sentence, deterministically, in order of first occurrence.

    A name-shaped phrase (acronym, CamelCase, letters with digits) counts when a dataset word
    follows it ("the GLUE benchmark"), when an evaluation phrase leads to it ("79.8% on AIME
    2024", "evaluated on ImageNet"), when it carries a year ("AIME 2024"), when its shape says
    benchmark (TruthfulQA, LiveCodeBench), or when it continues a list that started so.
    """
    found: list[str] = []
    previous_end = -1
    for name, start, end, by_shape in _candidates(text):
        before, after = text[:start], text[end:]
        full = _with_suffixes(name, after)
        accepted = (
            by_shape
            or full != name and _YEAR_AFTER.match(after) is not None
            or re.match(rf"\)?\s+(?:[\w.\-]+\s+)?{_DATA_NOUN}\b", after, re.I) is not None
            or _EVAL_BEFORE.search(before) is not None
            or _LIST_BEFORE.search(before) is not None
            or _KNOWN_SUFFIX.search(name.split()[-1]) is not None
            or _continues_list(text, previous_end, start, start + len(full))
        )
        if accepted:
            previous_end = start + len(full)
            if full not in found:
                found.append(full)
    return found


@functools.lru_cache(maxsize=16384)
def _names(text: str) -> tuple[str, ...]:
    """dataset_names_in, cached: every field's scorer asks about the same sentences."""
    return tuple(dataset_names_in(text))


def _dataset_name_counts(sentences: list[Sentence]) -> Counter:
    """In how many sentences of the paper each plausible name occurs (its weight as a main benchmark).

    A plain capitalised word that the paper also writes in lower case ("Standard" / "standard")
    is an ordinary word at a sentence's start, not a name; "Atari" never appears as "atari".
    """
    lower_words = {w for s in sentences for w in re.findall(r"\b[a-z]+\b", s.text)}
    counts: Counter = Counter()
    for s in sentences:
        counts.update({n for n in _names(s.text)
                       if not (re.fullmatch(r"[A-Z][a-z]+", n) and n.lower() in lower_words)})
    return counts


def _names_in_quotes(card: EvidenceCard, counts: Counter) -> list[str]:
    """Names found in the card's quotes, most used in the paper first."""
    names: list[str] = []
    for _, quote in card.quotes():
        for name in _names(quote.text):
            if name in counts and name not in names:
                names.append(name)
    return sorted(names, key=lambda n: -counts.get(n, 0))


# --------------------------------------------------------------------------- equations and figures


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


def _key_equations(pdf_path: Path, assets: Path, blocks: list[tuple[Block, frozenset]],
                   latex_source: Path | None = None) -> list[dict]:
    """The top equations by rank, in the paper's order, each with "why" and its crop's file name."""
    from surveyor.evidence.equations import extract_equations

    equations = extract_equations(pdf_path, assets_dir=assets, latex_source=latex_source, image_prefix="eq")
    ranked = []
    for index, eq in enumerate(equations):
        score, why = rank_equation(eq, *_section_above(blocks, eq.page, eq.bbox))
        if score > 1.0 and why:
            ranked.append((score, index, eq, why))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    out = []
    for score, _, eq, why in sorted(ranked[:MAX_EQUATIONS], key=lambda item: item[1]):
        data = eq.to_dict()
        data.update(why=why, score=round(score, 2), image=Path(eq.image).name if eq.image else None)
        out.append(data)
    return out


def _figures(pdf_path: Path, assets: Path) -> list[dict]:
    from surveyor.evidence.figures import extract_figures

    figures = extract_figures(pdf_path, assets_dir=assets, image_prefix="fig")
    ordered = sorted(enumerate(figures), key=lambda item: (not item[1].is_architecture, item[0]))
    out = []
    for _, fig in ordered[:MAX_FIGURES]:
        data = fig.to_dict()
        data["image"] = Path(fig.image).name if fig.image else None
        out.append(data)
    return out
