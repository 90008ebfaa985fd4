"""`surveyor digest`: windows by first-version date, selection, history, cited fields, files, --fetch.

Weeks used (corpus metadata; Monday–Sunday UTC):
  2025-01-20  DeepSeek-R1 (2501.12948, first version 2025-01-22): a week with a known paper
  2025-01-27  no corpus paper of the fixture home: the next week, which must repeat nothing
  2025-03-17  the week containing 2025-03-18: no corpus paper at all
  2024-12-30  holds 2025-01-01, the stand-in date of Janus-Pro (2501.17811), whose first-version
              day is unknown (published is null; the ingest falls back to the id's month):
              it must not be placed in this week, and the message must say so
  2019-09-30  DistilBERT (1910.01108, 2019-10-02): fetched from the loopback arXiv with --fetch
The home is a copy of the shared `ingested_home` fixture plus Janus-Pro, so no test pays
for more than one extra ingest. Every test gets its own history file and output folder.
"""
from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import copy_papers
from surveyor.errors import InputError
from surveyor.index.catalog import Catalog
from surveyor.settings import load_settings
from surveyor.write.digest import (
    History,
    build_digest,
    date_precision,
    resolve_window,
    run_digest,
    week_of,
    window_label,
    window_papers,
)

DEEPSEEK = "2501.12948"
JANUS = "2501.17811"
FIELDS = {"challenges", "innovation", "math", "architecture", "training", "datasets_metrics"}
CITED = re.compile(r"\u201c(.+?)\u201d \[(\S+) p\.(\d+)\]")


@pytest.fixture(scope="module")
def home(ingested_home, tmp_path_factory) -> Path:
    from surveyor.index.ingest import Ingestor

    root = tmp_path_factory.mktemp("digest")
    copy = root / "home"
    shutil.copytree(ingested_home, copy, ignore=shutil.ignore_patterns("*.lock"))
    pdfs = copy_papers([JANUS], root / "pdfs")
    settings = load_settings(copy)
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run([pdfs])
    assert report.added == 1, report.failed
    return copy


@pytest.fixture
def settings(home):
    return load_settings(home)


def digest(settings, tmp_path, **kwargs):
    kwargs.setdefault("llm_spec", "none")
    kwargs.setdefault("out_dir", tmp_path / "out")
    kwargs.setdefault("history_path", tmp_path / "history.json")
    return run_digest(settings, **kwargs)


# --------------------------------------------------------------------------- windows


def test_week_is_monday_to_sunday_utc():
    assert week_of(date(2025, 3, 18)) == (date(2025, 3, 17), date(2025, 3, 23))
    assert week_of(date(2025, 3, 17)) == (date(2025, 3, 17), date(2025, 3, 23))
    assert week_of(date(2025, 3, 23)) == (date(2025, 3, 17), date(2025, 3, 23))
    assert resolve_window(since=date(2025, 1, 1), until=date(2025, 1, 31)) == (date(2025, 1, 1), date(2025, 1, 31))
    assert resolve_window(until=date(2025, 1, 31)) == (date(2025, 1, 25), date(2025, 1, 31))
    assert window_label(date(2025, 3, 17), date(2025, 3, 23)) == "2025-03-17"
    assert window_label(date(2025, 1, 1), date(2025, 1, 31)) == "2025-01-01_2025-01-31"
    with pytest.raises(InputError):
        resolve_window(week=date(2025, 1, 1), since=date(2025, 1, 1))
    with pytest.raises(InputError):
        resolve_window(since=date(2025, 2, 1), until=date(2025, 1, 1))


def test_month_only_dates_never_place_a_paper_in_a_week(settings):
    catalog = Catalog(settings.index_dir)
    try:
        papers = {p.paper_id: p for p in catalog.papers()}
        assert papers[JANUS].meta.sources["published"] == "arxiv id (month)"
        assert date_precision(papers[JANUS]) == "month"
        assert date_precision(papers[DEEPSEEK]) == "day"
        inside, uncertain = window_papers(list(papers.values()), date(2024, 12, 30), date(2025, 1, 5))
        assert inside == [] and [p.paper_id for p in uncertain] == [JANUS]
        inside, uncertain = window_papers(list(papers.values()), date(2025, 1, 20), date(2025, 1, 26))
        assert [p.paper_id for p in inside] == [DEEPSEEK] and [p.paper_id for p in uncertain] == [JANUS]
    finally:
        catalog.close()


