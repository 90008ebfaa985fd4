"""Weekly digest: the window's papers, picked for the user's interests, five fields deep.

    result = build_digest(settings, since=date(2025, 1, 20), until=date(2025, 1, 26), n=5)
    result.picks[0].fields["math"]        # the paper's key equation, cited
    result.message                        # what was found, left out, and why

Rules, each enforced in code, not left to a model:

* Window. A paper is a candidate only when its first arXiv version was submitted inside
  [since, until] (UTC days, inclusive), by its metadata date (arXiv API, metadata.jsonl or
  the v1 stamp printed in the PDF). A date known only to the month (taken from the
  arXiv id's YYMM) cannot place a paper inside a week: such papers are left out and the
  message says so. A paper outside the window never appears.
* Relevance. Each candidate is scored against each chosen interest (topic): embedding
  similarity of title+abstract (weight 0.7) and of its evidence card's key sentences
  (0.3) to the topic profile, plus the topic's key terms (see topic_match). Only scores at
  or above TOPIC_THRESHOLD count: nothing else is ever used to fill the digest.
* Diversity. Picks are chosen greedily: best score, minus a penalty per pick already
  serving the same interest and for similarity to papers already picked. Each pick
  names the interest it serves and one deterministic line saying why (the topic's key
  terms found in its title/abstract, and the score).
* History. `<home>/digests/history.json` records the arXiv ids featured per window.
  A paper featured in another window's digest is not picked again (`allow_repeats`
  overrides); re-running the same window is not a repeat of itself.
* Fields. Challenges, advancement and key innovation, math (key equation: crop, text,
  LaTeX where known, page and number), architecture (with the architecture figure),
  training, evaluation datasets and metrics: quotes from the evidence card, each cited
  `[id p.N]` and checked with verify.check_support against the cited page; a sentence
  that fails is dropped. With a generator, one short advancement summary is written;
  each of its sentences must pass the checker against the quotes it was given, or is
  replaced by the closest quote.
* Surveys. When surveys/<topic>/latest/survey.md exists for a matching topic, a
  "Relates to" line names the survey section most similar to the paper.

Files: digests/<label>.md, .html, .json and .run.json, where label is the week's Monday
(YYYY-MM-DD) for a Monday–Sunday window, else <since>_<until>. Images used by the
digest are copied to digests/assets/<label>/ so the folder stands on its own.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from surveyor.errors import InputError
from surveyor.grounding import Citation, PageTexts, check_cited, format_citation
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.index.topic_match import TOPIC_THRESHOLD, score_texts
from surveyor.settings import Settings
from surveyor.topics import Topic, all_topics, resolve_topics

DEFAULT_N = 5
MAX_N = 20
ABSTRACT_WEIGHT = 0.7          # title+abstract vs card sentences in the relevance score
TOPIC_PENALTY = 0.08           # per pick already serving the same interest (diversity across topics)
SIMILARITY_PENALTY = 0.15      # times the cosine to the most similar paper already picked
SHORTLIST_FACTOR = 3           # cards are built for at most n * this many candidates
QUOTES_PER_FIELD = 2
MAX_AUTHORS_SHOWN = 8
HISTORY_FILE = "history.json"

# Sources of `published` that give the first version's day (see ingest.identify). A PDF stamp
# gives it only on a v1; "arxiv id (month)" gives the month alone.
_DAY_SOURCES = {"arxiv", "metadata.jsonl", "pdf"}

FIELD_TITLES = {
    "challenges": "Challenges",
    "innovation": "Advancement and key innovation",
    "math": "Math formula",
    "architecture": "Architecture changes",
    "training": "Training",
    "datasets_metrics": "Evaluation datasets and metrics",
}


# --------------------------------------------------------------------------- windows


def week_of(day: date) -> tuple[date, date]:
    """The Monday–Sunday (UTC) week containing `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def resolve_window(week: date | None = None, since: date | None = None, until: date | None = None,
                   today: date | None = None) -> tuple[date, date]:
    """--week wins alone; --since/--until may come alone or together; nothing at all = this week."""
    if week is not None:
        if since is not None or until is not None:
            raise InputError("give either --week or --since/--until, not both")
        return week_of(week)
    today = today or datetime.now(timezone.utc).date()
    if since is None and until is None:
        return week_of(today)
    if since is None:
        since = until - timedelta(days=6)
    if until is None:
        until = max(since, today)
    if since > until:
        raise InputError(f"--since {since} is after --until {until}")
    return since, until


def window_label(since: date, until: date) -> str:
    """The week's Monday for a Monday–Sunday window, else '<since>_<until>'."""
    if since.weekday() == 0 and until == since + timedelta(days=6):
        return since.isoformat()
    return f"{since.isoformat()}_{until.isoformat()}"


def date_precision(record: PaperRecord) -> str | None:
    """'day' when the first version's day is known, 'month' when only its month, None without a date."""
    meta = record.meta
    if not meta.published:
        return None
    source = meta.sources.get("published", "")
    if source == "pdf" and (meta.version or 1) > 1:
        return "later-version"  # the stamp of a v2+ dates that version, not the first
    if source in _DAY_SOURCES:
        return "day"
    return "month"


def first_version_day(record: PaperRecord) -> date | None:
    published = record.meta.published_date()
    return published.date() if published else None


def window_papers(papers: list[PaperRecord], since: date, until: date) -> tuple[list[PaperRecord], list[PaperRecord]]:
    """(papers first submitted inside the window, papers that might be but whose day is unknown)."""
    inside, uncertain = [], []
    for record in papers:
        day = first_version_day(record)
        if day is None:
            continue
        precision = date_precision(record)
        if precision == "day":
            if since <= day <= until:
                inside.append(record)
        elif precision == "month":
            # The month [first, last] overlaps the window: it might be inside, nobody knows.
            first = day.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            if first <= until and last >= since:
                uncertain.append(record)
        elif since - timedelta(days=400) <= day <= until:
            uncertain.append(record)  # a later version's date: the first was earlier, by how much is unknown
    return inside, uncertain


# --------------------------------------------------------------------------- history


class History:
    """arXiv ids featured per window, in <digests>/history.json (written atomically, under a lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        from surveyor.files import read_json

        data = read_json(self.path)
        if not isinstance(data, dict) or not isinstance(data.get("windows"), dict):
            return {"version": 1, "windows": {}}
        return data

    def featured_elsewhere(self, key: str) -> dict[str, str]:
        """id -> the window that featured it, for every window other than `key`."""
        out: dict[str, str] = {}
        for other, entry in sorted(self.load()["windows"].items()):
            if other == key:
                continue
            for pid in entry.get("featured", entry.get("picks", [])):
                out.setdefault(pid, other)
        return out

    def picks_of(self, key: str) -> list[str]:
        return list(self.load()["windows"].get(key, {}).get("picks", []))

    def record(self, key: str, since: date, until: date, picks: list[str]) -> None:
        from filelock import FileLock

        from surveyor.files import atomic_write_json
        from surveyor.render.runinfo import utc_now_iso

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path.with_suffix(".lock")), timeout=30):
            data = self.load()
            entry = data["windows"].get(key, {})
            featured = list(dict.fromkeys(entry.get("featured", []) + picks))
            data["windows"][key] = {"since": since.isoformat(), "until": until.isoformat(), "picks": picks,
                                    "featured": featured, "updated": utc_now_iso()}
            atomic_write_json(self.path, data)


# --------------------------------------------------------------------------- results


@dataclass
class Pick:
    record: PaperRecord
    topic: Topic
    score: float
    scores: dict[str, float]
    why: str
    fields: dict[str, str] = field(default_factory=dict)
    equation: dict | None = None
    figure: dict | None = None
    relates_to: list[dict] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""

    @property
    def arxiv_id(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    def to_json(self) -> dict[str, Any]:
        meta = self.record.meta
        return {
            "arxiv_id": self.arxiv_id,
            "title": meta.title or self.record.paper_id,
            "authors": meta.authors,
            "published": meta.published,
            "url": f"https://arxiv.org/abs/{self.record.arxiv_id}" if self.record.arxiv_id else None,
            "interest": self.topic.name,
            "interest_title": self.topic.title,
            "score": round(self.score, 4),
            "why": self.why,
            "fields": dict(self.fields),
            "equation": self.equation,
            "figure": self.figure,
            "relates_to": self.relates_to,
            "checks": self.checks,
        }


@dataclass
class DigestResult:
    since: date
    until: date
    label: str
    topics: list[Topic]
    n: int
    picks: list[Pick]
    message: str
    candidates: list[str]
    uncertain: list[str]
    skipped_repeats: dict[str, str]
    not_relevant: list[str]
    fetch: dict | None = None
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    llm: str = "none"
    image_copies: dict[str, str] = field(default_factory=dict)  # asset path -> copy relative to the digest

    def to_json(self) -> dict[str, Any]:
        picks = [p.to_json() for p in self.picks]
        for pick in picks:  # once written, images are named by their copies beside the digest
            for key in ("equation", "figure"):
                item = pick.get(key)
                if item and item.get("image") in self.image_copies:
                    pick[key] = dict(item, image=self.image_copies[item["image"]], source_image=item["image"])
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "label": self.label,
            "interests": [t.name for t in self.topics],
            "n": self.n,
            "picks": picks,
            "message": self.message,
            "candidates": self.candidates,
            "left_out": {"date_only_month": self.uncertain, "featured_before": self.skipped_repeats,
                         "not_matching_interests": self.not_relevant},
            "fetch": self.fetch,
            "llm": self.llm,
            "files": self.files,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def cited_checks(self) -> tuple[int, int]:
        """(cited sentences checked, of which supported), over all picks, before unsupported ones were dropped."""
        return (sum(p.checks.get("cited", 0) for p in self.picks),
                sum(p.checks.get("supported", 0) for p in self.picks))


# --------------------------------------------------------------------------- ranking


def _abstract_text(record: PaperRecord, catalog: Catalog) -> str:
    from surveyor.index.topic_match import paper_profile_text

    fallback = ""
    if not record.meta.abstract:
        fallback = " ".join(c.text for c in catalog.chunks(record.paper_id)[:3])
    return paper_profile_text(record.meta.title, record.meta.abstract, fallback)


def _card_text(card) -> str:
    if card is None:
        return ""
    parts = [q.text for q in card.innovations[:3]] + [q.text for q in card.challenges[:2]] + \
            [q.text for q in card.architecture[:2]]
    return " ".join(parts)




def why_line(topic: Topic, record: PaperRecord, score: float) -> str:
    """One grounded line: which of the topic's key terms the title/abstract contain, and the score."""
    text = f"{record.meta.title or ''}. {record.meta.abstract or ''}"
    lowered = text.lower()
    found = [term for term in topic.key_terms if re.search(rf"\b{re.escape(term.lower())}", lowered)]
    where = "title/abstract" if record.meta.abstract else "title"
    if found:
        terms = ", ".join(f'"{t}"' for t in found[:5])
        return f"Serves {topic.title}: its {where} mentions {terms} (relevance {score:.2f})."
    return (f"Serves {topic.title}: its {where} is closest to this interest's profile "
            f"(relevance {score:.2f}), though none of the interest's key terms appears verbatim.")


def select(scored: list[tuple[PaperRecord, dict[str, float]]], vectors: dict[str, Any], topics: list[Topic],
           n: int, threshold: float = TOPIC_THRESHOLD) -> list[tuple[PaperRecord, Topic, float]]:
    """Greedy diverse selection: each step takes the (paper, interest) with the best adjusted score."""
    import numpy as np

    served: dict[str, int] = {t.name: 0 for t in topics}
    chosen: list[tuple[PaperRecord, Topic, float]] = []
    remaining = [(r, s) for r, s in scored if max((s[t.name] for t in topics), default=0.0) >= threshold]
    while remaining and len(chosen) < n:
        best = None
        for index, (record, scores) in enumerate(remaining):
            overlap = 0.0
            if chosen:
                vec = vectors[record.paper_id]
                overlap = max(float(np.dot(vec, vectors[c[0].paper_id])) for c in chosen)
            for topic in topics:
                raw = scores[topic.name]
                if raw < threshold:
                    continue
                value = raw - TOPIC_PENALTY * served[topic.name] - SIMILARITY_PENALTY * max(overlap, 0.0)
                key = (value, raw, record.meta.published or "", record.paper_id)
                if best is None or key > best[0]:
                    best = (key, index, topic, raw)
        if best is None:
            break
        _, index, topic, raw = best
        record, _ = remaining.pop(index)
        served[topic.name] += 1
        chosen.append((record, topic, raw))
    return chosen


# --------------------------------------------------------------------------- fields


class _Checker:
    """Cites and checks sentences against their page; counts what passed."""

    def __init__(self, settings: Settings, catalog: Catalog, record: PaperRecord):
        from surveyor.index.embedder import get_embedder

        self.record = record
        self.embedder = get_embedder(settings.embedding)
        self.pages = PageTexts(catalog)
        self.cited = 0
        self.supported = 0
        self.dropped: list[dict] = []

    @property
    def pid(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    def page(self, number: int) -> str:
        return self.pages.text(self.record.paper_id, number) or ""

    def cite(self, sentence: str, page: int, evidence: str | None = None, verbatim: bool = True) -> str | None:
        """'sentence [id p.N]' when grounding.check_cited passes, else None (and the sentence is noted as dropped).

        A verbatim quote must be on page N; a generated sentence (verbatim=False) is checked with the
        embedder against `evidence`, the quotes it was written from, which are themselves on page N."""
        self.cited += 1
        claim = sentence.strip("\u201c\u201d") if verbatim else sentence
        verdict = check_cited(claim, Citation(self.record.paper_id, page), self.pages,
                              None if verbatim else self.embedder, evidence=None if verbatim else evidence,
                              verbatim=verbatim)
        if verdict.supported:
            self.supported += 1
            return f"{sentence} {format_citation(self.pid, page)}"
        self.dropped.append({"sentence": sentence, "page": page, "reasons": verdict.reasons})
        return None

    def quote(self, q) -> str | None:
        return self.cite(f"\u201c{_clean(q.text)}\u201d", q.page)

    def quotes(self, quotes, limit: int = QUOTES_PER_FIELD) -> list[str]:
        out = []
        for q in quotes:
            if len(out) >= limit:
                break
            cited = self.quote(q)
            if cited:
                out.append(cited)
        return out


def _clean(text: str) -> str:
    return " ".join(text.split())


def _absent(what: str) -> str:
    return f"Not found: the paper's evidence card has no {what} passage."


def _math_field(checker: _Checker, card, assets: Path) -> tuple[str, dict | None]:
    if card is None or not card.equations:
        return _absent("display equation"), None
    eq = card.equations[0]
    number = eq.get("number")
    label = f"Eq. ({number})" if number else "Unnumbered display equation"
    text = _clean(eq.get("text") or "")
    why = eq.get("why") or []
    reason = f" (key equation: {', '.join(why[:4])})" if why else ""
    lead = f"{label} on p.{eq['page']}{reason} {format_citation(checker.pid, eq['page'])}"
    context = eq.get("context") or {}
    cited_context = []
    for key in ("intro", "where"):
        sentence = _clean(context.get(key) or "")
        if len(sentence) >= 25:
            cited = checker.cite(f"\u201c{sentence}\u201d", eq["page"])
            if cited:
                cited_context.append(cited)
    image = eq.get("image")
    info = {"number": number, "page": eq["page"], "text": text, "latex": eq.get("latex"),
            "image": str(assets / image) if image and (assets / image).is_file() else None,
            "why": eq.get("why"), "context": context, "lead": lead, "cited_context": cited_context}
    latex = f" LaTeX: {eq['latex']}" if eq.get("latex") else ""
    return " ".join([f"{lead}: {text}{latex}"] + cited_context), info


def _architecture_figure(card, assets: Path) -> dict | None:
    if card is None:
        return None
    for fig in card.figures:
        if fig.get("is_architecture") and fig.get("image") and (assets / fig["image"]).is_file():
            return {"number": fig.get("number"), "page": fig.get("page"), "caption": _clean(fig.get("caption") or ""),
                    "image": str(assets / fig["image"])}
    return None


def _datasets_metrics(checker: _Checker, card) -> str:
    if card is None:
        return _absent("dataset or metric")
    from surveyor.evidence.datasets import result_numbers

    metrics = sorted(card.metrics, key=lambda q: -len(result_numbers(q.text)))  # numbers first (stable)
    parts = checker.quotes(card.datasets, 1) + checker.quotes(metrics, 2)
    names = [name for name in card.dataset_names if len(name) > 2][:10]
    if names:
        parts.append("Datasets/benchmarks named in the paper's evidence: " + ", ".join(names) + ".")
    return " ".join(parts) if parts else _absent("dataset or metric")


def _advancement_summary(llm, checker: _Checker, record: PaperRecord, quotes) -> tuple[str | None, dict]:
    """One or two generated sentences, each checked against the quotes; failures replaced by the closest quote."""
    from surveyor.grounding import best_support
    from surveyor.textnorm import split_sentences
    from surveyor.write.prompts import load_prompt

    info: dict[str, Any] = {"generated": 0, "kept": 0, "replaced": 0}
    if llm is None or not quotes:
        return None, info
    prompt = load_prompt("digest_advancement")
    evidence = "\n".join(f"- {_clean(q.text)}" for q in quotes)
    system, user = prompt.render(title=record.meta.title or record.paper_id, evidence=evidence)
    reply = llm.chat(system, user, max_tokens=120, stop=["\n\n"])
    sentences = [s for s in split_sentences(reply) if len(s) >= 20][:2]
    out: list[str] = []
    used_pages: set[tuple[int, str]] = set()
    for sentence in sentences:
        info["generated"] += 1
        passage, verdict = best_support(sentence, list(quotes), checker.embedder)
        if verdict.supported and passage is not None:
            cited = checker.cite(sentence, passage.page, evidence=passage.text, verbatim=False)
            if cited:
                info["kept"] += 1
                out.append(cited)
                continue
        info["replaced"] += 1
        if passage is None:
            continue
        key = (passage.page, passage.text)
        if key not in used_pages:
            used_pages.add(key)
            cited = checker.quote(passage)
            if cited:
                out.append(cited)
    return (" ".join(out) or None), info


def build_fields(settings: Settings, catalog: Catalog, record: PaperRecord, card, llm=None) -> tuple[dict, dict | None, dict | None, dict]:
    """The six fields of one pick (cited, checked), its key equation, architecture figure and check counts."""
    from surveyor.evidence.cards import assets_dir

    checker = _Checker(settings, catalog, record)
    assets = assets_dir(settings, record.paper_id)
    fields: dict[str, str] = {}
    if card is None or card.is_empty():
        note = (card.note if card is not None and card.note else "no evidence card")
        for name in FIELD_TITLES:
            fields[name] = f"Not available: {note}."
        return fields, None, None, {"cited": 0, "supported": 0, "dropped": []}

    fields["challenges"] = " ".join(checker.quotes(card.challenges)) or _absent("challenge")
    summary, gen = _advancement_summary(llm, checker, record, card.innovations[:3])
    innovation = checker.quotes(card.innovations)
    if summary:
        fields["innovation"] = summary + (" " + innovation[0] if innovation and innovation[0] not in summary else "")
    else:
        fields["innovation"] = " ".join(innovation) or _absent("contribution")
    fields["math"], equation = _math_field(checker, card, assets)
    figure = _architecture_figure(card, assets)
    arch = checker.quotes(card.architecture)
    if figure is not None:
        arch.append(f"Architecture figure: Figure {figure['number']} on p.{figure['page']}."
                    if figure.get("number") else f"Architecture figure on p.{figure['page']}.")
    fields["architecture"] = " ".join(arch) or _absent("architecture")
    fields["training"] = " ".join(checker.quotes(card.training)) or _absent("training")
    fields["datasets_metrics"] = _datasets_metrics(checker, card)
    checks = {"cited": checker.cited, "supported": checker.supported, "dropped": checker.dropped}
    if llm is not None:
        checks["generated"] = gen
    return fields, equation, figure, checks


# --------------------------------------------------------------------------- surveys


_SKIP_SECTIONS = re.compile(r"scope|reference|bibliograph|sources|citation|what changed|comparison|about this|"
                            r"run record|contents|appendix|notes?$", re.I)
_THEME_SECTION = re.compile(r"^\d+\.\d+\s+Theme:|^Theme:", re.I)


def survey_sections(path: Path) -> list[tuple[str, str]]:
    """(heading, text) of the sections of a survey.md a new paper can extend.

    A survey (surveyor.survey) groups its papers into themes ('### 4.N Theme: ...'): when it has
    themes, those are the candidates; otherwise every '##'/'###' section except the scope,
    comparison, change log and references."""
    sections: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        heading = re.match(r"^#{2,3}\s+(.*\S)\s*$", line)
        if heading:
            sections.append((re.sub(r"\\(.)", r"\1", heading.group(1).strip()), []))
        elif sections:
            sections[-1][1].append(line)
    kept = [(h, " ".join(" ".join(body).split())) for h, body in sections if not _SKIP_SECTIONS.search(h)]
    themes = [(h, t) for h, t in kept if _THEME_SECTION.search(h)]
    return themes or kept


def relates_to(settings: Settings, record_vec, topics: list[Topic], cache: dict) -> list[dict]:
    """For each topic with a published survey: the section whose text is closest to the paper."""
    import numpy as np

    from surveyor.index.embedder import get_embedder
    from surveyor.render.runinfo import latest_dir

    out = []
    for topic in topics:
        if topic.name not in cache:
            folder = latest_dir(settings.surveys_dir / topic.name)
            survey = folder / "survey.md" if folder else None
            sections = survey_sections(survey) if survey and survey.is_file() else []
            vecs = None
            if sections:
                vecs = get_embedder(settings.embedding).embed([f"{h}. {t[:800]}" for h, t in sections])
            cache[topic.name] = (survey, sections, vecs)
        survey, sections, vecs = cache[topic.name]
        if not sections:
            continue
        sims = vecs @ record_vec
        best = int(np.argmax(sims))
        out.append({"topic": topic.name, "survey": str(survey), "section": sections[best][0],
                    "similarity": round(float(sims[best]), 3)})
    return out


# --------------------------------------------------------------------------- the digest


def _short_list(ids: list[str], limit: int = 6) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _message(picked: int, n: int, since: date, until: date, inside: int, relevant: int,
             uncertain: list[str], repeats: dict[str, str], not_relevant: list[str], topics: list[Topic]) -> str:
    window = f"{since.isoformat()} to {until.isoformat()} (UTC)"
    interests = "your interests" if len(topics) == len(all_topics()) else "the chosen interests (" + \
        ", ".join(t.name for t in topics) + ")"
    lines = []
    if inside == 0:
        lines.append(f"The window {window} has no matching papers: no paper in the corpus is known to have "
                     f"been first submitted to arXiv in it.")
    elif picked == 0 and relevant == 0 and not repeats:
        lines.append(f"The window {window} has no matching papers: {inside} paper(s) were first submitted "
                     f"in it, none relevant to {interests}.")
    elif picked == 0:
        lines.append(f"The window {window} has no new matching papers: its papers were featured in earlier "
                     f"digests" + (" or do not match " + interests if not_relevant else "") + ".")
    elif picked < n:
        lines.append(f"Only {picked} of the {n} requested papers: that is every paper first submitted "
                     f"{window} that matches {interests}" + (" and was not featured before" if repeats else "") + ".")
    else:
        lines.append(f"{picked} papers first submitted {window}, picked for {interests}.")
    if repeats:
        lines.append(f"Left out as featured in earlier digests: {_short_list(sorted(repeats))} "
                     "(--allow-repeats includes them).")
    if not_relevant:
        lines.append(f"Not matching {interests}: {_short_list(not_relevant)}.")
    if uncertain:
        lines.append(f"Left out because their first-version date is known only to the month (or only a later "
                     f"version's date is known), so they cannot be placed inside the window: {_short_list(uncertain)}.")
    return " ".join(lines)


def build_digest(settings: Settings, since: date, until: date, n: int = DEFAULT_N, topics: list[str] | None = None,
                 llm_spec: str | None = "none", allow_repeats: bool = False,
                 history_path: Path | None = None, progress=None, fetch_report: dict | None = None) -> DigestResult:
    """Select and write up the window's papers from the corpus as it is (fetching is the caller's:
    surveyor.api.digest). Writes no digest files and records no history (see write_digest and
    record_history); `fetch_report` is shown in the digest when the caller fetched first."""
    from surveyor.evidence.cards import get_card
    from surveyor.render.runinfo import Timer

    if not 1 <= n <= MAX_N:
        raise InputError(f"--n must be between 1 and {MAX_N}, got {n}")
    if since > until:
        raise InputError(f"--since {since} is after --until {until}")
    say = progress or (lambda msg: None)
    chosen_topics = resolve_topics(topics)
    label = window_label(since, until)
    history = History(history_path or settings.digests_dir / HISTORY_FILE)
    timer = Timer()
    llm = None
    wants_llm = llm_spec not in (None, "none") or (llm_spec is None and settings.llm.backend != "none")

    catalog = Catalog(settings.index_dir)
    try:
        with timer("select"):
            inside, uncertain_records = window_papers(catalog.papers(), since, until)
            featured = {} if allow_repeats else history.featured_elsewhere(label)
            repeats = {r.arxiv_id or r.paper_id: featured[r.arxiv_id or r.paper_id] for r in inside
                       if (r.arxiv_id or r.paper_id) in featured}
            fresh = [r for r in inside if (r.arxiv_id or r.paper_id) not in repeats]
            # First pass on title+abstract; cards for a shortlist only.
            texts = [_abstract_text(r, catalog) for r in fresh]
            abstract_scores, abstract_vecs = score_texts(settings, texts, chosen_topics)
            order = sorted(range(len(fresh)), key=lambda i: (-max(abstract_scores[i].values(), default=0.0),
                                                             fresh[i].paper_id))
            shortlist = set(order[:n * SHORTLIST_FACTOR])
        cards: dict[str, Any] = {}
        with timer("cards"):
            for i in sorted(shortlist):
                say(f"evidence card for {fresh[i].paper_id}")
                try:
                    cards[fresh[i].paper_id] = get_card(settings, fresh[i].paper_id, catalog)
                except ImportError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a paper without a card is still a paper
                    say(f"no evidence card for {fresh[i].paper_id}: {exc}")
                    cards[fresh[i].paper_id] = None
        with timer("rank"):
            card_texts = [(i, _card_text(cards.get(fresh[i].paper_id))) for i in sorted(shortlist)]
            card_texts = [(i, t) for i, t in card_texts if t]
            card_scores, _ = score_texts(settings, [t for _, t in card_texts], chosen_topics)
            combined = [dict(s) for s in abstract_scores]
            for (i, _), cs in zip(card_texts, card_scores):
                combined[i] = {k: ABSTRACT_WEIGHT * abstract_scores[i][k] + (1 - ABSTRACT_WEIGHT) * cs[k]
                               for k in cs}
            scored = [(fresh[i], combined[i]) for i in order if i in shortlist]
            relevant = [r for r, s in scored if max(s.values(), default=0.0) >= TOPIC_THRESHOLD]
            not_relevant = [r.arxiv_id or r.paper_id for i, r in enumerate(fresh)
                            if max(combined[i].values(), default=0.0) < TOPIC_THRESHOLD]
            vectors = {fresh[i].paper_id: abstract_vecs[i] for i in range(len(fresh))}
            selected = select(scored, vectors, chosen_topics, n)
        if selected and wants_llm:  # loaded only when there is something to write up
            from surveyor.write.llm import make_llm

            with timer("llm_load"):
                llm = make_llm(llm_spec, settings.llm)
        picks: list[Pick] = []
        survey_cache: dict = {}
        with timer("fields"):
            for record, topic, score in selected:
                say(f"writing up {record.paper_id}")
                scores = combined[fresh.index(record)]
                pick = Pick(record, topic, score, {k: round(v, 4) for k, v in scores.items()},
                            why_line(topic, record, score))
                pick.fields, pick.equation, pick.figure, pick.checks = build_fields(
                    settings, catalog, record, cards.get(record.paper_id), llm)
                matching = [topic] + [t for t in chosen_topics if t is not topic and scores[t.name] >= TOPIC_THRESHOLD]
                pick.relates_to = relates_to(settings, vectors[record.paper_id], matching, survey_cache)
                picks.append(pick)
        uncertain = [r.arxiv_id or r.paper_id for r in uncertain_records]
        message = _message(len(picks), n, since, until, len(inside), len(relevant), uncertain, repeats,
                           not_relevant, chosen_topics)
        result = DigestResult(since, until, label, chosen_topics, n, picks, message,
                              candidates=[r.arxiv_id or r.paper_id for r in inside], uncertain=uncertain,
                              skipped_repeats=repeats, not_relevant=not_relevant, fetch=fetch_report,
                              llm=getattr(llm, "name", "none") if llm else "none")
        result.timings = dict(timer.seconds)
        result.timings["total"] = timer.total()
        result._catalog_hash = catalog.content_hash()  # type: ignore[attr-defined]
        result._llm = llm  # type: ignore[attr-defined]
        result._paper_records = [p.record for p in picks]  # type: ignore[attr-defined]
        result._history = history  # type: ignore[attr-defined]
        return result
    finally:
        catalog.close()


# --------------------------------------------------------------------------- writing


def _authors(authors: list[str]) -> str:
    if not authors:
        return "authors unknown"
    shown = ", ".join(authors[:MAX_AUTHORS_SHOWN])
    return shown + (f", et al. ({len(authors)} authors)" if len(authors) > MAX_AUTHORS_SHOWN else "")


def render_markdown(result: DigestResult, image_link) -> str:
    """The digest as Markdown; `image_link(path)` turns an asset path into the link written in the file."""
    from surveyor.render.html import md_code, md_escape, md_image, md_math

    lines = [f"# Weekly digest: {result.since.isoformat()} – {result.until.isoformat()}", ""]
    lines.append(f"Papers whose first arXiv version was submitted {result.since.isoformat()} to "
                 f"{result.until.isoformat()} (UTC), by arXiv metadata. Interests: "
                 + md_escape(", ".join(t.title for t in result.topics)) + ".")
    lines += ["", f"> {md_escape(result.message)}", ""]
    for index, pick in enumerate(result.picks, 1):
        meta = pick.record.meta
        lines += [f"## {index}. {md_escape(meta.title or pick.record.paper_id)}", ""]
        link = (f"[arXiv:{pick.record.arxiv_id}](https://arxiv.org/abs/{pick.record.arxiv_id})"
                if pick.record.arxiv_id else f"no arXiv id ({md_escape(pick.record.paper_id)})")
        lines += [f"{md_escape(_authors(meta.authors))} · first version {(meta.published or '')[:10]} · {link}", ""]
        lines.append(f"**Interest:** {md_escape(pick.why)}")
        for rel in pick.relates_to:
            lines += ["", f"Relates to: {md_escape(rel['topic'])} survey — {md_escape(rel['section'])}"]
        lines.append("")
        for name, heading in FIELD_TITLES.items():
            text = pick.fields.get(name, "")
            if name == "math" and pick.equation:  # the equation itself is shown below, crop beside text
                text = " ".join([pick.equation["lead"] + "."] + pick.equation["cited_context"])
            lines += [f"**{heading}.** {md_escape(text)}", ""]
            if name == "math" and pick.equation:
                eq = pick.equation
                source = md_math(eq["latex"]) if eq.get("latex") else md_code(eq.get("text") or "")
                if eq.get("image"):
                    label = f"Eq. ({eq['number']}), p.{eq['page']}" if eq.get("number") else f"Equation, p.{eq['page']}"
                    lines += [md_image(label, image_link(eq["image"])), ""]
                lines += [source, ""]
            if name == "architecture" and pick.figure:
                fig = pick.figure
                label = f"Figure {fig['number']}" if fig.get("number") else "Figure"
                lines += [md_image(f"{label}, p.{fig['page']}", image_link(fig["image"])), ""]
                if fig.get("caption") and _clean(fig["caption"])[:80] not in pick.fields.get("architecture", ""):
                    lines += [f"*{label} (p.{fig['page']}):* {md_escape(fig['caption'])} "
                              + format_citation(pick.arxiv_id, fig['page']), ""]
    if result.picks:
        lines += ["---", "",
                  "Quoted sentences are verbatim from the cited page and were checked against it "
                  "(surveyor.grounding); any that failed the check were left out.", ""]
    return "\n".join(lines)


def write_digest(settings: Settings, result: DigestResult, formats: str = "all", out_dir: Path | None = None,
                 command: str = "surveyor digest") -> dict[str, str]:
    """Write <label>.md/.html/.json and <label>.run.json under `out_dir` (default: <home>/digests)."""
    from surveyor.files import atomic_write_json, atomic_write_text
    from surveyor.render.runinfo import check_writable, run_record

    if formats not in ("md", "html", "all"):
        raise InputError(f"--format must be md, html or all, got {formats!r}")
    out = check_writable(Path(out_dir) if out_dir else settings.digests_dir)
    assets = out / "assets" / result.label
    copied: dict[str, str] = {}

    def image_link(path: str) -> str:
        source = Path(path)
        if path not in copied:
            assets.mkdir(parents=True, exist_ok=True)
            target = assets / f"{_safe(source.parent.name)}-{source.name}"
            shutil.copyfile(source, target)
            copied[path] = os.path.relpath(target, out)
        return copied[path]

    if assets.is_dir():
        shutil.rmtree(assets, ignore_errors=True)
    markdown = render_markdown(result, image_link)
    result.image_copies = dict(copied)
    files: dict[str, str] = {}
    md_path = out / f"{result.label}.md"
    if formats in ("md", "all"):
        atomic_write_text(md_path, markdown)
        files["md"] = str(md_path)
    if formats in ("html", "all"):
        html = _render_html(markdown, out, f"Weekly digest {result.since} – {result.until}")
        if html is not None:
            html_path = out / f"{result.label}.html"
            atomic_write_text(html_path, html)
            files["html"] = str(html_path)
    json_path = out / f"{result.label}.json"
    files["json"] = str(json_path)
    run_path = out / f"{result.label}.run.json"
    files["run"] = str(run_path)
    result.files = files
    atomic_write_json(json_path, result.to_json())
    prompts = {}
    if getattr(result, "_llm", None) is not None:
        from surveyor.write.prompts import load_prompt

        prompts["digest_advancement"] = load_prompt("digest_advancement").sha256
    catalog = Catalog(settings.index_dir)
    try:
        record = run_record(command=command, settings=settings, catalog=catalog,
                            papers=getattr(result, "_paper_records", []), llm=getattr(result, "_llm", None),
                            prompts=prompts, timings=result.timings,
                            extra={"window": {"since": result.since.isoformat(), "until": result.until.isoformat()},
                                   "picks": [p.arxiv_id for p in result.picks], "message": result.message})
    finally:
        catalog.close()
    atomic_write_json(run_path, record)
    return files


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _render_html(markdown: str, assets_root: Path, title: str) -> str | None:
    try:
        from surveyor.render.html import render_html
    except ModuleNotFoundError as exc:
        if exc.name == "surveyor.render":
            return None
        raise
    return render_html(markdown, assets_root, title)


def run_digest(settings: Settings, week: date | None = None, since: date | None = None, until: date | None = None,
               n: int = DEFAULT_N, topics: list[str] | None = None, llm_spec: str | None = "none",
               formats: str = "all", allow_repeats: bool = False, record_history: bool = True,
               out_dir: Path | None = None, history_path: Path | None = None, progress=None,
               fetch_report: dict | None = None) -> DigestResult:
    """Resolve the window, build the digest, write its files and note its picks in the history."""
    if formats not in ("md", "html", "all"):
        raise InputError(f"--format must be md, html or all, got {formats!r}")
    since, until = resolve_window(week, since, until)
    started = time.perf_counter()
    result = build_digest(settings, since, until, n=n, topics=topics, llm_spec=llm_spec,
                          allow_repeats=allow_repeats, history_path=history_path, progress=progress,
                          fetch_report=fetch_report)
    write_digest(settings, result, formats=formats, out_dir=out_dir)
    if record_history:
        record_history_of(result)
    result.timings["total_with_files"] = time.perf_counter() - started
    return result


def record_history_of(result: DigestResult) -> None:
    """Note the digest's picks as featured in its window (done once its files are written)."""
    result._history.record(result.label, result.since, result.until, [p.arxiv_id for p in result.picks])
