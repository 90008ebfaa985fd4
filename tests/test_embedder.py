"""The ONNX Runtime embedder reproduces sentence-transformers, the model's reference implementation.

Both run the real all-MiniLM-L6-v2 files (the graph is the one `make setup` exported); an index
built by either must be searchable with the other, so vectors must agree to 1e-4 on real chunks.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from conftest import corpus_pdf, run_cli
from surveyor.index.chunking import chunk_paper
from surveyor.index.embedder import Embedder
from surveyor.index.pdfparse import parse_pdf
from surveyor.settings import EmbeddingSettings

TEXTS = [
    "What is the clipped surrogate objective that PPO maximizes?",
    "x",
    "Ünïcode ε = 0.2, π and ∑ in a sentence that is long enough to be truncated. " * 40,  # > 256 word pieces
]


def test_onnx_vectors_equal_sentence_transformers_on_real_chunks():
    from sentence_transformers import SentenceTransformer

    embedder = Embedder(EmbeddingSettings())
    chunks = chunk_paper(parse_pdf(corpus_pdf("1910.01108")), embedder.count_tokens, 200, 24)
    texts = [c.embedding_text() for c in chunks[:24]] + TEXTS
    got = embedder.embed(texts)
    reference = SentenceTransformer(str(embedder.path), device="cpu", local_files_only=True)
    reference.max_seq_length = embedder.settings.max_seq_tokens
    want = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert got.shape == want.shape == (len(texts), embedder.dimension)
    assert np.abs(got - want).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Word-piece counts (which size the chunks) are the reference tokenizer's.
    assert embedder.count_tokens(texts) == [len(ids) for ids in reference.tokenizer(
        texts, add_special_tokens=False, truncation=False)["input_ids"]]


def test_embedding_never_imports_torch():
    # A fresh process: a question's embedding must not pay for torch or sentence-transformers.
    code = ("import sys; from surveyor.index.embedder import get_embedder; from surveyor.settings import EmbeddingSettings; "
            "v = get_embedder(EmbeddingSettings()).embed(['distillation token'] * 300); "
            "print(v.shape[1], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["384", "False", "False"]


def test_missing_graph_is_one_line_error(tmp_path, corpus_dir):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "a.pdf").write_bytes(corpus_pdf("1707.06347").read_bytes())
    done = run_cli(tmp_path / "home", "ingest", str(pdfs), env={"SURVEYOR_EMBEDDER_ONNX": str(tmp_path / "none.onnx")})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "embedder graph not found" in last and "make setup" in last, done.stderr