# --------------------------------------------------------------------------- selection and history


def test_known_week_picks_only_papers_inside_it(settings, tmp_path):
    result = digest(settings, tmp_path, week=date(2025, 1, 22))
    assert (result.since, result.until) == (date(2025, 1, 20), date(2025, 1, 26))
    assert [p.arxiv_id for p in result.picks] == [DEEPSEEK]
    for pick in result.picks:
        day = date.fromisoformat(pick.record.meta.published[:10])
        assert result.since <= day <= result.until
    pick = result.picks[0]
    assert pick.topic.name in {"multimodal_rl", "reasoning"}
    assert pick.why and pick.topic.title in pick.why
    assert "Only 1 of the 5" in result.message
    assert JANUS in result.message  # dated only to January 2025: said, not guessed
    assert set(pick.fields) == FIELDS


def test_fields_are_cited_quotes_that_pass_the_checker(settings, tmp_path):
    from surveyor.grounding import check_support, quote_on_page

    result = digest(settings, tmp_path, week=date(2025, 1, 22))
    pick = result.picks[0]
    catalog = Catalog(settings.index_dir)
    try:
        quoted = 0
        for name in ("challenges", "innovation", "architecture", "training", "datasets_metrics"):
            for quote, pid, page in CITED.findall(pick.fields[name]):
                assert pid == DEEPSEEK
                page_text = catalog.page_text(DEEPSEEK, int(page))
                assert quote_on_page(quote, page_text), (quote, page)
                assert check_support(quote, page_text).supported, (quote, page)
                quoted += 1
        assert quoted >= 5, pick.fields
    finally:
        catalog.close()
    assert pick.checks["cited"] >= quoted and pick.checks["supported"] == pick.checks["cited"] - len(pick.checks["dropped"])
    # The key equation: number or page, text, and its crop copied beside the digest.
    if pick.equation:
        assert pick.equation["page"] >= 1 and pick.equation["text"]
        assert f"p.{pick.equation['page']}" in pick.fields["math"]
    md = Path(result.files["md"]).read_text()
    for line in md.splitlines():
        for link in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", line):  # the path, not its "[id p.N]" title
            assert (Path(result.files["md"]).parent / link).is_file(), link


def test_next_week_repeats_nothing_and_empty_weeks_say_so(settings, tmp_path):
    first = digest(settings, tmp_path, week=date(2025, 1, 22))
    assert [p.arxiv_id for p in first.picks] == [DEEPSEEK]
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["windows"]["2025-01-20"]["picks"] == [DEEPSEEK]

    following = digest(settings, tmp_path, week=date(2025, 1, 27))
    assert following.picks == []
    assert not set(p.arxiv_id for p in following.picks) & {DEEPSEEK}
    assert "no matching papers" in following.message

    empty = digest(settings, tmp_path, week=date(2025, 3, 18))
    assert (empty.since, empty.until) == (date(2025, 3, 17), date(2025, 3, 23))
    assert empty.picks == [] and "has no matching papers" in empty.message
    data = json.loads(Path(empty.files["json"]).read_text())
    assert data["picks"] == [] and data["message"] == empty.message


