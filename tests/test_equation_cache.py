"""Equations page by page: the page-scoped extractor agrees with the whole-document one, and
ask's cache reads only pages it has not seen, keeps one file per paper and survives bad PDFs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import corpus_pdf
from surveyor import versions
from surveyor.evidence import equations as equations_module
from surveyor.evidence.equation_cache import page_equations
from surveyor.evidence.equations import extract_equations, extract_page_equations
from surveyor.index.catalog import Catalog
from surveyor.settings import load_settings

PPO = "1707.06347"


def _key(eq) -> tuple:
    return eq.page, eq.number, eq.text, tuple(sorted(eq.context.items()))


@pytest.mark.parametrize("paper", [PPO, "2311.17049"])  # one column; two columns
def test_pages_read_alone_give_the_whole_documents_equations(paper):
    whole = extract_equations(corpus_pdf(paper))
    pages = sorted({e.page for e in whole} | {1})
    by_page = extract_page_equations(corpus_pdf(paper), pages + [999])
    assert sorted(by_page) == pages  # a page past the end is left out
    assert {_key(e) for eqs in by_page.values() for e in eqs} == {_key(e) for e in whole}
    assert by_page[1] == [] or all(e.page == 1 for e in by_page[1])


def _record(settings):
    catalog = Catalog(settings.index_dir)
    try:
        return catalog.paper(PPO)
    finally:
        catalog.close()


@pytest.fixture
def home(ingested_home, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(ingested_home, copy)
    return copy


def test_cache_reads_only_new_pages_and_keeps_one_file(home, monkeypatch):
    settings = load_settings(home)
    record = _record(settings)
    read: list[list[int]] = []
    real = equations_module.extract_page_equations

    def counting(pdf, pages):
        read.append(sorted(pages))
        return real(pdf, pages)

    monkeypatch.setattr(equations_module, "extract_page_equations", counting)
    folder = settings.index_dir / "equations"
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / f"{PPO}.1.{record.sha256[:12]}.json"  # the former whole-paper format
    stale.write_text("[]")
    other_paper = folder / f"{PPO}0.{versions.EQUATIONS}.{'0' * 12}.json"
    other_paper.write_text("{}")

    first = page_equations(settings, record, [3, 2])
    assert [e["number"] for e in first] == ["1", "2", "3", "4", "5", "6", "7"]  # page order, as printed
    again = page_equations(settings, record, [3, 5])
    assert read == [[2, 3], [5]]  # page 3 came from the cache
    assert [e["number"] for e in again] == ["6", "7", "9", "10", "11", "12"]
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted([other_paper.name, f"{PPO}.{versions.EQUATIONS}.{record.sha256[:12]}.json"])
    cached = json.loads((folder / files[0 if files[0] != other_paper.name else 1]).read_text())
    assert sorted(cached) == ["2", "3", "5"]
    assert "intro" in again[0]["context"]


def test_missing_pdf_gives_no_equations_and_no_error(home):
    settings = load_settings(home)
    record = _record(settings)
    (home / record.file).unlink()
    assert page_equations(settings, record, [3]) == []


def test_pymupdf_loads_without_its_layout_analyser():
    code = ("import sys, surveyor.evidence.equations, surveyor.index.pdfparse; "
            "print(sorted(m for m in ('onnxruntime', 'pymupdf4llm', 'pymupdf.layout') if sys.modules.get(m)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
