"""What `update` remembers between runs, the lock that keeps two of them apart, and per-topic freshness.

`<home>/update/state.json` (written whole, atomically) holds per topic:
    cursor       the last UTC day a successful update searched up to; the next search starts there
    last_update  when that update finished (ISO 8601 UTC)
    added        the ids it ingested
A topic's cursor moves only after its candidates were downloaded and ingested, so an interrupted
update searches the same window again (known papers are skipped, finished downloads reused).

A survey is stale when the catalog now holds topic papers that its latest run (`run.json`) did not
cover; that is read live from the catalog and the survey folder, so it cannot drift from either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from surveyor.errors import UpdateBusy
from surveyor.files import atomic_write_json, read_json
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.render.runinfo import latest_dir
from surveyor.settings import Settings
from surveyor.topics import Topic, all_topics


def today() -> date:
    return datetime.now(timezone.utc).date()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class update_lock:
    """One update or expand per home at a time; a second one fails at once with a one-line error.
    The OS drops the lock (flock) when its holder dies, even by kill -9."""

    def __init__(self, settings: Settings):
        settings.update_dir.mkdir(parents=True, exist_ok=True)
        self.path = settings.update_dir / "update.lock"
        self.lock = FileLock(str(self.path))

    def __enter__(self) -> "update_lock":
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise UpdateBusy(f"another surveyor update or expand is running on this home (lock {self.path})") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@dataclass
class UpdateState:
    path: Path
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: Settings) -> "UpdateState":
        path = settings.update_dir / "state.json"
        data = read_json(path) or {}
        return cls(path, dict(data.get("topics", {})))

    def cursor(self, topic: str) -> date | None:
        value = self.topics.get(topic, {}).get("cursor")
        return date.fromisoformat(value) if value else None

    def advance(self, topic: str, cursor: date, added: list[str]) -> None:
        self.topics[topic] = {"cursor": cursor.isoformat(), "last_update": now_iso(), "added": added}

    def save(self) -> None:
        atomic_write_json(self.path, {"topics": self.topics})


def topic_papers(catalog: Catalog, settings: Settings, topic: Topic) -> list[PaperRecord]:
    return [p for p in catalog.papers() if p.topics.get(topic.name, 0.0) >= settings.topics.threshold]


def survey_papers(settings: Settings, topic: Topic) -> tuple[Path | None, set[str] | None]:
    """The latest survey folder of the topic and the papers its run covered (None, None: never surveyed)."""
    folder = latest_dir(settings.surveys_dir / topic.name)
    run = read_json(folder / "run.json") if folder else None
    if folder is None or not isinstance(run, dict):
        return None, None
    return folder, {p["paper_id"] for p in run.get("papers", []) if isinstance(p, dict) and "paper_id" in p}


def freshness(settings: Settings, catalog: Catalog, topics: list[Topic] | None = None) -> dict[str, dict[str, Any]]:
    """Per topic: papers, newest paper's date, last update, and whether its survey is stale (and why)."""
    state = UpdateState.load(settings)
    papers = catalog.papers()
    out = {}
    for topic in topics or all_topics():
        members = [p for p in papers if p.topics.get(topic.name, 0.0) >= settings.topics.threshold]
        dates = [p.meta.published[:10] for p in members if p.meta.published]
        folder, covered = survey_papers(settings, topic)
        missing = sorted(p.paper_id for p in members if covered is not None and p.paper_id not in covered)
        out[topic.name] = {
            "papers": len(members),
            "newest": max(dates) if dates else None,
            "last_update": state.topics.get(topic.name, {}).get("last_update"),
            "cursor": state.topics.get(topic.name, {}).get("cursor"),
            "survey": folder.name if folder else None,
            "stale": bool(missing) if folder else None,
            "new_since_survey": missing,
        }
    return out
