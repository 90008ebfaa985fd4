"""The citation graph on the ingested fixture papers: `surveyor refs` and `surveyor cited-by`, the library
functions behind them, and reference lists read for papers ingested before lists were kept."""
from __future__ import annotations

import json
import shutil
import sqlite3

import surveyor
from conftest import CORPUS, run_cli
from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor
from surveyor.settings import load_settings


def test_refs_lists_entries_with_their_corpus_match(ingested_home):
    done = run_cli(ingested_home, "refs", "2203.02155", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["paper_id"] == "2203.02155" and data["note"] is None
    assert len(data["references"]) >= 80
    # InstructGPT cites PPO (in the fixture); no other fixture paper is in its list.
    matched = [r for r in data["references"] if r["match"]]
    assert [r["match"] for r in matched] == ["1707.06347"] and data["matched"] == 1
    ppo = matched[0]
    assert ppo["arxiv_id"] == "1707.06347" and ppo["year"] == 2017
    assert ppo["title"] == "Proximal policy optimization algorithms"
    assert ppo["authors"][0] == "Schulman, J." and ppo["raw"].startswith("Schulman, J., Wolski, F.")
    assert data == surveyor.refs("arXiv:2203.02155v1", home=ingested_home).to_json()

    text = run_cli(ingested_home, "refs", "2203.02155")
    assert text.returncode == 0, text.stderr
    assert "references, 1 in the corpus" in text.stdout
    assert any("→ 1707.06347" in line and "Proximal policy optimization" in line for line in text.stdout.splitlines())


def test_cited_by_lists_the_citing_corpus_papers(ingested_home):
    done = run_cli(ingested_home, "cited-by", "1707.06347", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [c["paper_id"] for c in data["cited_by"]] == ["2203.02155"]
    assert data["cited_by"][0]["entries"][0]["raw"].startswith("Schulman, J.")
    # The technical report without an arXiv stamp cites DeepSeek-R1 by title alone.
    skywork = surveyor.cited_by("2501.12948", home=ingested_home).to_json()
    assert [c["paper_id"] for c in skywork["cited_by"]] == ["2512.02395"]

    text = run_cli(ingested_home, "cited-by", "1707.06347")
    assert text.returncode == 0 and "cited by 1 paper in the corpus" in text.stdout and "2203.02155" in text.stdout
    none = run_cli(ingested_home, "cited-by", "1910.01108")
    assert none.returncode == 0 and "cited by 0 papers" in none.stdout


def test_unknown_paper_is_one_line_and_a_failing_exit(ingested_home):
    for command in ("refs", "cited-by"):
        done = run_cli(ingested_home, command, "9999.99999")
        assert done.returncode != 0
        assert done.stderr.strip() == "surveyor: error: paper 9999.99999 is not in the corpus"


def test_lists_missing_from_an_older_home_are_read_on_the_next_ingest(ingested_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home)
    db = sqlite3.connect(home / "index" / "catalog.sqlite")
    db.execute("DELETE FROM refs")
    db.execute("DELETE FROM ref_lists")
    db.commit()
    db.close()
    assert "not read yet" in surveyor.refs("2203.02155", home=home).note

    settings = load_settings(home)
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run([CORPUS / "pdf" / "1707.06347.pdf"])
    assert report.unchanged == 1 and report.added == 0
    catalog = Catalog(settings.index_dir)
    try:
        assert catalog.papers_without_references() == []
        assert [r.paper_id for r in catalog.cited_by("1707.06347")] == ["2203.02155"]
    finally:
        catalog.close()
