"""The digest's window and history: which papers a window holds, and which were featured before.

A paper is in a window only when its first arXiv version was submitted inside [since, until]
(UTC days, inclusive), by its metadata date; a date known only to the month (or only a later
version's date) cannot place it inside a week, so such papers are returned as uncertain.
History keeps the arXiv ids featured per window in <digests>/history.json.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from surveyor.errors import InputError
from surveyor.index.catalog import PaperRecord

HISTORY_FILE = "history.json"


# Sources of `published` that give the first version's day (see ingest.identify). A PDF stamp
# gives it only on a v1; "arxiv id (month)" gives the month alone.
_DAY_SOURCES = {"arxiv", "metadata.jsonl", "pdf"}


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
