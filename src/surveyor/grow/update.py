"""`surveyor update`: each topic's new arXiv papers since its cursor, ranked, fetched, ingested.

    for each topic: search [cursor or --since, today] with the topic's query and categories
                    -> drop papers already in the corpus -> score title + abstract against the topic
                    (index.topic_match, the score the catalog keeps) -> keep those over the threshold,
                    best first, at most --max-per-topic
    then: download what is not on disk yet, ingest, advance the cursors of the topics that
          succeeded, report which surveys are now stale; with --surveys rewrite them (drafts are
          reused) and write this week's digest.

A topic already searched today is not searched again (a cron job's second run costs nothing);
`--since` searches anyway.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

from surveyor.errors import InputError
from surveyor.grow.state import UpdateState, freshness, today, update_lock
from surveyor.settings import Settings
from surveyor.topics import Topic

Say = Callable[[str], None]


@dataclass
class TopicPlan:
    topic: str
    since: str | None
    until: str | None
    found: int = 0
    new: int = 0
    chosen: list[dict[str, Any]] = field(default_factory=list)  # id, title, published, score
    skipped: str | None = None  # why the topic was not searched

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "since": self.since, "until": self.until, "found": self.found,
                "new": self.new, "chosen": self.chosen, "skipped": self.skipped}


@dataclass
class UpdateReport:
    dry_run: bool
    topics: list[TopicPlan] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)
    digest: str | None = None

    @property
    def nothing_to_do(self) -> bool:
        return all(t.skipped for t in self.topics) and not self.surveys and not self.digest

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "nothing_to_do": self.nothing_to_do,
                "topics": [t.to_json() for t in self.topics], "downloaded": self.downloaded,
                "reused": self.reused, "added": self.added, "failed": self.failed, "stale": self.stale,
                "surveys": self.surveys, "digest": self.digest}


def _rank(settings: Settings, topic: Topic, new: list, limit: int) -> list[tuple[Any, float]]:
    from surveyor.index.topic_match import score_texts

    if not new:
        return []
    scores, _ = score_texts(settings, [f"{m.title or ''}. {m.abstract or ''}" for m in new], [topic])
    ranked = sorted(((m, s[topic.name]) for m, s in zip(new, scores)),
                    key=lambda pair: (-pair[1], pair[0].arxiv_id or ""))
    return [(m, s) for m, s in ranked if s >= settings.topics.threshold][:limit]


def run_update(settings: Settings, topics: list[Topic], since: date | None = None, max_per_topic: int | None = None,
               dry_run: bool = False, surveys: bool = False, llm: str | None = None,
               say: Say | None = None) -> UpdateReport:
    say = say or (lambda message: None)
    limit = settings.update.max_per_topic if max_per_topic is None else max_per_topic
    if limit < 1:
        raise InputError("--max-per-topic must be at least 1")
    day = today()
    if since is not None and since > day:
        raise InputError(f"--since {since} is in the future")
    report = UpdateReport(dry_run)
    if dry_run:
        _plan(settings, topics, since, limit, day, UpdateState.load(settings), report, say)
        return report
    with update_lock(settings):
        state = UpdateState.load(settings)
        chosen, source = _plan(settings, topics, since, limit, day, state, report, say)
        if chosen:
            _fetch(settings, source, chosen, report, say)
        # A failed download holds the topic's cursor (the next update retries it); a PDF that arrived whole
        # but cannot be parsed would fail the same way forever, so it is reported and does not.
        unfetched = {f.get("id") for f in report.failed if f.get("stage") == "download"}
        for plan in report.topics:
            if plan.skipped:
                continue
            if any(c["id"] in unfetched for c in plan.chosen):
                say(f"{plan.topic}: cursor stays at {plan.since} (a download failed; the next update retries)")
                continue
            state.advance(plan.topic, day, [c["id"] for c in plan.chosen if c["id"] in report.added])
        state.save()
        _stale_and_surveys(settings, topics, surveys, llm, report, say)
    return report


def _plan(settings: Settings, topics: list[Topic], since: date | None, limit: int, day: date, state: UpdateState,
          report: UpdateReport, say: Say) -> tuple[dict[str, Any], Any]:
    """Search and rank every topic that needs it; the chosen papers by id (shared among topics)."""
    todo = []
    for topic in topics:
        start = since or state.cursor(topic.name) or day - timedelta(days=settings.update.first_days)
        if since is None and state.cursor(topic.name) == day:
            report.topics.append(TopicPlan(topic.name, None, None, skipped="already updated today"))
        else:
            todo.append((topic, start))
    if not todo:
        return {}, None
    from surveyor.grow.fetching import known_ids
    from surveyor.sources.arxiv import ArxivSource

    source = ArxivSource(settings.arxiv)
    known = known_ids(settings)
    chosen: dict[str, Any] = {}
    for topic, start in todo:
        say(f"{topic.name}: searching arXiv {start}..{day}")
        found = source.search(topic.fetch_query(), settings.arxiv.categories, start, day, settings.update.search_max)
        new = [m for m in found if m.arxiv_id and m.arxiv_id not in known]
        plan = TopicPlan(topic.name, start.isoformat(), day.isoformat(), len(found), len(new))
        for meta, score in _rank(settings, topic, new, limit):
            chosen.setdefault(meta.arxiv_id, meta)
            plan.chosen.append({"id": meta.arxiv_id, "title": meta.title, "published": (meta.published or "")[:10],
                                "score": round(score, 3)})
        report.topics.append(plan)
    return chosen, source


def _fetch(settings: Settings, source: Any, chosen: dict[str, Any], report: UpdateReport, say: Say) -> None:
    from surveyor.grow.fetching import fetch_and_ingest

    done = fetch_and_ingest(settings, source, list(chosen.values()), say)
    report.downloaded, report.reused, report.added, report.failed = done.downloaded, done.reused, done.added, done.failed


def _stale_and_surveys(settings: Settings, topics: list[Topic], surveys: bool, llm: str | None,
                       report: UpdateReport, say: Say) -> None:
    from surveyor.index.catalog import Catalog

    if not (settings.index_dir / "catalog.sqlite").is_file():
        return
    catalog = Catalog(settings.index_dir)
    try:
        fresh = freshness(settings, catalog, topics)
    finally:
        catalog.close()
    report.stale = [name for name, info in fresh.items() if info["stale"]]
    if not surveys or not report.stale:
        return
    from surveyor.write.digest import run_digest
    from surveyor.write.survey import SurveyOptions, build_survey

    for name in report.stale:
        say(f"{name}: rewriting the stale survey ...")
        result = build_survey(settings, name, SurveyOptions(llm=llm), say=say)
        report.surveys.append({"topic": name, "dir": str(result.dir)})
    say("writing this week's digest ...")
    digest = run_digest(settings, llm_spec=llm, topics=[t.name for t in topics], progress=say)
    report.digest = next(iter(digest.files.values()), None)
