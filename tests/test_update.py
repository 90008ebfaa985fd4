"""`surveyor update` and `surveyor expand` end to end against the loopback arXiv, on real corpus PDFs.

Ingest is the cost, so the update tests fetch one small paper (DistilBERT, 5 pages) and the expand
tests share one home of four citing papers.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from filelock import FileLock

from arxiv_replay import ArxivReplay
from conftest import copy_papers, corpus_pdf, run_cli
from surveyor.index.catalog import Catalog
from surveyor.settings import load_settings

NEW = "1910.01108"  # the paper that "appears" during the simulated week


def _home(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "surveyor.toml").write_text("[arxiv]\ndelay_s = 0.05\n[update]\nexpand_tries = 60\n")
    return path


def _appear(server: ArxivReplay, arxiv_id: str, days_ago: int) -> None:
    """The paper shows up on arXiv as submitted `days_ago` days ago (in the replay's answers)."""
    record = next(r for r in server.records if r["arxiv_id"] == arxiv_id)
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    server.add_paper({k: v for k, v in record.items() if not k.startswith("_")} |
                     {"published": when.strftime("%Y-%m-%dT%H:%M:%SZ")}, pdf=corpus_pdf(arxiv_id))


def _rewind(home: Path, topic: str, days: int) -> None:
    """A week passes: the topic's cursor is where a run `days` ago would have left it."""
    path = home / "update" / "state.json"
    state = json.loads(path.read_text())
    day = datetime.now(timezone.utc).date() - timedelta(days=days)
    state["topics"][topic]["cursor"] = day.isoformat()
    path.write_text(json.dumps(state))


def _pdf_requests(server: ArxivReplay, arxiv_id: str) -> int:
    return sum(1 for r in server.requests if r.startswith(f"/pdf/{arxiv_id}"))


def test_a_week_of_new_papers_between_two_updates_then_nothing_to_do(tmp_path, corpus_dir):
    home = _home(tmp_path / "home")
    with ArxivReplay(corpus_dir) as server:
        env = {"SURVEYOR_ARXIV_URL": server.api_url}
        first = run_cli(home, "update", "--topic", "distillation", "--json", env=env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["added"] == []  # nothing on the replay is from the last week
        _rewind(home, "distillation", 7)
        _appear(server, NEW, days_ago=2)

        dry = run_cli(home, "update", "--topic", "distillation", "--dry-run", env=env)
        assert dry.returncode == 0 and NEW in dry.stdout and "would fetch 1" in dry.stdout, dry.stdout + dry.stderr
        assert _pdf_requests(server, NEW) == 0 and not (home / "corpus" / "downloads").exists()

        second = run_cli(home, "update", "--topic", "distillation", "--json", env=env)
        assert second.returncode == 0, second.stderr
        report = json.loads(second.stdout)
        assert report["added"] == [NEW] and report["downloaded"] == [NEW]
        assert Catalog(load_settings(home).index_dir).paper(NEW).meta.title.startswith("DistilBERT")

        served = len(server.requests)
        third = run_cli(home, "update", "--topic", "distillation", env=env)  # bench/grow.py times this one
        assert third.returncode == 0 and third.stdout.startswith("nothing to do"), third.stdout + third.stderr
        assert len(server.requests) == served  # not even a search

        status = run_cli(home, "status", "--json")
        fresh = json.loads(status.stdout)["freshness"]["distillation"]
        assert fresh["papers"] == 1 and fresh["last_update"] and fresh["newest"] == report["topics"][0]["chosen"][0]["published"]


def _start(home: Path, env: dict) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "-m", "surveyor", "--home", str(home), "update", "--topic",
                             "distillation", "--since", "2019-01-01"], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, run: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_kill_during_download_then_during_ingest_loses_nothing_and_downloads_once(tmp_path, corpus_dir):
    home = _home(tmp_path / "home")
    pdf = home / "corpus" / "downloads" / f"{NEW}v1.pdf"
    state = home / "update" / "state.json"
    with ArxivReplay(corpus_dir) as server:
        server.records = [r for r in server.records if r["arxiv_id"] == NEW]  # one candidate keeps it small
        env = {"SURVEYOR_ARXIV_URL": server.api_url}
        server.slow_pdfs_s = 60
        run = _start(home, env)
        _wait_for(lambda: _pdf_requests(server, NEW) == 1, run)
        time.sleep(0.3)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert not pdf.exists() and not state.exists()  # no PDF, cursor not advanced

        server.slow_pdfs_s = 0
        run = _start(home, env)
        _wait_for(pdf.exists, run)
        time.sleep(1.0)  # inside the ingest: the embedder is loading or embedding
        assert run.poll() is None, run.communicate()
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert not state.exists()
        assert _pdf_requests(server, NEW) == 2

        done = run_cli(home, "update", "--topic", "distillation", "--since", "2019-01-01", "--json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        # The kill lands before or after the ingest committed (a fast ingest can finish within the second):
        # either way the PDF on disk is used, never downloaded again.
        assert report["reused"] in ([NEW], []) and report["downloaded"] == [] and _pdf_requests(server, NEW) == 2
        assert Catalog(load_settings(home).index_dir).paper(NEW) is not None
        assert json.loads(state.read_text())["topics"]["distillation"]["cursor"]


def test_a_failed_download_keeps_the_cursor_and_exits_non_zero(tmp_path, corpus_dir):
    home = _home(tmp_path / "home")
    with ArxivReplay(corpus_dir) as server:
        record = next(r for r in server.records if r["arxiv_id"] == NEW)
        server.records = []
        server.add_paper({k: v for k, v in record.items() if not k.startswith("_") and k != "file"})  # no PDF: 404
        result = run_cli(home, "update", "--topic", "distillation", "--since", "2019-01-01",
                         env={"SURVEYOR_ARXIV_URL": server.api_url})
    assert result.returncode == 1 and f"failed: {NEW}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    state = home / "update" / "state.json"
    assert not state.exists() or "distillation" not in json.loads(state.read_text())["topics"]


def test_a_second_update_on_the_same_home_is_refused_in_one_line(tmp_path):
    home = _home(tmp_path / "home")
    (home / "update").mkdir()
    with FileLock(str(home / "update" / "update.lock")):
        result = run_cli(home, "update", "--topic", "distillation")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another surveyor update or expand is running" in lines[0], result.stderr


def test_bad_update_and_expand_arguments_are_one_line_errors(tmp_path):
    home = _home(tmp_path / "home")
    for args in (["update", "--since", "2025-02-30"], ["update", "--topic", "nope"], ["update", "--max-per-topic", "0"],
                 ["expand", "--topic", "distillation"], ["expand", "--topic", "nope"]):
        result = run_cli(home, *args)
        assert result.returncode != 0 and "Traceback" not in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


# --------------------------------------------------------------------------- expand

# Four distillation papers; among them, two cite DistilBERT by its printed arXiv id, two cite
# Christiano et al. 2017 (1706.03741) and InstructGPT (2203.02155) by title only. Those three are
# corpus papers held back from this home.
CITING = ["1909.10351", "2110.07178", "2402.11248", "2411.16489"]
HELD_BACK = {"1910.01108", "1706.03741", "2203.02155"}


@pytest.fixture(scope="module")
def citing_home(tmp_path_factory, corpus_dir) -> Path:
    from surveyor.index.ingest import Ingestor

    home = _home(tmp_path_factory.mktemp("expand") / "home")
    source = copy_papers(CITING, tmp_path_factory.mktemp("citing-pdfs"))
    report = Ingestor(load_settings(home), arxiv_lookup=False, progress=False).run([source])
    assert report.added == len(CITING), report.failed
    return home


def _twin_title(server: ArxivReplay, arxiv_id: str, twin_id: str) -> None:
    """Another arXiv paper with exactly the same title (as happens: errata, re-uploads, namesakes)."""
    record = next(r for r in server.records if r["arxiv_id"] == arxiv_id)
    server.add_paper({"arxiv_id": twin_id, "title": record["title"], "authors": ["A. Namesake"],
                      "published": "2023-05-01T00:00:00Z", "categories": ["cs.CL"], "abstract": "Another paper."},
                     pdf=corpus_pdf(arxiv_id))


def test_expand_dry_run_ranks_resolves_by_id_and_title_and_never_guesses(citing_home, corpus_dir):
    with ArxivReplay(corpus_dir) as server:
        _twin_title(server, "2203.02155", "2305.99999")
        result = run_cli(citing_home, "expand", "--topic", "distillation", "--min-cited", "2", "--max", "5",
                         "--dry-run", "--json", env={"SURVEYOR_ARXIV_URL": server.api_url})
        assert not any(r.startswith("/pdf/") for r in server.requests)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    cands = report["candidates"]
    assert all(c["cited_by"] >= 2 for c in cands)
    assert [c["cited_by"] for c in cands] == sorted((c["cited_by"] for c in cands), reverse=True)
    by_id = {c["arxiv_id"]: c for c in cands if c["status"] == "resolved"}
    assert set(by_id) == {"1910.01108", "1706.03741"}
    assert by_id["1910.01108"]["how"] == "printed id" and by_id["1706.03741"]["how"] == "title search"
    assert sorted(by_id["1910.01108"]["citing"]) == ["1909.10351", "2110.07178"]
    twin = next(c for c in cands if (c["title"] or "").lower().startswith("training language models to follow"))
    assert twin["status"] == "unresolved" and "2 arXiv papers share this title" in twin["reason"]
    unresolved = [c for c in cands if c["status"] == "unresolved" and "no arXiv paper" in (c["reason"] or "")]
    assert unresolved and all(c["reference"] for c in unresolved)  # listed with the entry as printed
    assert set(report["fetched"]) == {"1910.01108", "1706.03741"}


def test_expand_fetches_and_ingests_the_held_back_papers_the_topic_cites(citing_home, corpus_dir, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(citing_home, home)
    with ArxivReplay(corpus_dir) as server:
        _twin_title(server, "2203.02155", "2305.99999")
        result = run_cli(home, "expand", "--topic", "distillation", "--min-cited", "2", "--max", "1", "--json",
                         env={"SURVEYOR_ARXIV_URL": server.api_url})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # The best-ranked resolvable work (cited by 2, newest of those) and nothing else.
    assert report["added"] == ["1910.01108"] and set(report["added"]) <= HELD_BACK
    catalog = Catalog(load_settings(home).index_dir)
    try:
        for pid in report["added"]:
            citing = {row.paper_id for row in catalog.cited_by(pid)}
            assert len(citing & set(CITING)) >= 2, (pid, citing)  # precision: really cited by >= 2 topic papers
        assert catalog.paper("2203.02155") is None and catalog.paper("2305.99999") is None
    finally:
        catalog.close()
    # The regenerated survey's traditional era now holds the foundation the topic's papers cite.
    survey = run_cli(home, "survey", "--topic", "distillation", "--llm", "none", "--json")
    assert survey.returncode == 0, survey.stderr
    markdown = (Path(json.loads(survey.stdout)["dir"]) / "survey.md").read_text()
    traditional = markdown.split("## 2. Traditional SOTA", 1)[1].split("## 3.", 1)[0]
    assert "(1910.01108, 2019" in traditional and "[1910.01108 p." in traditional
