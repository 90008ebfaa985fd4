"""The digest, orchestrated: window, selection, fields, files and history, in that order.

build_digest() selects and writes up the window's papers (no files, no history); run_digest()
resolves the window, builds, writes the files and records the picks in the history.
"""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from surveyor.errors import InputError
from surveyor.index.catalog import Catalog
from surveyor.index.topic_match import score_texts
from surveyor.settings import Settings
from surveyor.topics import Topic, all_topics, resolve_topics
from surveyor.write.digest.assemble import write_digest
from surveyor.write.digest.fields import build_fields
from surveyor.write.digest.relates import relates_to
from surveyor.write.digest.result import DigestResult, Pick
from surveyor.write.digest.selection import (
    ABSTRACT_WEIGHT,
    SHORTLIST_FACTOR,
    _abstract_text,
    _card_text,
    select,
    why_line,
)
from surveyor.write.digest.window import HISTORY_FILE, History, resolve_window, window_label, window_papers

DEFAULT_N = 5
MAX_N = 20


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
            relevant = [r for r, s in scored if max(s.values(), default=0.0) >= settings.topics.threshold]
            not_relevant = [r.arxiv_id or r.paper_id for i, r in enumerate(fresh)
                            if max(combined[i].values(), default=0.0) < settings.topics.threshold]
            vectors = {fresh[i].paper_id: abstract_vecs[i] for i in range(len(fresh))}
            selected = select(scored, vectors, chosen_topics, n, settings.topics.threshold)
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
                matching = [topic] + [t for t in chosen_topics if t is not topic and scores[t.name] >= settings.topics.threshold]
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
