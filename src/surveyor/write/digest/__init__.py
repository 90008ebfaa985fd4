"""The weekly digest (`surveyor digest`): the window's papers, picked for the user's interests, five fields deep.

The package owns selecting and writing up a window's papers from the corpus as it is. It may
import surveyor.write.llm/prompts, render, evidence, grounding, index, topics, settings and
errors; never surveyor.sources.fetch or surveyor.index.ingest: fetching a window's papers
first is surveyor.api's (api.digest).

Modules, each with one job:

* window    -- the window by first-version date (resolve_window, week_of, date_precision,
               window_papers) and the history of featured papers (History).
* selection -- relevance scores, the greedy diverse choice of picks, and each pick's why line.
* fields    -- the checker and the six cited, checked fields of one pick.
* relates   -- the "Relates to" line: the closest section of a published survey.
* result    -- Pick and DigestResult, and their JSON.
* assemble  -- the Markdown, HTML, JSON and run-record files (write_digest).
* build     -- orchestration: build_digest, run_digest, record_history_of.

For example:

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
  or above settings.topics.threshold count: nothing else is ever used to fill the digest.
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
  `[id p.N]` and checked with surveyor.grounding.check_cited against the cited page; a sentence
  that fails is dropped. With a generator, one short advancement summary is written;
  each of its sentences must pass the checker against the quotes it was given, or is
  replaced by the closest quote.
* Surveys. When surveys/<topic>/latest/survey.md exists for a matching topic, a
  "Relates to" line names the survey section most similar to the paper.

Files: digests/<label>.md, .html, .json and .run.json, where label is the week's Monday
(YYYY-MM-DD) for a Monday–Sunday window, else <since>_<until>. Images used by the
digest are copied to digests/assets/<label>/ so the folder stands on its own.
"""
from surveyor.write.digest.assemble import render_markdown, write_digest
from surveyor.write.digest.build import DEFAULT_N, MAX_N, build_digest, record_history_of, run_digest
from surveyor.write.digest.fields import FIELD_TITLES, build_fields
from surveyor.write.digest.relates import relates_to, survey_sections
from surveyor.write.digest.result import DigestResult, Pick
from surveyor.write.digest.selection import select, why_line
from surveyor.write.digest.window import (
    HISTORY_FILE,
    History,
    date_precision,
    first_version_day,
    resolve_window,
    week_of,
    window_label,
    window_papers,
)

__all__ = [
    "DEFAULT_N",
    "FIELD_TITLES",
    "HISTORY_FILE",
    "MAX_N",
    "DigestResult",
    "History",
    "Pick",
    "build_digest",
    "build_fields",
    "date_precision",
    "first_version_day",
    "record_history_of",
    "relates_to",
    "render_markdown",
    "resolve_window",
    "run_digest",
    "select",
    "survey_sections",
    "week_of",
    "why_line",
    "write_digest",
    "window_label",
    "window_papers",
]