def test_featured_papers_are_not_picked_again_but_a_rerun_reproduces(settings, tmp_path):
    first = digest(settings, tmp_path, week=date(2025, 1, 22))
    again = digest(settings, tmp_path, week=date(2025, 1, 22))  # same window: not a repeat of itself
    assert [p.arxiv_id for p in again.picks] == [p.arxiv_id for p in first.picks] == [DEEPSEEK]
    assert again.skipped_repeats == {}

    january = digest(settings, tmp_path, since=date(2025, 1, 1), until=date(2025, 1, 31))
    assert january.picks == []
    assert january.skipped_repeats == {DEEPSEEK: "2025-01-20"}
    assert DEEPSEEK in january.message and "--allow-repeats" in january.message
    assert JANUS in january.message and "month" in january.message

    allowed = digest(settings, tmp_path, since=date(2025, 1, 1), until=date(2025, 1, 31), allow_repeats=True)
    assert [p.arxiv_id for p in allowed.picks] == [DEEPSEEK]
    assert History(tmp_path / "history.json").featured_elsewhere("2025-01-20") == {DEEPSEEK: "2025-01-01_2025-01-31"}


def test_unknown_day_week_says_why_it_is_empty(settings, tmp_path):
    result = digest(settings, tmp_path, week=date(2025, 1, 1))  # 2024-12-30 .. 2025-01-05
    assert result.picks == []
    assert JANUS in result.message and "no matching papers" in result.message


def test_topic_filter_and_relates_to_survey(settings, tmp_path):
    from surveyor.render.runinfo import publish_dir

    result = digest(settings, tmp_path, week=date(2025, 1, 22), topics=["tool_use"])
    # DeepSeek-R1 is about RL and reasoning: with tool use as the only interest it may or may not match,
    # but whatever is picked serves that interest, and nothing else fills the digest.
    assert all(p.topic.name == "tool_use" for p in result.picks)

    with publish_dir(settings.surveys_dir / "multimodal_rl") as out:
        (out.path / "survey.md").write_text(
            "# Survey: New multimodal reinforcement learning methods\n\n## 1. Scope\n\n- reinforcement learning\n\n"
            "## 3. Recent trends (2024 and after)\n\n- papers\n\n## 4. Advancements by theme\n\n"
            "### 4.1 Theme: reward models and PPO for human preferences\n\nReward models trained on human "
            "comparisons and PPO fine-tuning of chat models.\n\n"
            "### 4.2 Theme: verifiable rewards for reasoning\n\nGRPO with rule-based rewards; long "
            "chain-of-thought reasoning emerging from reinforcement learning on math problems.\n\n"
            "## 7. References\n\n- a\n")
    try:
        related = digest(settings, tmp_path, week=date(2025, 1, 22), topics=["multimodal_rl"])
        assert [p.arxiv_id for p in related.picks] == [DEEPSEEK]
        rel = related.picks[0].relates_to
        assert rel and rel[0]["topic"] == "multimodal_rl"
        assert rel[0]["section"] == "4.2 Theme: verifiable rewards for reasoning"
        md = Path(related.files["md"]).read_text()
        assert "Relates to: multimodal\\_rl survey — 4.2 Theme: verifiable rewards for reasoning" in md
    finally:
        shutil.rmtree(settings.surveys_dir)


def test_bad_arguments_are_input_errors(settings, tmp_path):
    with pytest.raises(InputError):
        digest(settings, tmp_path, week=date(2025, 1, 22), n=0)
    with pytest.raises(InputError):
        digest(settings, tmp_path, week=date(2025, 1, 22), formats="pdf")
    from surveyor.errors import UnknownTopic

    with pytest.raises(UnknownTopic):
        build_digest(settings, date(2025, 1, 20), date(2025, 1, 26), topics=["astrology"])


# --------------------------------------------------------------------------- CLI and files


