"""PDFs are parsed in isolated worker processes: a hostile or huge file fails alone, the rest commits.

Real PDFs throughout: a 500-page PDF concatenated from corpus pages, a decompression bomb (an
embedded font whose Flate stream inflates to 1 GiB, a 1 MB file), a parse that runs past its
timeout (the 500-page PDF with a 1-second limit), a 4 kB PDF whose drawing never ends (forms that
each draw the next one twice, 2^40 times in all), and a worker killed with SIGKILL in the middle
of a file.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pymupdf
import pytest

from conftest import CORPUS, corpus_pdf, run_cli
from surveyor.index.parse_pool import ParsePool

SMALL = "1910.01108"  # 5 pages


@pytest.fixture(scope="module")
def big500(tmp_path_factory) -> Path:
    out = pymupdf.open()
    for source in sorted((CORPUS / "pdf").glob("*.pdf")):
        with pymupdf.open(source) as doc:
            out.insert_pdf(doc, to_page=min(doc.page_count, 500 - out.page_count) - 1)
        if out.page_count >= 500:
            break
    path = tmp_path_factory.mktemp("big") / "a-big.pdf"
    out.save(path, garbage=3, deflate=True)
    return path


def _deflate_bomb(gib: int) -> bytes:
    """A zlib stream of `gib` GiB of spaces in ~1 MB: one compressed 64 MiB block, repeated."""
    block = b" " * (64 << 20)
    chunk = (c := zlib.compressobj(9, zlib.DEFLATED, -15)).compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(16 * gib):
        adler = zlib.adler32(block, adler)
    return b"\x78\xda" + chunk * (16 * gib) + zlib.compressobj(9, zlib.DEFLATED, -15).flush() + adler.to_bytes(4, "big")


def _font_bomb(path: Path) -> Path:
    """A page set in an embedded TrueType font whose font file is the bomb (MuPDF loads font files whole)."""
    ttf = next(iter(sorted(Path("/usr/share/fonts").rglob("*.ttf"))), None)
    assert ttf is not None, "no TrueType font under /usr/share/fonts to embed"
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="F0", fontfile=str(ttf))
    page.insert_text((72, 72), "Text in an embedded font whose file inflates to a gigabyte.", fontname="F0")
    doc = pymupdf.open("pdf", doc.tobytes())
    font_file = next(x for x in range(1, doc.xref_length()) if doc.xref_get_key(x, "Length1")[0] != "null")
    doc.update_stream(font_file, _deflate_bomb(1), compress=False)
    doc.xref_set_key(font_file, "Filter", "/FlateDecode")
    doc.xref_set_key(font_file, "Length1", "null")
    doc.save(path)
    return path


def test_500_page_pdf_parses_in_a_worker(big500):
    [result] = ParsePool(workers=1, timeout_s=900, memory_mb=3072).parse([big500])
    assert result.error is None
    assert len(result.parsed.pages) == 500 and result.parsed.has_text
    assert len(result.references.entries) > 100  # the reference lists of the concatenated papers


def test_decompression_bomb_fails_alone_under_the_memory_cap(tmp_path):
    bomb = _font_bomb(tmp_path / "bomb.pdf")
    assert bomb.stat().st_size < 2_000_000
    results = list(ParsePool(workers=1, timeout_s=300, memory_mb=512).parse([bomb, corpus_pdf(SMALL)]))
    assert [r.path for r in results] == [bomb, corpus_pdf(SMALL)]
    assert results[0].parsed is None and "failed" in results[0].error  # MuPDF's allocation refused by the cap
    assert results[1].error is None and len(results[1].parsed.pages) == 5


def _endless_drawing(path: Path, depth: int = 40) -> Path:
    """A one-page PDF whose page draws form 1, which draws form 2 twice, ... down to a line: MuPDF
    interprets 2^depth lines (2^20 take ~5 s here), so parsing it never ends in practice."""
    doc = pymupdf.open()
    page = doc.new_page()
    inner = None
    for _ in range(depth):
        xref = doc.get_new_xref()
        resources = f"/Resources <</XObject <</F {inner} 0 R>>>>" if inner else ""
        doc.update_object(xref, f"<</Type/XObject/Subtype/Form/BBox[0 0 10 10]{resources}>>")
        doc.update_stream(xref, b"/F Do /F Do\n" if inner else b"0 0 m 1 1 l S\n")
        inner = xref
    contents = doc.get_new_xref()
    doc.update_object(contents, "<<>>")
    doc.update_stream(contents, b"/Top Do\n")
    doc.xref_set_key(page.xref, "Resources", f"<</XObject <</Top {inner} 0 R>>>>")
    doc.xref_set_key(page.xref, "Contents", f"{contents} 0 R")
    doc.save(path)
    return path


def test_pdf_whose_drawing_never_ends_times_out_alone(tmp_path):
    endless = _endless_drawing(tmp_path / "endless.pdf")
    assert endless.stat().st_size < 10_000
    started = time.monotonic()
    results = list(ParsePool(workers=1, timeout_s=3, memory_mb=1024).parse([endless, corpus_pdf(SMALL)]))
    assert time.monotonic() - started < 60  # the worker was stopped, not waited for
    assert "longer than 3 s" in results[0].error and results[0].parsed is None
    assert results[1].error is None and len(results[1].parsed.pages) == 5


def _ingest_folder(tmp_path: Path, big500: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    os.symlink(big500, folder / big500.name)  # sorted first: the file after it must still commit
    os.symlink(corpus_pdf(SMALL), folder / f"{SMALL}.pdf")
    return folder


def test_parse_past_its_timeout_fails_that_file_and_the_rest_commits(tmp_path, big500):
    home = tmp_path / "home"
    home.mkdir()
    (home / "surveyor.toml").write_text("[index]\nparse_timeout_s = 1\n")
    done = run_cli(home, "ingest", str(_ingest_folder(tmp_path, big500)), "--json")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == 1 and report["papers"] == 1
    [failure] = report["failed"]
    assert failure["path"].endswith("a-big.pdf") and "longer than 1 s" in failure["error"]


def _worker_holding(parent: int, path: Path) -> int | None:
    """The pid of a child of `parent` that has `path` open."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            if any(os.readlink(fd) == str(path) for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except (OSError, ValueError, IndexError):
            continue
    return None


def test_worker_killed_mid_file_fails_that_file_and_the_rest_commits(tmp_path, big500):
    folder = _ingest_folder(tmp_path, big500)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    ingest = subprocess.Popen([sys.executable, "-m", "surveyor", "--home", str(tmp_path / "home"), "ingest",
                               str(folder), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        deadline = time.monotonic() + 120
        while (worker := _worker_holding(ingest.pid, big500)) is None and time.monotonic() < deadline:
            assert ingest.poll() is None, ingest.stderr.read()
            time.sleep(0.05)
        assert worker is not None, "no parse worker ever opened the 500-page PDF"
        os.kill(worker, signal.SIGKILL)
        out, err = ingest.communicate(timeout=600)
    finally:
        ingest.kill()
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["added"] == 1 and report["papers"] == 1
    [failure] = report["failed"]
    assert failure["path"].endswith("a-big.pdf") and "SIGKILL" in failure["error"]
