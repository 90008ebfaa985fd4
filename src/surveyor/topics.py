"""The research topics: one TOML file each under configs/topics/."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from surveyor.errors import InputError, UnknownTopic
from surveyor.settings import config_dir


class Topic(BaseModel):
    name: str
    code: str
    title: str
    aliases: list[str] = []
    description: str
    queries: list[str]
    categories: list[str]
    key_terms: list[str]

    def profile_text(self) -> str:
        """What a paper about this topic reads like: used to rank papers by similarity."""
        return f"{self.title}. {self.description} {' '.join(self.key_terms)}"

    def fetch_query(self) -> str:
        """One arXiv query for the topic: any of its key terms in the abstract."""
        terms = [t for t in self.key_terms if len(t) > 3 or t.isupper()]
        return "(" + " OR ".join(f'abs:"{t}"' if " " in t or "-" in t else f"abs:{t}" for t in terms) + ")"


@lru_cache(maxsize=4)
def _load(folder: str) -> tuple[Topic, ...]:
    topics = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            with open(path, "rb") as fh:
                topics.append(Topic.model_validate(tomllib.load(fh)))
        except Exception as exc:  # noqa: BLE001 - any broken topic file is one clear line
            raise InputError(f"{path}: bad topic file ({exc})") from None
    return tuple(topics)


def all_topics() -> list[Topic]:
    return list(_load(str(config_dir() / "topics")))


def resolve_topic(name: str) -> Topic:
    """Match a topic by name, code (T2) or alias, ignoring case and -/_ differences."""
    wanted = name.strip().lower().replace("_", "-")
    for topic in all_topics():
        keys = {topic.name, topic.code, *topic.aliases}
        if wanted in {k.lower().replace("_", "-") for k in keys}:
            return topic
    valid = ", ".join(t.name for t in all_topics())
    raise UnknownTopic(f"unknown topic {name!r}; valid topics: {valid}")


def resolve_topics(names: list[str] | None) -> list[Topic]:
    """Topics named in a list (names, codes or aliases; comma-separated entries too); all of them for none."""
    if not names:
        return all_topics()
    topics: list[Topic] = []
    for raw in names:
        for name in raw.split(","):
            if name.strip():
                topic = resolve_topic(name)
                if topic not in topics:
                    topics.append(topic)
    if not topics:
        raise InputError("--topics names no topic")
    return topics