def test_cli_json_and_files(home, tmp_path):
    from surveyor.cli import app

    runner = CliRunner()
    out = tmp_path / "digests"
    result = runner.invoke(app, ["--home", str(home), "digest", "--week", "2025-01-22", "--llm", "none",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["since"] == "2025-01-20" and data["until"] == "2025-01-26"
    assert [p["arxiv_id"] for p in data["picks"]] == [DEEPSEEK]
    pick = data["picks"][0]
    assert {"arxiv_id", "title", "published", "interest", "why", "fields"} <= set(pick)
    assert set(pick["fields"]) == FIELDS and isinstance(data["message"], str)
    for suffix in (".md", ".html", ".json", ".run.json"):
        assert (out / f"2025-01-20{suffix}").is_file(), suffix
    html = (out / "2025-01-20.html").read_text()
    assert "DeepSeek-R1" in html and "src=\"assets/" not in html  # images inlined
    run = json.loads((out / "2025-01-20.run.json").read_text())
    assert run["picks"] == [DEEPSEEK] and run["corpus"]["content_hash"]
    # The home's own history now holds the week; the next week's digest repeats nothing.
    history = json.loads((home / "digests" / "history.json").read_text())
    assert history["windows"]["2025-01-20"]["picks"] == [DEEPSEEK]
    result = runner.invoke(app, ["--home", str(home), "digest", "--since", "2025-01-21", "--until", "2025-01-27",
                                 "--llm", "none", "--out", str(out), "--json", "--format", "md"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["picks"] == [] and DEEPSEEK in data["message"]
    assert not (out / "2025-01-21_2025-01-27.html").exists()

    bad = runner.invoke(app, ["--home", str(home), "digest", "--week", "2025-01-22", "--since", "2025-01-01"])
    assert bad.exit_code != 0


# --------------------------------------------------------------------------- --fetch


def test_fetch_downloads_the_windows_papers_from_arxiv(tmp_path, monkeypatch, corpus_dir):
    import surveyor
    from arxiv_replay import ArxivReplay

    home = tmp_path / "fresh"
    home.mkdir()
    (home / "surveyor.toml").write_text("[arxiv]\ndelay_s = 0.05\nretries = 1\n")
    with ArxivReplay(corpus_dir) as server:
        monkeypatch.setenv("SURVEYOR_ARXIV_URL", server.api_url)
        settings = load_settings(home)
        result = surveyor.digest(week=date(2019, 10, 2), fetch=True, llm="none", n=3, settings=settings)
        queries = [r for r in server.requests if r.startswith("/api/query")]
    assert len(queries) == 6  # one search per interest
    assert all("submittedDate" in q for q in queries)
    assert result.fetch["downloaded"] >= 1 and result.fetch["failed"] == []
    assert "1910.01108" in [p.arxiv_id for p in result.picks]
    for pick in result.picks:
        assert date(2019, 9, 30) <= date.fromisoformat(pick.record.meta.published[:10]) <= date(2019, 10, 6)
    assert (home / "corpus" / "downloads" / "metadata.jsonl").is_file()


# --------------------------------------------------------------------------- the embedded writer


@pytest.mark.slow
def test_embedded_advancement_summary_is_checked(settings, tmp_path):
    """With the real embedded model: each generated sentence is kept only if it passes the checker
    against the quotes it was written from, and is cited to their page; otherwise a quote replaces it."""
    from surveyor.evidence.cards import get_card
    from surveyor.grounding import best_support
    from surveyor.index.embedder import get_embedder
    from surveyor.write.llm import default_gguf_path

    if not default_gguf_path(settings.llm).is_file():
        pytest.fail(f"embedded model missing at {default_gguf_path(settings.llm)}; run `make setup`", pytrace=False)
    result = digest(settings, tmp_path, week=date(2025, 1, 22), llm_spec="embedded")
    pick = result.picks[0]
    generated = pick.checks["generated"]
    assert generated["generated"] >= 1
    assert generated["kept"] + generated["replaced"] == generated["generated"]
    assert pick.checks["supported"] == pick.checks["cited"] - len(pick.checks["dropped"])
    quotes = get_card(settings, DEEPSEEK).innovations[:3]
    segments = re.findall(r"\s*(.+?) \[" + re.escape(DEEPSEEK) + r" p\.(\d+)\]", pick.fields["innovation"])
    written = [(text, int(page)) for text, page in segments if not text.startswith("\u201c")]
    assert len(written) == generated["kept"]
    for text, page in written:
        passage, verdict = best_support(text, quotes, get_embedder(settings.embedding))
        assert verdict.supported and passage.page == page, (text, verdict.reasons)
    run = json.loads(Path(result.files["run"]).read_text())
    assert run["models"]["llm"]["name"].startswith("embedded:")
    assert "digest_advancement" in run["prompts"]
