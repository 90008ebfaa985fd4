"""Ingest on real PDFs: incremental, versioned, deduplicated, crash-safe, and clear about bad input."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
from filelock import FileLock

from conftest import FIXTURE_PAPERS, copy_papers, corpus_pdf, run_cli
from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor
from surveyor.index.store import VectorStore
from surveyor.settings import load_settings


def ingest(home: Path, *paths: Path) -> "IngestReport":  # noqa: F821
    return Ingestor(load_settings(home), arxiv_lookup=False, progress=False).run(list(paths))


def test_fixture_home_has_pages_chunks_and_metadata(ingested_home):
    catalog = Catalog(load_settings(ingested_home).index_dir)
    papers = {p.paper_id: p for p in catalog.papers()}
    assert set(papers) == {*(p for p in FIXTURE_PAPERS if p != "skywork_r1v4"), "2512.02395"}
    ppo = papers["1707.06347"]
    assert ppo.meta.title == "Proximal Policy Optimization Algorithms"
    assert ppo.meta.published.startswith("2017-07-20") and ppo.meta.sources["published"] == "metadata.jsonl"
    assert ppo.version == 2 and ppo.pages == 12 and ppo.chunks > 20
    # The technical report without an arXiv stamp gets its id from metadata.jsonl, matched by file name.
    assert papers["2512.02395"].meta.sources["arxiv_id"] == "metadata.jsonl"
    assert "clipped surrogate objective" in catalog.page_text("1707.06347", 3).lower()
    kinds = {r.kind for r in catalog.chunks("1707.06347")}
    assert {"body", "references"} <= kinds
    assert catalog.chunk_count() == VectorStore(load_settings(ingested_home)).count()


def test_no_chunk_is_truncated_by_the_embedder(ingested_home):
    from surveyor.index.chunking import embedding_text
    from surveyor.index.embedder import get_embedder

    settings = load_settings(ingested_home)
    embedder = get_embedder(settings.embedding)
    rows = Catalog(settings.index_dir).chunks()
    counts = embedder.count_tokens([embedding_text(r.section, r.text) for r in rows])
    assert max(counts) + 2 <= settings.embedding.max_seq_tokens  # +2: [CLS] and [SEP]


def test_status_and_papers_json(ingested_home):
    status = json.loads(run_cli(ingested_home, "status", "--json").stdout)
    assert status["papers"] == len(FIXTURE_PAPERS) and status["home"] == str(ingested_home)
    assert set(status["topics"]) == {"video_speech", "distillation", "tool_use", "cross_modal", "reasoning",
                                     "multimodal_rl"}
    assert status["topics"]["distillation"] >= 2 and status["topics"]["multimodal_rl"] >= 2
    papers = json.loads(run_cli(ingested_home, "papers", "--json").stdout)
    assert {"arxiv_id", "version", "title", "authors", "published", "pages", "chunks", "metadata_source"} <= set(papers[0])


def test_reingest_unchanged_adds_nothing_and_duplicates_are_one_paper(tmp_path):
    source = copy_papers(["1707.06347"], tmp_path / "in")
    shutil.copy(source / "1707.06347.pdf", source / "ppo-copy-under-another-name.pdf")
    first = ingest(tmp_path / "home", source)
    assert (first.added, first.unchanged, first.papers) == (1, 1, 1)
    again = ingest(tmp_path / "home", source)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, first.chunks)


def _make_version(src: Path, dest: Path, extra_text: str) -> None:
    doc = pymupdf.open(src)
    page = doc.new_page()
    page.insert_text((72, 72), extra_text)
    doc.save(dest)


def test_newer_version_replaces_older_and_older_is_not_taken_back(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(corpus_pdf("2501.12948"), folder / "2501.12948v1.pdf")  # no arXiv stamp: version from the name
    home = tmp_path / "home"
    v1 = ingest(home, folder / "2501.12948v1.pdf")
    _make_version(folder / "2501.12948v1.pdf", folder / "2501.12948v2.pdf", "Appendix added in version two.")
    v2 = ingest(home, folder / "2501.12948v2.pdf")
    assert (v2.added, v2.updated, v2.papers) == (0, 1, 1)
    catalog = Catalog(load_settings(home).index_dir)
    paper = catalog.paper("2501.12948")
    assert paper.version == 2 and paper.file.endswith("2501.12948v2.pdf")
    assert not (home / "corpus" / "papers" / "2501.12948v1.pdf").exists()
    assert VectorStore(load_settings(home)).count() == catalog.chunk_count() == v1.chunks + paper.chunks - v1.chunks
    back = ingest(home, folder / "2501.12948v1.pdf")
    assert (back.added, back.updated, back.unchanged) == (0, 0, 1)
    assert Catalog(load_settings(home).index_dir).paper("2501.12948").version == 2


def _bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    files = {}
    files["empty"] = folder / "empty.pdf"
    files["empty"].write_bytes(b"")
    files["truncated"] = folder / "truncated.pdf"
    files["truncated"].write_bytes(corpus_pdf("1707.06347").read_bytes()[:400_000])
    files["text"] = folder / "notes.pdf"
    files["text"].write_text("just some notes, not a PDF\n")
    files["encrypted"] = folder / "locked.pdf"
    doc = pymupdf.open(corpus_pdf("1910.01108"))
    doc.save(files["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="secret")
    # An image-only PDF: page pictures, no text layer.
    files["image_only"] = folder / "scanned.pdf"
    scan = pymupdf.open()
    page = scan.new_page()
    pix = pymupdf.open(corpus_pdf("1910.01108"))[0].get_pixmap(dpi=50)
    page.insert_image(page.rect, pixmap=pix)
    scan.save(files["image_only"])
    # An old-style arXiv id with a slash in its stamp.
    files["old_style"] = folder / "old-paper.pdf"
    old = pymupdf.open()
    page = old.new_page()
    page.insert_text((72, 100), "A Study of Old-Style Identifiers", fontsize=18)
    page.insert_text((72, 140), "arXiv:hep-th/9901001v1 [hep-th] 1 Jan 1999")
    page.insert_text((72, 180), "We study string dualities in several dimensions. " * 3)
    old.save(files["old_style"])
    return files


def test_bad_inputs_fail_one_line_each_and_good_files_still_ingest(tmp_path):
    _bad_inputs(tmp_path / "bad")
    good = copy_papers(["1910.01108"], tmp_path / "good", with_metadata=False) / "1910.01108.pdf"
    missing = tmp_path / "does-not-exist.pdf"
    result = run_cli(tmp_path / "home", "ingest", "--offline", "--json", str(tmp_path / "bad"), str(good), str(missing))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert set(failed) == {"empty.pdf", "truncated.pdf", "notes.pdf", "locked.pdf", "does-not-exist.pdf"}
    assert "empty" in failed["empty.pdf"] and "encrypted" in failed["locked.pdf"]
    assert "not a PDF" in failed["notes.pdf"] and "truncated" in failed["truncated.pdf"]
    for name in failed:  # each failure is one line on stderr naming the file
        assert len([ln for ln in result.stderr.splitlines() if name in ln and ln.startswith("failed:")]) == 1
    assert report["added"] == 3  # the good paper, the image-only scan and the old-style paper
    assert "no text layer" in result.stderr
    catalog = Catalog(load_settings(tmp_path / "home").index_dir)
    old = catalog.paper("hep-th/9901001")
    assert old is not None
    stored = (tmp_path / "home" / old.file).resolve()
    assert stored.parent == (tmp_path / "home" / "corpus" / "papers").resolve()
    assert stored.name == "hep-th_9901001v1.pdf"


def _chunks_per_paper(home: Path) -> dict[str, int]:
    return {p.paper_id: p.chunks for p in Catalog(load_settings(home).index_dir).papers()}


def test_kill_9_mid_ingest_then_rerun_matches_a_clean_run(tmp_path, ingested_home):
    names = ["2305.02301", "2203.02155", "1910.01108"]
    source = copy_papers(names, tmp_path / "in")
    home = tmp_path / "home"
    proc = subprocess.Popen([sys.executable, "-m", "surveyor", "--home", str(home), "ingest", "--offline", str(source)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    catalog_file = home / "index" / "catalog.sqlite"
    # Kill once the first paper is committed, while the others are in flight.
    while time.time() < deadline and proc.poll() is None:
        if catalog_file.exists() and _chunks_per_paper(home):
            break
        time.sleep(0.2)
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    result = run_cli(home, "ingest", "--offline", "--json", str(source))
    assert result.returncode == 0, result.stderr
    clean = _chunks_per_paper(ingested_home)
    assert _chunks_per_paper(home) == {n: clean[n] for n in names}
    settings = load_settings(home)
    assert VectorStore(settings).count() == sum(clean[n] for n in names)
    assert sorted(p.name for p in (home / "corpus" / "papers").iterdir()) == sorted(
        Path(p.file).name for p in Catalog(settings.index_dir).papers())


def test_second_writer_refuses_clearly_while_the_index_is_locked(tmp_path):
    home = tmp_path / "home"
    (home).mkdir()
    (home / "surveyor.toml").write_text("[index]\nlock_timeout_s = 1\n")
    source = copy_papers(["1910.01108"], tmp_path / "in")
    lock = FileLock(str(home / "index" / "write.lock")) if (home / "index").mkdir() is None else None
    with lock:
        result = run_cli(home, "ingest", "--offline", str(source))
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1].startswith("surveyor: error: another surveyor process is writing")
    assert not (home / "index" / "catalog.sqlite").exists() or not _chunks_per_paper(home)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chroma_server_by_configuration_alone(tmp_path):
    chroma = Path(sys.executable).parent / "chroma"
    port = _free_port()
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.3)
        home = tmp_path / "home"
        home.mkdir()
        (home / "surveyor.toml").write_text(f'[index]\nchroma_url = "http://127.0.0.1:{port}"\n')
        report = ingest(home, copy_papers(["1707.06347"], tmp_path / "in"))
        assert report.added == 1
        settings = load_settings(home)
        store = VectorStore(settings)
        assert store.count() == report.chunks
        assert not (home / "index" / "chroma").exists()  # nothing went to the embedded store
        from surveyor.index.embedder import get_embedder

        [hits] = store.nearest([get_embedder(settings.embedding).embed_one("clipped surrogate objective")], 3)
        assert len(hits) == 3 and all(cid.startswith("1707.06347") for cid, _ in hits), hits
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_papers_left_unscored_by_a_killed_run_are_scored_on_the_next(tmp_path, ingested_home):
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    catalog = Catalog(load_settings(home).index_dir)
    try:
        before = {p.paper_id: p.topics for p in catalog.papers()}
        catalog.set_topics({pid: {} for pid in list(before)[:2]})  # as if killed between commit and scoring
    finally:
        catalog.close()
    report = ingest(home, copy_papers(["1910.01108"], tmp_path / "in"))
    assert report.unchanged == 1 and report.added == 0
    catalog = Catalog(load_settings(home).index_dir)
    try:
        after = {p.paper_id: p.topics for p in catalog.papers()}
    finally:
        catalog.close()
    assert after == before
