"""Topic surveys built from evidence cards, every claim checked against its cited page.

    build_survey(settings, "distillation")
      1. papers      the topic's papers (topic score ≥ TOPIC_THRESHOLD), optionally since a year,
                     capped at MAX_PAPERS by topic score while keeping both eras represented
      2. cards       one evidence card per paper (cached by surveyor.evidence.cards); empty cards
                     are skipped with a note
      3. eras        Traditional SOTA = first arXiv version before 2024-01-01, Recent = on or after:
                     decided by the metadata date, never by a model
      4. themes      agglomerative (Ward) clustering of the cards' text embeddings into a few
                     themes, each named by its most distinctive shared terms (counted, not generated).
                     Themes are sticky: a regeneration keeps old papers where they were and
                     places new ones at the nearest theme, so unchanged themes keep their drafts
      5. sections    per paper: verbatim quotes (challenge, innovation, training, ...), the key
                     equations as crops + LaTeX/text, the architecture figure; per theme and for
                     next steps one short paragraph by the writer (or extractive with --llm none)
      6. checking    every cited sentence is checked against its cited page (verify.check_support,
                     or verbatim presence for quotes); unsupported generated sentences are replaced
                     by the closest verbatim evidence quote, or dropped
      7. output      survey.md, survey.html, references.bib, assets/, support.json, run.json in
                     <root>/<topic>/<UTC stamp>/, published atomically; <root>/<topic>/latest

Section drafts (per-paper sections, theme and next-steps paragraphs, after checking) are
cached under <root>/<topic>/.cache/drafts by the hash of their evidence, the prompt file,
the model and the writer version: a regeneration redoes only what changed, and writes
"What changed since <previous>" (new papers, sections added or rewritten, claims whose
support changed).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from surveyor.errors import EmptyCorpus, LLMError
from surveyor.files import atomic_write_json, atomic_write_text, read_json
from surveyor.grounding import Citation, PageTexts, check_cited, format_citation, parse_citations, strip_citations
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.topic_match import TOPIC_THRESHOLD
from surveyor.render.html import md_code, md_escape, md_image, md_math, md_table, render_html
from surveyor.render.runinfo import Timer, check_writable, latest_dir, publish_dir, run_record
from surveyor.settings import Settings
from surveyor.sources.arxiv import arxiv_reachable
from surveyor.sources.identity import safe_key
from surveyor.textnorm import STOPWORDS, collapse, content_words, match_key, split_sentences
from surveyor.topics import Topic, resolve_topic

ERA_SPLIT = datetime(2024, 1, 1, tzinfo=timezone.utc)
MAX_PAPERS = 12          # papers per survey: a 10-minute budget on 2 cores, and a readable survey
MIN_PER_ERA = 3          # the cap never squeezes an era below this many papers (when the corpus has them)
THIN_CORPUS = 3          # fewer topic papers than this: the survey says the corpus is thin
PAPER_MAX_TOKENS = 90    # the writer's sentences on one paper (~9 s of generation on 2 cores)
NEXT_STEPS_PAPERS = 4
PROMPT_WORDS = 45        # longer evidence lines are cut (marked …) in prompts: prompt time is ~1 s per 80 tokens
PARAGRAPH_MAX_TOKENS = 110     # ~11 s of generation on 2 cores
PARAGRAPH_MAX_SENTENCES = 3
QUOTE_WORDS = 60         # longer quotes are cut at a word boundary (marked …)
CELL_WORDS = 25
WRITER_VERSION = "2"     # bump when section drafting changes: cached drafts are then rebuilt
PROMPTS = ("survey_section", "survey_next_steps")

_RESULT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s?%|\b\d+\.\d+\b")

Say = Callable[[str], None]


class TopicCorpusEmpty(EmptyCorpus):
    """The corpus holds no paper for the topic (or none since --since)."""


# --------------------------------------------------------------------------- data


@dataclass
class Claim:
    """One cited sentence of the survey and the checker's verdict on it."""

    section: str
    text: str
    paper_id: str
    page: int
    origin: str                 # quote | generated | rewritten | equation
    supported: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    action: str = "kept"        # kept | rewritten | dropped
    original: str | None = None  # the writer's sentence, when it was rewritten or dropped

    @property
    def shipped(self) -> bool:
        return self.action != "dropped"


@dataclass
class Entry:
    """A paper in the survey: its record, card, era and theme."""

    record: PaperRecord
    card: Any
    score: float
    era: str                    # traditional | recent | undated
    theme: int = 0
    key: str = ""

    @property
    def pid(self) -> str:
        return self.record.paper_id

    @property
    def cite_id(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    @property
    def year(self) -> int | None:
        return self.record.meta.year


@dataclass
class Theme:
    index: int
    name: str
    terms: list[str]
    papers: list[str]


@dataclass
class SurveyOptions:
    llm: str | None = None              # None = settings.llm.backend
    since: int | None = None            # only papers first published in or after this year
    formats: tuple[str, ...] = ("md", "html")
    out: Path | None = None             # root instead of <home>/surveys
    max_papers: int = MAX_PAPERS
    max_tokens: int = PARAGRAPH_MAX_TOKENS


@dataclass
class SurveyResult:
    dir: Path
    topic: str
    papers: list[str]
    eras: dict[str, list[str]]
    references: list[dict]
    equations: int
    figures: int
    supported_share: float
    seconds: float
    changed_since: str | None
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "papers": self.papers, "eras": self.eras, "references": self.references,
                "equations": self.equations, "figures": self.figures, "supported_share": self.supported_share,
                "seconds": round(self.seconds, 2), "changed_since": self.changed_since}


# --------------------------------------------------------------------------- small helpers


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def era_of(record: PaperRecord) -> str:
    published = record.meta.published_date()
    if published is None:
        return "undated"
    return "traditional" if published < ERA_SPLIT else "recent"


def trim_words(text: str, limit: int) -> tuple[str, bool]:
    """The first `limit` words of `text` (verbatim), and whether anything was cut."""
    words = collapse(text).split(" ")
    if len(words) <= limit:
        return collapse(text), False
    return " ".join(words[:limit]).rstrip(",;:"), True


def authors_short(authors: list[str]) -> str:
    if not authors:
        return "unknown authors"
    if len(authors) <= 2:
        return " and ".join(authors)
    return f"{authors[0]} et al."


def tag(cite_id: str, page: int, eq: str | None = None) -> str:
    return format_citation(cite_id, page, eq)


# --------------------------------------------------------------------------- selection


