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
that is not on its page. A field holds the sentences an expert would quote, or nothing:
a related-work sentence is never an innovation, a success claim never a limitation,
"we leave this for future work" never future work, a caption that only labels a figure
never stands alone, and a reader's notes in the PDF are never quoted (the parser drops them: index.marks). Cards are cached as JSON per paper, per extractor version
and per PDF hash, so unchanged papers are never extracted twice.

    card = get_card(settings, "1707.06347")
    card.equations[0]["image"]     # file name under assets_dir(settings, "1707.06347")

This module holds the card, its cache and the build that fills it (build_card from an
ingested paper, build_card_from_pdf straight from a PDF). The paper's sentences and the roles
of their sections come from sections.py, how well a sentence (or a display equation) fits
each field from slots.py (with the rules of sentence_rules.py), benchmark names and result
numbers from datasets.py.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from surveyor import versions
from surveyor.errors import InputError
from surveyor.evidence.datasets import _dataset_name_counts, _names
from surveyor.evidence.sections import Sentence, _block_roles, _candidate_sentences, _verified
from surveyor.evidence.slots import (
    _FIELD_GROUPS,
    PaperContext,
    _section_above,
    cover_benchmarks,
    own_names,
    rank_equation,
)
from surveyor.files import atomic_write_json
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.pdfparse import Block, parse_pdf
from surveyor.settings import Settings
from surveyor.sources.identity import find_latex_source, safe_key, split_version
from surveyor.textnorm import match_key

# Bump whenever what a card contains changes: old cached cards are then rebuilt.

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
        data = {"extractor_version": versions.CARDS, "paper_id": self.paper_id, "title": self.title,
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
    return cards_dir(settings) / f"{safe_key(record.paper_id)}.{versions.CARDS}.{record.sha256[:12]}.json"


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
    """Extract a card from the stored PDF (no cache involved); quotes are checked against the catalog's pages."""
    card = EvidenceCard(paper_id=record.paper_id, title=record.title, published=record.meta.published)
    pdf_path = settings.home / record.file
    return _fill(card, settings, pdf_path, parse_pdf(pdf_path), lambda page: catalog.page_text(record.paper_id, page))


def build_card_from_pdf(settings: Settings, pdf_path: Path, paper_id: str, title: str = "",
                        published: str | None = None, media: bool = True) -> EvidenceCard:
    """A card straight from a PDF, nothing ingested (benchmarks, tests, a look before ingesting).

    Quotes are checked against the parser's own page text, which is what ingest stores in the
    catalog; crops go under assets_dir(settings, paper_id). media=False skips equations and figures.
    """
    parsed = parse_pdf(pdf_path)
    card = EvidenceCard(paper_id=paper_id, title=title or parsed.title or paper_id, published=published)
    texts = {p.number: p.text for p in parsed.pages}
    return _fill(card, settings, pdf_path, parsed, texts.get, media=media)


def _fill(card: EvidenceCard, settings: Settings, pdf_path: Path, parsed, page_text, media: bool = True) -> EvidenceCard:
    if not parsed.has_text:
        card.note = "no text layer (image-only PDF?): nothing to extract"
        return card
    blocks = _block_roles(parsed)  # a reader's notes were dropped by the parser (index.marks)
    sentences = _verified(_candidate_sentences(blocks), page_text)
    if not sentences:
        card.note = "no sentence of the text layer could be read as prose: nothing to extract"
        return card
    name_counts = _dataset_name_counts(sentences)
    context = PaperContext(name_counts, own_names(sentences, card.title))
    # Within a group a sentence goes to the first field that claims it (innovations before
    # challenges); the evidence group (metrics, then datasets) may repeat a sentence of the story group.
    for group in _FIELD_GROUPS:
        picked: set[str] = set()
        for name, scorer in group:
            setattr(card, name, _best(sentences, lambda s, f=scorer: f(s, context), picked))
    card.datasets = [Quote(s.text, s.page, s.section, round(score, 2))
                     for score, s in cover_benchmarks(sentences, context, MAX_QUOTES, frozenset(picked))]
    card.dataset_names = _names_in_quotes(card, name_counts)
    if media:
        assets = assets_dir(settings, card.paper_id)
        card.equations = _key_equations(pdf_path, assets, blocks, find_latex_source(settings, card.paper_id))
        card.figures = _figures(pdf_path, assets)
    if card.is_empty():
        card.note = "no sentence matched any field's cues"
    return card


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


def _names_in_quotes(card: EvidenceCard, counts: Counter) -> list[str]:
    """Names found in the card's quotes, most used in the paper first."""
    names: list[str] = []
    for _, quote in card.quotes():
        for name in _names(quote.text):
            if name in counts and name not in names:
                names.append(name)
    return sorted(names, key=lambda n: -counts.get(n, 0))


# --------------------------------------------------------------------------- equations and figures


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
