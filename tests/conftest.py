"""Shared fixtures. State always lives in temporary homes; the corpus is read-only.

The expensive fixture, a home with a few real papers ingested by the real
embedder into a real Chroma store, is built once per pytest session.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("SURVEYOR_TEST_CORPUS", REPO.parent / "shared" / "corpus"))
# Papers of the shared fixture: a spread of topics and eras, with and without arXiv stamps.
FIXTURE_PAPERS = ["1707.06347", "1910.01108", "2012.12877", "2305.02301", "2203.02155", "2501.12948",
                  "2402.05861", "skywork_r1v4"]


def corpus_pdf(name: str) -> Path:
    path = CORPUS / "pdf" / f"{name}.pdf"
    if not path.is_file():
        pytest.fail(f"test corpus missing: {path} (expected ../shared/corpus beside the repo)", pytrace=False)
    return path


def run_cli(home: Path, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`surveyor --home HOME ARGS...` in a fresh process, as a user runs it (offline model loading)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "surveyor", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS / "pdf" / "metadata.jsonl").is_file():
        pytest.fail(f"test corpus missing at {CORPUS} (expected ../shared/corpus beside the repo)", pytrace=False)
    return CORPUS


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads or writes the developer's own home or reaches for arXiv."""
    monkeypatch.setenv("SURVEYOR_HOME", str(tmp_path / "default-home"))
    monkeypatch.setenv("SURVEYOR_ARXIV_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.delenv("SURVEYOR_CHROMA_URL", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("SURVEYOR_WARM_IDLE_MINUTES", "0")  # no test leaves a warm generator behind (test_warm)


def copy_papers(names: list[str], dest: Path, with_metadata: bool = True) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(corpus_pdf(name), dest / f"{name}.pdf")
    if with_metadata:
        shutil.copy(CORPUS / "pdf" / "metadata.jsonl", dest / "metadata.jsonl")
    return dest


@pytest.fixture(scope="session")
def ingested_home(tmp_path_factory, corpus_dir) -> Path:
    """A home with FIXTURE_PAPERS ingested. Read-only for tests: copy it before changing anything."""
    from surveyor.index.ingest import Ingestor
    from surveyor.settings import load_settings

    home = tmp_path_factory.mktemp("ingested-home")
    source = copy_papers(FIXTURE_PAPERS, tmp_path_factory.mktemp("fixture-pdfs"))
    settings = load_settings(home)
    settings.arxiv.api_url = "http://127.0.0.1:9/api/query"
    report = Ingestor(settings, arxiv_lookup=False, progress=False).run([source])
    assert report.added == len(FIXTURE_PAPERS), report.failed
    return home


@pytest.fixture
def settings_for():
    from surveyor.settings import load_settings

    def make(home: Path):
        return load_settings(home)

    return make
