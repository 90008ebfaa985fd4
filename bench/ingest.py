"""Ingest benchmark on the shared corpus.

Prints papers, pages, chunks, seconds to parse (serially, in this process), seconds to embed the
same chunks alone with surveyor's ONNX Runtime embedder and, side by side, with
sentence-transformers (torch; the engine ingest used before, when installed), seconds for the
whole ingest (parsing in worker processes, overlapped with embedding), the ratio
ingest / embed-only (target ≤ 1.18) and the seconds for a re-ingest of the unchanged corpus
(target ≤ 5% of the first).

    python bench/ingest.py [CORPUS_PDF_DIR]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from surveyor.index.chunking import chunk_paper  # noqa: E402
from surveyor.index.embedder import get_embedder  # noqa: E402
from surveyor.index.ingest import Ingestor, discover  # noqa: E402
from surveyor.index.pdfparse import parse_pdf  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "corpus" / "pdf"
    if not corpus.is_dir():
        sys.exit(f"bench/ingest.py: corpus folder not found: {corpus}")
    with tempfile.TemporaryDirectory(prefix="surveyor-bench-") as tmp:
        settings = load_settings(Path(tmp) / "home")
        pdfs, _, _ = discover([corpus])
        embedder = get_embedder(settings.embedding)
        embedder.embed(["warm up the model"])  # model load is not what we measure

        started = time.perf_counter()
        parsed = [parse_pdf(p) for p in pdfs]
        parse_s = time.perf_counter() - started
        chunks = [c for p in parsed for c in chunk_paper(p, embedder.count_tokens, settings.chunking.max_tokens,
                                                         settings.chunking.min_tokens)]
        started = time.perf_counter()
        embedder.embed([c.embedding_text() for c in chunks])
        embed_s = time.perf_counter() - started
        torch_s = torch_embed_seconds(embedder, [c.embedding_text() for c in chunks])

        started = time.perf_counter()
        report = Ingestor(settings, arxiv_lookup=False, progress=False).run([corpus])
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        again = Ingestor(settings, arxiv_lookup=False, progress=False).run([corpus])
        reingest_s = time.perf_counter() - started

    pages = sum(len(p.pages) for p in parsed)
    print(f"papers              {report.papers}")
    print(f"pages               {pages}")
    print(f"chunks              {report.chunks}")
    print(f"parse_s             {parse_s:.1f}")
    print(f"embed_only_s        {embed_s:.1f}  ({len(chunks) / embed_s:.1f} chunks/s, ONNX Runtime)")
    if torch_s:
        print(f"embed_torch_s       {torch_s:.1f}  ({len(chunks) / torch_s:.1f} chunks/s, sentence-transformers)")
    print(f"ingest_s            {ingest_s:.1f}")
    print(f"ingest/embed_only   {ingest_s / embed_s:.3f}  (target <= 1.18)")
    print(f"reingest_s          {reingest_s:.2f}  ({100 * reingest_s / ingest_s:.1f}% of first; target <= 5%)")
    print(f"reingest_unchanged  {again.unchanged} (added {again.added}, updated {again.updated})")
    if report.failed:
        print(f"failed              {report.failed}")


def torch_embed_seconds(embedder, texts: list[str]) -> float | None:
    """The same texts through sentence-transformers, as ingest embedded before the ONNX engine."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(str(embedder.path), device="cpu", local_files_only=True)
    model.max_seq_length = embedder.settings.max_seq_tokens
    model.encode(["warm up the model"])
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