def select_papers(records: list[PaperRecord], topic: Topic, cap: int) -> list[PaperRecord]:
    """Top `cap` by topic score, keeping at least MIN_PER_ERA of each era where the corpus has them."""
    ranked = sorted(records, key=lambda r: (-r.topics.get(topic.name, 0.0), r.paper_id))
    chosen: list[PaperRecord] = []
    floor = min(MIN_PER_ERA, max(1, cap // 2))
    for era in ("traditional", "recent"):
        chosen += [r for r in ranked if era_of(r) == era][:floor]
    for record in ranked:
        if len(chosen) >= cap:
            break
        if record not in chosen:
            chosen.append(record)
    chosen = chosen[:cap] if len(chosen) > cap else chosen
    return sorted(chosen, key=lambda r: (r.meta.published or "9999", r.paper_id))


# --------------------------------------------------------------------------- themes

# Words that say nothing about what distinguishes a group of papers (they occur in any abstract).
_BORING = frozenset(
    "paper papers propose proposed proposes method methods approach approaches result results show shows shown "
    "work works performance new novel task tasks table figure fig section arxiv preprint however first second "
    "third different large larger small smaller based achieve achieves achieved state art sota existing prior "
    "recent recently previous significantly significant improve improves improved improvement improvements "
    "demonstrate demonstrates experiments experiment et al also well many much make makes made like introduce "
    "introduces introduced present presents study studies often across without within further including able "
    "order still even given provide provides two three specific number reduce reduces reduced before after "
    "faster better best high higher low lower good strong stronger simple simply effective efficient "
    "comparable competitive outperform outperforms outperforming while yet because since thus therefore "
    "times fewer less several various overall key main general whole need needs needed require requires "
    "leverage leverages leveraging enable enables allow allows help helps way ways use uses paradigm "
    "framework frameworks technique techniques lead leads large-scale wide range through them only thereby "
    "address addresses addressing designed design effectively effective challenging challenge challenges "
    "applications application procedure aims aim produce produces ensuring ensure purely strategy "
    "strategies advantageously whereas although among upon toward towards around about against along "
    "instead rather very really just simply mainly mostly largely highly particularly especially "
    "notably typically usually generally commonly widely currently called named termed known termed "
    "setting settings example examples case cases part parts terms term fact due respect "
    "furthermore moreover additionally finally although despite however whether either neither "
    "dataset datasets benchmark benchmarks available potential possible important crucial critical "
    "following contribution contributions comprehensive survey surveys success successful feature features "
    "capability capabilities ability abilities focus focuses aspect aspects level levels various variety "
    "single solution solutions modeling modelling"
    .split()) | STOPWORDS
# Too generic to name a theme alone, but fine inside a two-word term ("language models").
_GENERIC = frozenset(
    "model models language training learning data network networks system systems performances parameters "
    "understanding representation representations inference knowledge task-specific pre-trained pre-training "
    "fine-tuning fine-tuned tuning memory size teacher student students teachers processing natural".split())
_FRAGMENTS = re.compile(r"[.,;:()\[\]!?\"“”]|\s-\s|—")


def _terms(text: str) -> set[str]:
    """Unigrams and bigrams (within one phrase) of meaningful words, lower case."""
    out: set[str] = set()
    for fragment in _FRAGMENTS.split(collapse(text)):
        words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]*", fragment)]
        keep = [w if len(w) >= 3 and w not in _BORING else None for w in words]
        out.update(w for w in keep if w and w not in _GENERIC)
        out.update(f"{a} {b}" for a, b in zip(keep, keep[1:]) if a and b and a != b)
    return out


def card_text(entry: Entry) -> str:
    card = entry.card
    parts = [entry.record.title, entry.record.meta.abstract or ""]
    for name in ("innovations", "challenges", "architecture", "training"):
        parts += [q.text for q in getattr(card, name)[:2]]
    return " ".join(parts)


def naming_text(entry: Entry) -> str:
    """What a paper says it does: title, abstract and its contribution statements."""
    quotes = " ".join(q.text for q in entry.card.innovations[:3])
    return f"{entry.record.title}. {entry.record.meta.abstract or ''} {quotes}"


def background_df(records: list[PaperRecord]) -> tuple[dict[str, int], int]:
    """In how many corpus papers (title + abstract) each term occurs: common terms name nothing."""
    df: dict[str, int] = {}
    for record in records:
        for term in _terms(f"{record.title}. {record.meta.abstract or ''}"):
            df[term] = df.get(term, 0) + 1
    return df, len(records)


def name_theme(members: list[Entry], others: list[Entry], topic: Topic,
               background: tuple[dict[str, int], int] | None = None) -> list[str]:
    """The 2 terms most distinctive of `members`: shared within, rare outside and rare in the corpus."""
    inside = [_terms(naming_text(e)) for e in members]
    outside = [_terms(naming_text(e)) for e in others]
    titles = [_terms(e.record.title) for e in members]
    df_corpus, n_corpus = background or ({}, 0)
    topic_words = {w.lower() for w in topic.name.split("_")}
    counts: dict[str, int] = {}
    for terms in inside:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    need = min(2, len(members))
    scored = []
    for term, df_in in counts.items():
        if term in topic_words:
            continue
        df_out = sum(1 for terms in outside if term in terms)
        score = df_in / len(members) - (df_out / len(outside) if outside else 0.0)
        if df_in < need:
            score -= 0.5  # a term of one paper names a theme only when nothing is shared
        if n_corpus > 1:
            score += 0.4 * math.log((n_corpus + 1) / (1 + df_corpus.get(term, 0))) / math.log(n_corpus + 1)
        score += 0.15 if " " in term else 0.0
        score += 0.1 * sum(1 for t in titles if term in t) / len(members)
        scored.append((-round(score, 6), -len(term), term))
    picked: list[str] = []
    for _, _, term in sorted(scored):
        if any(term in p or p in term for p in picked):
            continue
        picked.append(term)
        if len(picked) == 2:
            break
    return picked or [members[0].record.title.split(":")[0].lower()[:40]]


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


def assign_themes(entries: list[Entry], vectors: np.ndarray, topic: Topic, previous: list[dict] | None,
                  background: tuple[dict[str, int], int] | None = None) -> tuple[list[Theme], bool]:
    """Group entries into themes; returns the themes and whether they were re-clustered from scratch."""
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
            raw = fcluster(tree, t=k, criterion="maxclust")
            labels = {e.pid: int(lab) for e, lab in zip(entries, raw)}
            _merge_singletons(entries, vectors, labels)
    # Number themes by the date of their earliest paper: the narrative goes from old to new.
    groups = sorted(set(labels.values()),
                    key=lambda g: min((e.record.meta.published or "9999", e.pid) for e in entries if labels[e.pid] == g))
    renumber = {g: i + 1 for i, g in enumerate(groups)} if reclustered else {g: g for g in groups}
    themes = []
    for g in groups:
        members = [e for e in entries if labels[e.pid] == g]
        others = [e for e in entries if labels[e.pid] != g]
        terms = name_theme(members, others, topic, background)
        for e in members:
            e.theme = renumber[g]
        themes.append(Theme(renumber[g], " · ".join(terms), terms, [e.pid for e in members]))
    return sorted(themes, key=lambda t: t.index), reclustered


# --------------------------------------------------------------------------- drafts


class DraftCache:
    """Finished section drafts (Markdown + checked claims) by the hash of everything they depend on."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.reused: list[str] = []
        self.made: list[str] = []

    def get_or_make(self, section: str, inputs: dict, make: Callable[[], dict]) -> dict:
        key = _hash({"writer": WRITER_VERSION, **inputs})
        path = self.folder / key[:2] / f"{key}.json"
        cached = read_json(path)
        if isinstance(cached, dict) and cached.get("key") == key:
            self.reused.append(section)
            return cached
        draft = make()
        draft["key"] = key
        atomic_write_json(path, draft)
        self.made.append(section)
        return draft


# --------------------------------------------------------------------------- writing


class _Writer:
    """Drafts sections from cards; every cited sentence it emits has been checked."""

    def __init__(self, settings: Settings, catalog: Catalog, llm: Any | None, topic: Topic,
                 entries: dict[str, Entry], cache: DraftCache, max_tokens: int, say: Say):
        self.settings = settings
        self.catalog = catalog
        self.llm = llm
        self.topic = topic
        self.entries = entries
        self.cache = cache
        self.max_tokens = max_tokens
        self.say = say
        self.pages = PageTexts(self.catalog)
        self._embedder = None
        self.prompts = {}
        if llm is not None:
            from surveyor.write.prompts import load_prompt

            self.prompts = {name: load_prompt(name) for name in PROMPTS}

    @property
    def embedder(self):
        if self._embedder is None:
            from surveyor.index.embedder import get_embedder

            self._embedder = get_embedder(self.settings.embedding)
        return self._embedder

    @property
    def model_name(self) -> str:
        return getattr(self.llm, "name", "none") if self.llm is not None else "none"

    # ---- quotes ---------------------------------------------------------------
    def quote(self, section: str, entry: Entry, text: str, page: int, claims: list[dict],
              words: int = QUOTE_WORDS) -> str | None:
        """“verbatim quote” [id p.N], or None when the quote is not on its page."""
        from surveyor.grounding import quote_on_page

        shown, cut = trim_words(text, words)
        page_text = self._page(entry.pid, page)
        if not quote_on_page(shown, page_text):
            claims.append(asdict(Claim(section, shown, entry.cite_id, page, "quote", False, 0.0,
                                       ["quote not found on the cited page"], "dropped")))
            return None
        claims.append(asdict(Claim(section, shown, entry.cite_id, page, "quote", True, 1.0,
                                   ["verbatim on the cited page"])))
        return f"“{md_escape(shown)}{'…' if cut else ''}” {tag(entry.cite_id, page)}"

    def _page(self, pid: str, page: int) -> str | None:
        return self.pages.text(pid, page)

    # ---- per paper --------------------------------------------------------------
    def paper_section(self, entry: Entry, assets: set[tuple[str, str]]) -> dict:
        card = entry.card
        inputs = {"kind": "paper", "card": card.to_dict(), "key": entry.key, "era": entry.era,
                  "meta": [entry.record.meta.title, entry.record.meta.authors, entry.record.meta.published],
                  "sha": entry.record.sha256}
        section = f"paper:{entry.pid}"
        draft = self.cache.get_or_make(section, inputs, lambda: self._paper_draft(entry))
        for rel in draft.get("assets", []):
            assets.add((entry.pid, rel))
        return draft

    def _paper_draft(self, entry: Entry) -> dict:
        card, rec = entry.card, entry.record
        section = f"paper:{entry.pid}"
        claims: list[dict] = []
        used_assets: list[str] = []
        lines: list[str] = []
        year = rec.meta.year or "n.d."
        era_label = {"traditional": "Traditional SOTA", "recent": "Recent trend", "undated": "undated"}[entry.era]
        lines.append(f"#### {md_escape(rec.title)} ({entry.cite_id}, {year})")
        link = f"[arXiv:{entry.cite_id}](https://arxiv.org/abs/{entry.cite_id})" if rec.arxiv_id else "no arXiv id"
        lines.append("")
        lines.append(f"*{md_escape(authors_short(rec.meta.authors))}* · {era_label} · {link} · cite key `{entry.key}`")

        quoted: list[str] = []  # match keys of what this section already quotes

        def field_line(label: str, quotes, limit: int = 1, prefix: str = "") -> None:
            shown = []
            for q in quotes:
                rendered = self.quote(section, entry, q.text, q.page, claims)
                if rendered:
                    shown.append(rendered)
                    quoted.append(match_key(q.text))
                if len(shown) >= limit:
                    break
            body = " ".join(shown) if shown else "*(no statement found by the extractor)*"
            lines.extend(["", f"**{label}.** {prefix}{body}"])

        field_line("Challenge addressed", card.challenges)
        field_line("Key innovation", card.innovations)
        # Mathematical formulation: the paper's own equations, as printed.
        equations = [e for e in card.equations if e.get("image")][:2] or card.equations[:1]
        lines.extend(["", "**Mathematical formulation.**" + ("" if equations else
                                                               " *(no key display equation found)*")])
        for eq in equations:
            number = eq.get("number")
            page = int(eq.get("page") or 1)
            label = f"Equation ({number})" if number else "Unnumbered display equation"
            image = eq.get("image")
            if image:
                rel = f"assets/{safe_key(entry.pid)}/{image}"
                used_assets.append(image)
                lines.extend(["", md_image(f"{label} of {entry.cite_id}, page {page}", rel)])
            lines.append("")
            if eq.get("latex"):
                lines.append(md_math(eq["latex"]))
            else:
                lines.append(md_code(eq.get("text") or ""))
            cite = tag(entry.cite_id, page, str(number) if number else "unnumbered")
            note = f"{label} as printed {cite}."
            where = (eq.get("context") or {}).get("where") or ""
            claims.append(asdict(Claim(section, f"{label}: {collapse(eq.get('text') or '')[:200]}", entry.cite_id,
                                       page, "equation", bool(self._page(entry.pid, page)) and bool(image),
                                       1.0 if image else 0.0,
                                       ["crop of the printed equation"] if image else ["no crop available"])))
            if where:
                for where_page in (page, page + 1):
                    trial: list[dict] = []
                    rendered = self.quote(section, entry, where, where_page, trial) if self._page(
                        entry.pid, where_page) else None
                    if rendered:
                        claims.extend(trial)
                        note += f" Where: {rendered}"
                        break
            lines.extend(["", note])
        field_line("Architecture changes", card.architecture)
        figure = next((f for f in card.figures if f.get("is_architecture") and f.get("image")), None)
        if figure:
            rel = f"assets/{safe_key(entry.pid)}/{figure['image']}"
            used_assets.append(figure["image"])
            page = int(figure.get("page") or 1)
            number = figure.get("number")
            caption = collapse(figure.get("caption") or "")
            bare = re.sub(r"^(?:Figure|Fig\.)\s*\d*[:.]?\s*", "", caption)
            lines.extend(["", md_image(f"Figure {number or ''} of {entry.cite_id}, page {page}: {bare[:120]}", rel)])
            already = any(match_key(caption)[:60] in k for k in quoted)
            rendered = self.quote(section, entry, caption, page, claims, words=40) if caption and not already else None
            fig_label = f"Figure {number}" if number else "Architecture figure"
            lines.extend(["", f"*{fig_label}, p.{page}.* " + (rendered or "")])
        field_line("Training paradigm", card.training)
        names = ", ".join(md_escape(n) for n in card.dataset_names[:6])
        field_line("Evaluation datasets", card.datasets, prefix=f"{names}. " if names else "")
        metric_quotes = sorted(card.metrics, key=lambda q: not _RESULT_NUMBER.search(q.text))
        field_line("Performance metrics", metric_quotes, limit=2)
        return {"md": "\n".join(lines), "claims": claims, "assets": used_assets}

    # ---- paragraphs --------------------------------------------------------------
    def paragraph(self, section: str, prompt_name: str, heading: str, evidence: list[tuple[Entry, str, int]],
                  extractive: Callable[[], str], max_tokens: int | None = None,
                  max_sentences: int = PARAGRAPH_MAX_SENTENCES) -> dict:
        """A few sentences from evidence lines (entry, quote, page), written, checked and cached."""
        max_tokens = min(max_tokens or self.max_tokens, self.max_tokens)
        lines = [(e.cite_id, page, shown + ("…" if cut else ""))
                 for e, text, page in evidence for shown, cut in [trim_words(text, PROMPT_WORDS)]]
        if self.llm is None or not lines:
            inputs = {"kind": "paragraph", "section": section, "model": "none", "heading": heading,
                      "evidence": lines, "extractive": extractive()}
            return self.cache.get_or_make(section, inputs, lambda: {"md": inputs["extractive"], "claims": [],
                                                                    "raw": None})
        prompt = self.prompts[prompt_name]
        evidence_text = "\n".join(f"{tag(cid, page)} {text}" for cid, page, text in lines)
        system, user = prompt.render(topic=self.topic.title, heading=heading, evidence=evidence_text,
                                     max_sentences=max_sentences)
        inputs = {"kind": "paragraph", "section": section, "model": self.model_name, "prompt": prompt.sha256,
                  "max_tokens": max_tokens, "system": system, "user": user, "checker": _checker_version()}

        def make() -> dict:
            self.say(f"  writing {section} ({self.model_name})")
            started, cpu = time.perf_counter(), time.process_time()
            raw = self.llm.chat(system, user, max_tokens=max_tokens, stop=["\n\n", "Evidence:", "Theme:", "Paper:"])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            md, claims = self.check_paragraph(section, raw, evidence, heading)
            return {"md": md, "claims": claims, "raw": raw, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}

        return self.cache.get_or_make(section, inputs, make)

    def check_paragraph(self, section: str, raw: str, evidence: list[tuple[Entry, str, int]],
                        heading: str = "") -> tuple[str, list[dict]]:
        """Check each sentence of the writer's paragraph against its cited page; rewrite or drop failures.

        A sentence is kept when some page it cites (or the page of the evidence line closest to it)
        supports it; otherwise it is replaced by the closest verbatim evidence quote not used yet,
        or dropped. Echoes of the topic or theme name and a last sentence cut off by max_tokens
        are not claims and are left out.
        """
        from surveyor.grounding import best_quote

        text = re.sub(r"^\s*(?:Paragraph|Sentences|Answer|Summary)\s*:\s*", "", raw.strip(), flags=re.I)
        text = " ".join(line.strip().lstrip("-*# ").strip() for line in text.splitlines() if line.strip())
        by_cite = {e.cite_id: e for e, _, _ in evidence}
        echo_words = set(content_words(f"{self.topic.title} {heading} theme survey paragraph"))
        claims: list[dict] = []
        shipped: list[str] = []
        seen: set[str] = set()
        used_quotes: set[str] = set()
        sentences = split_sentences(text)
        if sentences and re.search(r"\s\[[^\[\]]*$", sentences[-1]):  # cut inside its tag: the claim is whole
            sentences[-1] = re.sub(r"\s*\[[^\[\]]*$", "", sentences[-1]).rstrip(" ,;:") + "."
        if sentences and not re.search(r"[.!?\]”\"')]\s*$", sentences[-1]):
            cut = strip_citations(sentences.pop())
            claims.append(asdict(Claim(section, cut, "", 0, "generated", False, 0.0,
                                       ["cut off by the token limit"], "dropped", cut)))
        evidence_text = "\n".join(t for _, t, _ in evidence)
        for sentence in sentences:
            claim_text = strip_citations(sentence)
            claim_text = collapse(re.sub(r"\[[^\[\]]*(?=\[|$)", " ", claim_text))  # broken tags ("[2301.1 p")
            claim_text = re.sub(r"\s+([.,;:!?])", r"\1", claim_text).rstrip(" .;,")
            words = content_words(claim_text)
            if len(words) < 3 or len(set(words) - echo_words) <= 1:
                continue
            if _repeats_itself(claim_text):
                claims.append(asdict(Claim(section, claim_text, "", 0, "generated", False, 0.0,
                                           ["the writer repeated itself"], "dropped", claim_text)))
                continue
            cited = [(c.paper_id, c.page) for c in parse_citations(sentence, loose=True)]
            valid = []
            for cid, page in cited:
                if cid not in by_cite:
                    continue
                pages = [p for e, _, p in evidence if e.cite_id == cid]
                valid.append((cid, page if page in pages or self._page(by_cite[cid].pid, page) else pages[0]))
            # The evidence line closest to the sentence is a candidate too: small writers misattribute.
            closest, _ = best_quote(claim_text, evidence_text)
            line = next(((e, p) for e, t, p in evidence if closest and closest in collapse(t)), None)
            candidates = list(dict.fromkeys(valid + ([(line[0].cite_id, line[1])] if line else [])))
            supported_tags = []
            best = (0.0, ["no citation to evidence the writer was given"])
            for cid, page in candidates:
                verdict = check_cited(claim_text, Citation(by_cite[cid].pid, page), self.pages, self.embedder)
                ok, score, reasons = verdict.supported, verdict.score, verdict.reasons
                if ok:
                    supported_tags.append((cid, page, score, reasons or [f"supported by the cited page ({score:.2f})"]))
                elif score >= best[0]:
                    best = (score, reasons)
            key = claim_text.lower()
            if supported_tags:
                if key in seen:
                    continue
                seen.add(key)
                # Tags the writer chose come first; the closest line only when none of them holds.
                chosen = [t for t in supported_tags if (t[0], t[1]) in valid] or supported_tags[:1]
                cid, page, score, reasons = chosen[0]
                claims.append(asdict(Claim(section, claim_text, cid, page, "generated", True, score, reasons)))
                shipped.append(f"{md_escape(claim_text)} {' '.join(tag(c, p) for c, p, _, _ in chosen)}.")
                continue
            # Unsupported: the verbatim evidence quote closest to it, if not already used; else drop.
            pool = [(e, t, p) for e, t, p in evidence if not valid or e.cite_id in {c for c, _ in valid}]
            quote, _ = best_quote(claim_text, "\n".join(t for _, t, _ in pool)) if pool else (None, 0.0)
            source = next(((e, t, p) for e, t, p in pool if quote and quote in collapse(t)), None)
            cid0, page0 = valid[0] if valid else (candidates[0] if candidates else ("", 0))
            if source and quote not in used_quotes and quote.lower().rstrip(". ") not in seen:
                e, _, p = source
                rendered = self.quote(section, e, quote, p, claims)
                if rendered:
                    used_quotes.add(quote)
                    seen.add(quote.lower().rstrip(". "))
                    claims[-1].update(origin="rewritten", action="rewritten", original=claim_text)
                    claims[-1]["reasons"] = best[1] + ["replaced by the verbatim evidence quote"]
                    shipped.append(rendered)
                    continue
            claims.append(asdict(Claim(section, claim_text, cid0, page0, "generated", False, best[0], best[1],
                                       "dropped", claim_text)))
        return " ".join(shipped), claims


def _repeats_itself(text: str, span: int = 6) -> bool:
    """True when a run of `span` words occurs twice: a small writer looping, not a claim."""
    words = text.lower().split()
    seen: set[tuple[str, ...]] = set()
    for i in range(len(words) - span + 1):
        gram = tuple(words[i:i + span])
        if gram in seen:
            return True
        seen.add(gram)
    return False


def _checker_version() -> list:
    from surveyor.grounding import support as verify

    return [getattr(verify, n, None) for n in ("MIN_COVERAGE", "MIN_COVERAGE_WITHOUT_EMBEDDER", "MIN_SIMILARITY")]


# --------------------------------------------------------------------------- the survey


class SurveyBuilder:
    def __init__(self, settings: Settings, topic: str, options: SurveyOptions | None = None, say: Say | None = None):
        self.settings = settings
        self.topic = resolve_topic(topic)
        self.options = options or SurveyOptions()
        self.say = say or (lambda msg: None)
        self.root = Path(self.options.out).expanduser() if self.options.out else settings.surveys_dir
        self.topic_dir = self.root / self.topic.name
        self.timer = Timer()
        self.warnings: list[str] = []

    # ---- corpus ---------------------------------------------------------------------
    def _topic_records(self, catalog: Catalog) -> tuple[list[PaperRecord], int]:
        records = catalog.papers()
        in_topic = [r for r in records if r.topics.get(self.topic.name, 0.0) >= TOPIC_THRESHOLD]
        if self.options.since:
            in_topic = [r for r in in_topic if r.meta.year and r.meta.year >= self.options.since]
        return in_topic, len(records)

    def _no_papers_message(self, found: int, total: int) -> str:
        since = f" since {self.options.since}" if self.options.since else ""
        where = (f"found {found} paper{'s' if found != 1 else ''} for topic '{self.topic.name}'{since} "
                 f"among {total} in the corpus at {self.settings.home}")
        if arxiv_reachable(self.settings.arxiv):
            return f"{where}; arXiv is reachable: run `surveyor fetch --topic {self.topic.name}` or add --fetch"
        return f"{where}; arXiv is not reachable from here: ingest PDFs with `surveyor ingest PATH`"

    def _make_llm(self):
        from surveyor.write.llm import OllamaLLM, make_llm, ollama_serves

        llm = make_llm(self.options.llm, self.settings.llm)
        if isinstance(llm, OllamaLLM) and not ollama_serves(llm.host, llm.model, max(2.0, self.settings.llm.probe_timeout_s)):
            raise LLMError(f"ollama at {llm.host} is unreachable or does not serve '{llm.model}'; "
                           "start it (and `ollama pull` the model), or use --llm none")
        return llm

    # ---- main -----------------------------------------------------------------------
    def run(self) -> SurveyResult:
        started = time.perf_counter()
        check_writable(self.topic_dir)
        catalog = Catalog(self.settings.index_dir)
        try:
            records, total = self._topic_records(catalog)
            if total == 0:
                raise TopicCorpusEmpty(self._no_papers_message(0, 0).replace(
                    " among 0 in the corpus", " (the corpus is empty)"))
            if not records:
                raise TopicCorpusEmpty(self._no_papers_message(0, total))
            if len(records) < THIN_CORPUS:
                self.warnings.append(self._no_papers_message(len(records), total).replace(
                    "found", "thin corpus: found", 1))
            llm = self._make_llm()
            return self._build(catalog, records, llm, started)
        finally:
            catalog.close()

    def _cards(self, catalog: Catalog, chosen: list[PaperRecord]) -> tuple[list[Entry], list[dict], dict]:
        from surveyor.evidence.cards import card_path, get_card

        entries, skipped = [], []
        stats = {"cached": [], "built": []}
        for i, record in enumerate(chosen, 1):
            cached = card_path(self.settings, record).is_file()
            self.say(f"card {i}/{len(chosen)}: {record.paper_id}{' (cached)' if cached else ''}")
            try:
                card = get_card(self.settings, record.paper_id, catalog)
            except Exception as exc:  # noqa: BLE001 - one unreadable paper is skipped, never the survey
                skipped.append({"paper_id": record.paper_id, "title": record.title,
                                "note": f"card could not be built ({type(exc).__name__}: {exc})"})
                continue
            (stats["cached"] if cached else stats["built"]).append(record.paper_id)
            if card.is_empty():
                skipped.append({"paper_id": record.paper_id, "title": record.title,
                                "note": card.note or "no evidence extracted"})
                continue
            entries.append(Entry(record, card, record.topics.get(self.topic.name, 0.0), era_of(record)))
        return entries, skipped, stats

    def _previous(self) -> tuple[Path | None, dict | None, dict | None]:
        prev = latest_dir(self.topic_dir)
        if prev is None:
            return None, None, None
        return prev, read_json(prev / "run.json"), read_json(prev / "support.json")

    def _build(self, catalog: Catalog, records: list[PaperRecord], llm, started: float) -> SurveyResult:
        from surveyor.render.bibtex import citation_keys, read_keys, write_bib

        topic = self.topic
        chosen = select_papers(records, topic, self.options.max_papers)
        self.say(f"survey {topic.name}: {len(chosen)} of {len(records)} topic papers")
        with self.timer("cards"):
            entries, skipped, card_stats = self._cards(catalog, chosen)
        if not entries:
            raise TopicCorpusEmpty(f"found {len(records)} paper(s) for topic '{topic.name}' but no evidence could "
                                   f"be extracted from any of them: " + "; ".join(
                                       f"{s['paper_id']}: {s['note']}" for s in skipped))
        prev_dir, prev_run, prev_support = self._previous()
        keys = citation_keys([e.record for e in entries], read_keys(prev_dir / "references.bib") if prev_dir else None)
        for e in entries:
            e.key = keys[e.pid]
        with self.timer("themes"):
            from surveyor.index.embedder import get_embedder

            vectors = get_embedder(self.settings.embedding).embed([card_text(e) for e in entries])
            themes, reclustered = assign_themes(entries, vectors, topic, (prev_run or {}).get("themes"),
                                                 background_df(catalog.papers()))
        by_pid = {e.pid: e for e in entries}
        cache = DraftCache(self.topic_dir / ".cache" / "drafts")
        writer = _Writer(self.settings, catalog, llm, topic, by_pid, cache, self.options.max_tokens, self.say)
        sections: dict[str, dict] = {}
        assets: set[tuple[str, str]] = set()
        with self.timer("sections"):
            for e in entries:
                sections[f"paper:{e.pid}"] = writer.paper_section(e, assets)
            for theme in themes:
                sections[f"theme:{theme.index}"] = self._theme_paragraph(writer, theme, by_pid)
            sections["next-steps"] = self._next_steps_paragraph(writer, entries)
        with self.timer("assemble"):
            sections.update(self._body_sections(entries, themes, sections, writer))
            claims = [c for s in sections.values() for c in s.get("claims", [])]
            summary = support_summary(claims)
            changes = what_changed(prev_dir, prev_run, prev_support, entries, sections, claims)
        # Everything below writes the output folder; an interruption leaves no half-written survey.
        with publish_dir(self.topic_dir) as out:
            md_text = self._markdown(out.name, catalog, records, entries, skipped, sections, summary, changes,
                                     llm, writer)
            with self.timer("write"):
                for pid, image in sorted(assets):
                    source = _assets_dir(self.settings, pid) / image
                    target = out.path / "assets" / safe_key(pid) / image
                    if source.is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target)
                write_bib([e.record for e in entries], out.path / "references.bib", keys=keys)
                if "md" in self.options.formats:
                    atomic_write_text(out.path / "survey.md", md_text)
                if "html" in self.options.formats:
                    atomic_write_text(out.path / "survey.html",
                                      render_html(md_text, out.path, f"Survey: {topic.title}"))
                atomic_write_json(out.path / "support.json", {"summary": summary, "claims": claims})
            seconds = time.perf_counter() - started
            eras = {era: [e.cite_id for e in entries if e.era == era] for era in ("traditional", "recent")}
            undated = [e.cite_id for e in entries if e.era == "undated"]
            equations = sum(1 for c in claims if c["origin"] == "equation" and c["supported"])
            figures = sum(1 for _, image in assets if not _is_equation_image(image))
            extra = {
                "topic": topic.name, "stamp": out.name, "options": {
                    "llm": self.options.llm, "since": self.options.since, "formats": list(self.options.formats),
                    "max_papers": self.options.max_papers, "max_tokens": self.options.max_tokens},
                "writer_version": WRITER_VERSION, "extractor_version": _extractor_version(),
                "eras": eras, "undated": undated, "skipped": skipped,
                "themes": [asdict(t) for t in themes], "themes_reclustered": reclustered,
                "citation_keys": keys, "cards": card_stats,
                "drafts": {"reused": cache.reused, "made": cache.made},
                "sections": {sid: _hash(s.get("md", "")) for sid, s in sections.items()},
                "support": summary, "changed_since": changes["since"] if changes else None,
                "changes": changes, "warnings": self.warnings,
                "previous": prev_dir.name if prev_dir else None,
                "seconds": round(seconds, 2),
            }
            prompt_hashes = {name: p.sha256 for name, p in writer.prompts.items()}
            record = run_record(command="survey", settings=self.settings, catalog=catalog,
                                papers=[e.record for e in entries], llm=llm, prompts=prompt_hashes,
                                timings={**self.timer.seconds, "total": seconds}, extra=extra)
            atomic_write_json(out.path / "run.json", record)
        references = [{"arxiv_id": e.cite_id, "title": e.record.title, "year": e.year} for e in
                      sorted(entries, key=lambda e: e.key)]
        return SurveyResult(dir=out.final, topic=topic.name, papers=[e.cite_id for e in entries], eras=eras,
                            references=references, equations=equations, figures=figures,
                            supported_share=summary["supported_share"], seconds=time.perf_counter() - started,
                            changed_since=changes["since"] if changes else None, summary={
                                "support": summary, "drafts": {"reused": len(cache.reused), "made": len(cache.made)},
                                "cards": {k: len(v) for k, v in card_stats.items()}, "skipped": skipped,
                                "themes": [t.name for t in themes], "llm": writer.model_name,
                                "timings": {k: round(v, 2) for k, v in self.timer.seconds.items()}},
                            warnings=self.warnings)

    # ---- paragraphs ------------------------------------------------------------------
    def _theme_paragraph(self, writer: _Writer, theme: Theme, by_pid: dict[str, Entry]) -> dict:
        """What the theme's papers have in common (counted), then one or two written sentences per paper.

        The writer gets one paper's challenge and innovation at a time: a short prompt, and a draft that
        stays valid while that paper's card does, so a regeneration writes only for new papers.
        """
        members = sorted((by_pid[p] for p in theme.papers), key=lambda e: (e.record.meta.published or "9999", e.pid))
        years = sorted({e.year for e in members if e.year})
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "undated")
        listing = "; ".join(f"{md_escape(_short_title(e.record.title))} ({e.cite_id}, {e.year or 'n.d.'})"
                            for e in members)
        intro = (f"This theme groups {len(members)} paper{'s' if len(members) != 1 else ''} ({span}) whose "
                 f"evidence shares the terms *{md_escape(', '.join(theme.terms))}*: {listing}.")
        parts, claims = [intro], []
        if writer.llm is not None:
            for e in members:
                evidence = [(e, getattr(e.card, name)[0].text, getattr(e.card, name)[0].page)
                            for name in ("challenges", "innovations") if getattr(e.card, name)]
                if not evidence:
                    continue
                draft = writer.paragraph(f"theme:{theme.index}:{e.pid}", "survey_section", e.record.title, evidence,
                                         lambda: "", max_tokens=PAPER_MAX_TOKENS, max_sentences=2)
                if draft.get("md"):
                    parts.append(draft["md"])
                claims += draft.get("claims", [])
        return {"md": " ".join(parts), "claims": claims}

    def _next_steps_paragraph(self, writer: _Writer, entries: list[Entry]) -> dict:
        # The most relevant papers' own words; by topic score, so a new marginal paper leaves the draft alone.
        ranked = sorted(entries, key=lambda e: (-e.score, e.pid))
        evidence: list[tuple[Entry, str, int]] = []
        for e in ranked:
            for name in ("limitations", "future_work"):
                quotes = getattr(e.card, name)
                if quotes:
                    evidence.append((e, quotes[0].text, quotes[0].page))
            if len({x.pid for x, _, _ in evidence}) >= NEXT_STEPS_PAPERS:
                break
        if evidence:  # the extractive survey lists these quotes under the paragraph anyway
            return writer.paragraph("next-steps", "survey_next_steps", "open challenges and next steps", evidence,
                                    lambda: "")
        # No card states a limitation: look for them in the papers' text (retrieval), and quote what is found.
        evidence = self._retrieved_limitations(writer, entries)
        if writer.llm is not None and evidence:
            return writer.paragraph("next-steps", "survey_next_steps", "open challenges and next steps", evidence,
                                    lambda: "")
        claims: list[dict] = []
        quotes = [writer.quote("next-steps", e, text, page, claims) for e, text, page in evidence]
        found = " ".join(q for q in quotes if q)
        return {"md": f"Stated in the papers' text (found by retrieval): {found}" if found else "", "claims": claims}

    def _retrieved_limitations(self, writer: _Writer, entries: list[Entry]) -> list[tuple[Entry, str, int]]:
        """When no card states limitations, look for them in the papers' chunks (retrieval)."""
        from surveyor.grounding import quote_on_page
        from surveyor.retrieve.retriever import Retriever

        by_pid = {e.pid: e for e in entries}
        out: list[tuple[Entry, str, int]] = []
        try:
            retriever = Retriever(self.settings, writer.catalog)
            passages = retriever.search("limitations future work open problems remain challenge", k=6,
                                        papers=list(by_pid))
        except Exception as exc:  # noqa: BLE001 - retrieval is a fallback; its failure is a warning
            self.warnings.append(f"retrieval for next steps failed: {exc}")
            return out
        cue = re.compile(r"limitation|future work|future research|remain|open (?:problem|question)|challeng|"
                         r"we leave|left for", re.I)
        for passage in passages:
            entry = by_pid.get(passage.paper_id)
            if entry is None:
                continue
            for sentence in split_sentences(passage.text):
                if cue.search(sentence) and len(sentence.split()) >= 6 and \
                        quote_on_page(sentence, writer._page(entry.pid, passage.page)):
                    out.append((entry, sentence, passage.page))
                    break
        return out

    # ---- Markdown --------------------------------------------------------------------
    def _body_sections(self, entries: list[Entry], themes: list[Theme], sections: dict[str, dict],
                       writer: _Writer) -> dict[str, dict]:
        """Eras, themes, comparison, challenges and references as sections: {id: {"md", "claims"}}."""
        out: dict[str, dict] = {}
        eras = {era: [e for e in entries if e.era == era] for era in ("traditional", "recent")}
        # 2-3. Eras
        for number, era, title in ((2, "traditional", "Traditional SOTA (before 2024)"),
                                   (3, "recent", "Recent trends (2024 and after)")):
            claims: list[dict] = []
            lines = [f"## {number}. {title}", ""]
            members = eras[era]
            if not members:
                lines += ["*No paper of this era in the corpus for this topic"
                          + (f" since {self.options.since}" if self.options.since else "") + ".*"]
            for e in members:
                quotes = e.card.innovations or e.card.challenges
                line = (f"- **{md_escape(e.record.title)}** ({e.cite_id}, {(e.record.meta.published or '')[:10]}; "
                        f"theme {e.theme})")
                if quotes:
                    rendered = writer.quote(f"era:{era}", e, quotes[0].text, quotes[0].page, claims, words=40)
                    if rendered:
                        line += f": {rendered}"
                lines.append(line)
            out[f"era:{era}"] = {"md": "\n".join(lines), "claims": claims}
        # 4. Advancements by theme
        by_pid = {e.pid: e for e in entries}
        for theme in themes:
            members = sorted((by_pid[p] for p in theme.papers),
                             key=lambda e: (e.record.meta.published or "9999", e.pid))
            lines = [f"### 4.{theme.index} Theme: {md_escape(theme.name)}", ""]
            paragraph = sections[f"theme:{theme.index}"].get("md") or ""
            if paragraph:
                lines += [paragraph, ""]
            for e in members:
                lines += [sections[f"paper:{e.pid}"]["md"], ""]
            out[f"theme-block:{theme.index}"] = {"md": "\n".join(lines), "claims": []}
        # 5. Comparison table
        claims = []
        rows = []
        for e in sorted(entries, key=lambda e: (e.theme, e.record.meta.published or "9999", e.pid)):
            change = ""
            if e.card.innovations:
                q = e.card.innovations[0]
                change = writer.quote("comparison", e, q.text, q.page, claims, words=CELL_WORDS) or ""
            headline = ""
            picked = pick_headline(e.card.metrics)
            if picked:
                headline = writer.quote("comparison", e, picked[0], picked[1], claims, words=CELL_WORDS) or ""
            datasets = md_escape(", ".join(e.card.dataset_names[:4])) or "—"
            rows.append([f"{md_escape(_short_title(e.record.title))} ({e.cite_id})", str(e.year or "n.d."),
                         str(e.theme), change or "—", datasets, headline or "—"])
        out["comparison"] = {"md": "\n".join(["## 5. Comparison across advancements", "",
                                              md_table(["Paper", "Year", "Theme", "What changes", "Datasets",
                                                        "Headline number"], rows)]), "claims": claims}
        # 6. Challenges and next steps
        claims = []
        lines = ["## 6. Key challenges and next steps", ""]
        paragraph = sections["next-steps"].get("md") or ""
        if paragraph:
            lines += [paragraph, ""]
        recent_first = sorted(entries, key=lambda e: (e.record.meta.published or "", e.pid), reverse=True)
        for label, name in (("Remaining challenges (stated limitations)", "limitations"),
                            ("Next steps (stated future work)", "future_work")):
            items = []
            for e in recent_first:
                for q in getattr(e.card, name)[:1]:
                    rendered = writer.quote("challenges", e, q.text, q.page, claims)
                    if rendered:
                        items.append(f"- {rendered} — *{md_escape(_short_title(e.record.title))}, "
                                     f"{e.year or 'n.d.'}*")
            lines += [f"### {label}", ""]
            lines += (items or ["*None of the surveyed papers states this in text the extractor found.*"]) + [""]
        out["challenges"] = {"md": "\n".join(lines), "claims": claims}
        # 7. References
        lines = ["## 7. References", ""]
        for e in sorted(entries, key=lambda e: e.key):
            meta = e.record.meta
            authors = ", ".join(meta.authors[:3]) + (" et al." if len(meta.authors) > 3 else "")
            link = (f"arXiv:{e.cite_id}" + (f"v{e.record.version}" if e.record.version else "")
                    + f" — [https://arxiv.org/abs/{e.cite_id}](https://arxiv.org/abs/{e.cite_id})"
                    if e.record.arxiv_id else "no arXiv identifier (metadata from the PDF)")
            lines.append(f"- `{e.key}` {md_escape(authors or 'unknown authors')} ({e.year or 'n.d.'}). "
                         f"*{md_escape(meta.title or e.pid)}*. {link}")
        lines += ["", "BibTeX: references.bib."]
        out["references"] = {"md": "\n".join(lines), "claims": []}
        return out

    def _markdown(self, stamp: str, catalog: Catalog, records: list[PaperRecord], entries: list[Entry],
                  skipped: list[dict], sections: dict[str, dict], summary: dict, changes: dict | None, llm,
                  writer: _Writer) -> str:
        topic = self.topic
        out: list[str] = [f"# Survey: {md_escape(topic.title)}", ""]
        years = sorted({e.year for e in entries if e.year})
        counts = {era: sum(1 for e in entries if e.era == era) for era in ("traditional", "recent", "undated")}
        out += ["## 1. Scope", ""]
        out.append(f"- **Topic:** {md_escape(topic.name)} — {md_escape(topic.description)}")
        span = f"{years[0]}–{years[-1]}" if years else "no dates"
        out.append(f"- **Papers considered:** {len(entries)} ({span}); {counts['traditional']} before 2024, "
                   f"{counts['recent']} from 2024 on" + (f", {counts['undated']} undated" if counts["undated"] else "")
                   + f". The corpus holds {len(records)} paper{'s' if len(records) != 1 else ''} on this topic"
                   + (f" since {self.options.since}" if self.options.since else "")
                   + (f"; the {self.options.max_papers} most relevant are surveyed"
                      if len(records) > self.options.max_papers else "") + ".")
        out.append(f"- **Corpus snapshot:** content hash `{catalog.content_hash()}`, {len(catalog.papers())} papers; "
                   f"survey {stamp}.")
        out.append(f"- **Writer:** {md_escape(writer.model_name)}"
                   + (" (extractive: every statement is a verbatim quote)" if llm is None else
                      "; every generated sentence was checked against its cited page") + ".")
        out.append(f"- **Checked citations:** {summary['supported']} of {summary['cited']} cited sentences are "
                   f"supported by their cited page ({summary['supported_share']:.1%}); "
                   f"{summary['rewritten']} rewritten from quotes, {summary['dropped']} dropped (see support.json).")
        out.append("- **Eras** are decided by each paper's first arXiv version date: Traditional SOTA before "
                   "2024-01-01, Recent trends on or after.")
        for warning in self.warnings:
            out.append(f"- **Note:** {md_escape(warning)}")
        for s in skipped:
            out.append(f"- **Skipped:** {md_escape(s['title'])} ({s['paper_id']}): {md_escape(s['note'])}")
        out.append("")
        if changes:
            out += self._changes_md(changes)
        out += [sections["era:traditional"]["md"], "", sections["era:recent"]["md"], ""]
        out += ["## 4. Advancements by theme", ""]
        for sid in sorted((k for k in sections if k.startswith("theme-block:")), key=lambda k: int(k.split(":")[1])):
            out += [sections[sid]["md"], ""]
        for sid in ("comparison", "challenges", "references"):
            out += [sections[sid]["md"], ""]
        return "\n".join(out)

    def _changes_md(self, changes: dict) -> list[str]:
        out = [f"## What changed since {changes['since']}", ""]
        if changes["new_papers"]:
            out.append("- **New papers:** " + "; ".join(f"{md_escape(p['title'])} ({p['arxiv_id']})"
                                                         for p in changes["new_papers"]))
        else:
            out.append("- **New papers:** none")
        if changes["removed_papers"]:
            out.append("- **No longer included:** " + "; ".join(f"{md_escape(p['title'])} ({p['arxiv_id']})"
                                                                for p in changes["removed_papers"]))
        out.append("- **Sections added:** " + (", ".join(changes["sections_added"]) or "none"))
        out.append("- **Sections rewritten:** " + (", ".join(changes["sections_rewritten"]) or "none"))
        out.append(f"- **Claims whose support changed:** {len(changes['support_changed'])}"
                   + (" — " + "; ".join(f"“{md_escape(c['text'][:80])}” ({c['was']} → {c['now']})"
                                        for c in changes["support_changed"][:8]) if changes["support_changed"] else ""))
        out.append(f"- **New claims:** {changes['claims_added']}; **claims no longer made:** {changes['claims_removed']}")
        out.append("")
        return out


def _short_title(title: str) -> str:
    head = title.split(":")[0].strip()
    if 3 <= len(head) <= 60:
        return head
    short, cut = trim_words(title, 8)
    return short + ("…" if cut else "")


def _is_equation_image(name: str) -> bool:
    return name.startswith("eq")


def _assets_dir(settings: Settings, pid: str) -> Path:
    from surveyor.evidence.cards import assets_dir

    return assets_dir(settings, pid)


def _extractor_version() -> str:
    from surveyor.evidence.cards import EXTRACTOR_VERSION

    return EXTRACTOR_VERSION


_RESULT_WORDS = re.compile(r"accura|improv|outperform|achiev|surpass|gain|score|F1|BLEU|WER|pass@|top-1|"
                           r"win rate|better|reduc|faster|speed", re.I)


def headline_score(clause: str) -> float:
    """How much a clause reads like a headline result: a percentage, a result verb, a number."""
    return (2.0 * bool(re.search(r"\d\s?%", clause)) + 1.0 * bool(_RESULT_WORDS.search(clause))
            + 0.5 * bool(_RESULT_NUMBER.search(clause)))


def headline_clause(text: str) -> str | None:
    """The clause of a results sentence that best carries a result number (verbatim), or None."""
    if not _RESULT_NUMBER.search(text):
        return None
    clauses = [c.rstrip(",;:") for c in re.split(r"(?<=[,;:])\s+", collapse(text))
               if _RESULT_NUMBER.search(c) and len(c.split()) >= 5]
    if not clauses:
        return collapse(text)
    return max(clauses, key=lambda c: (headline_score(c), -clauses.index(c)))


def pick_headline(quotes) -> tuple[str, int] | None:
    """(clause, page) of the best headline result among a card's metric quotes."""
    best = None
    for rank, q in enumerate(quotes[:4]):
        clause = headline_clause(q.text)
        if clause:
            key = (headline_score(clause), -rank)
            if best is None or key > best[0]:
                best = (key, clause, q.page)
    return (best[1], best[2]) if best else None


def support_summary(claims: list[dict]) -> dict[str, Any]:
    shipped = [c for c in claims if c["action"] != "dropped" and c["origin"] != "equation"]
    generated = [c for c in claims if c["origin"] in ("generated", "rewritten")]
    supported = sum(1 for c in shipped if c["supported"])
    return {
        "cited": len(shipped),
        "supported": supported,
        "supported_share": round(supported / len(shipped), 4) if shipped else 1.0,
        "quotes": sum(1 for c in shipped if c["origin"] == "quote"),
        "generated": len(generated),
        "generated_supported_as_written": sum(1 for c in generated if c["origin"] == "generated" and c["supported"]),
        "rewritten": sum(1 for c in claims if c["action"] == "rewritten"),
        "dropped": sum(1 for c in claims if c["action"] == "dropped"),
        "equations": sum(1 for c in claims if c["origin"] == "equation"),
    }


def what_changed(prev_dir: Path | None, prev_run: dict | None, prev_support: dict | None, entries: list[Entry],
                 sections: dict[str, dict], claims: list[dict]) -> dict | None:
    if prev_dir is None or prev_run is None:
        return None
    old_papers = {p["paper_id"]: p for p in prev_run.get("papers", [])}
    now = {e.pid: e for e in entries}
    new_papers = [{"arxiv_id": e.cite_id, "title": e.record.title} for pid, e in now.items() if pid not in old_papers]
    removed = [{"arxiv_id": p.get("arxiv_id") or pid, "title": pid} for pid, p in old_papers.items() if pid not in now]
    old_sections = prev_run.get("sections", {})
    own = [sid for sid in sections if not sid.startswith("theme-block:")]  # blocks only gather other sections
    added = [sid for sid in own if sid not in old_sections]
    rewritten = [sid for sid in own if sid in old_sections and old_sections[sid] != _hash(sections[sid].get("md", ""))]
    old_claims = {(c["paper_id"], c["page"], c["text"]): c for c in (prev_support or {}).get("claims", [])}
    new_claims = {(c["paper_id"], c["page"], c["text"]): c for c in claims}
    changed = [{"text": k[2], "paper": k[0], "page": k[1],
                "was": "supported" if old_claims[k]["supported"] else "unsupported",
                "now": "supported" if c["supported"] else "unsupported"}
               for k, c in new_claims.items() if k in old_claims and old_claims[k]["supported"] != c["supported"]]
    return {"since": prev_dir.name, "new_papers": new_papers, "removed_papers": removed,
            "sections_added": added, "sections_rewritten": rewritten, "support_changed": changed,
            "claims_added": sum(1 for k in new_claims if k not in old_claims),
            "claims_removed": sum(1 for k in old_claims if k not in new_claims)}


def build_survey(settings: Settings, topic: str, options: SurveyOptions | None = None,
                 say: Say | None = None) -> SurveyResult:
    """Write a survey of `topic` (name or alias) and return where it went and what it holds."""
    return SurveyBuilder(settings, topic, options, say).run()
