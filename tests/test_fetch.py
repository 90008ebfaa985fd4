"""`surveyor fetch` end to end against a loopback arXiv, and LaTeX sources reaching equations."""
from __future__ import annotations

import io
import json
import shutil
import tarfile
import time
from pathlib import Path

from arxiv_replay import ArxivReplay
from conftest import corpus_pdf, run_cli
from surveyor.index.catalog import Catalog
from surveyor.settings import load_settings


def _fast_home(home: Path) -> Path:
    home.mkdir(parents=True)
    (home / "surveyor.toml").write_text("[arxiv]\ndelay_s = 0.05\n")
    return home


def test_fetch_by_ids_downloads_ingests_with_arxiv_metadata(tmp_path, corpus_dir):
    home = _fast_home(tmp_path / "home")
    with ArxivReplay(corpus_dir) as server:
        result = run_cli(home, "fetch", "--ids", "1910.01108,1707.06347", "--json", env={"SURVEYOR_ARXIV_URL": server.api_url})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["found"] == 2 and report["downloaded"] == 2 and report["ingest"]["added"] == 2
    catalog = Catalog(load_settings(home).index_dir)
    distilbert = catalog.paper("1910.01108")
    assert distilbert.meta.title.startswith("DistilBERT")
    assert distilbert.meta.published.startswith("2019-10-02")
    assert not list((home / "corpus" / "downloads").glob("*.part"))


def test_fetch_by_date_window_keeps_only_that_window(tmp_path, corpus_dir):
    home = _fast_home(tmp_path / "home")
    with ArxivReplay(corpus_dir) as server:
        result = run_cli(home, "fetch", "--query", "distillation", "--since", "2019-10-01", "--until", "2019-10-07", "--json", env={"SURVEYOR_ARXIV_URL": server.api_url})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ids"] == ["1910.01108"]
    papers = Catalog(load_settings(home).index_dir).papers()
    assert all("2019-10-01" <= p.meta.published[:10] <= "2019-10-07" for p in papers)


def test_fetch_without_network_fails_in_one_line_within_10s(tmp_path):
    home = _fast_home(tmp_path / "home")
    started = time.monotonic()
    result = run_cli(home, "fetch", "--topic", "distillation", env={"SURVEYOR_ARXIV_URL": "https://export.arxiv.org.invalid/api/query"})
    elapsed = time.monotonic() - started
    assert result.returncode != 0 and elapsed < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("surveyor: error: arXiv unreachable"), result.stderr


def test_bad_fetch_arguments_are_one_line_errors(tmp_path):
    home = _fast_home(tmp_path / "home")
    for args in (["--since", "2025-02-30"], ["--since", "2025-03-01", "--until", "2025-02-01"], ["--topic", "nope"], []):
        result = run_cli(home, "fetch", *args, env={})
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, args


def _tarball(tex: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = tex.encode()
        info = tarfile.TarInfo("main.tex")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_latex_source_beside_the_pdf_reaches_the_equations(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(corpus_pdf("1707.06347"), folder / "1707.06347.pdf")
    (folder / "1707.06347.tar.gz").write_bytes(_tarball(
        "\\documentclass{article}\\begin{document}\n"
        "\\begin{equation}\\hat{g} = \\hat{\\mathbb{E}}_t\\left[\\nabla_\\theta \\log \\pi_\\theta(a_t|s_t)\\hat{A}_t\\right]"
        "\\end{equation}\n\\end{document}\n"))
    home = tmp_path / "home"
    ingest = run_cli(home, "ingest", "--offline", str(folder), env={})
    assert ingest.returncode == 0, ingest.stderr
    assert (home / "corpus" / "sources" / "1707.06347.tar.gz").is_file()
    rows = json.loads(run_cli(home, "equations", "1707.06347", "--json", env={}).stdout)
    first = next(r for r in rows if r["number"] == "1")
    assert first["latex"] and "\\nabla_\\theta" in first["latex"]
    assert Path(first["image"]).is_file()
