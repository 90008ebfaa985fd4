"""The two engines of the bundled embedder agree: torch (sentence-transformers) and numpy.

Both run the real all-MiniLM-L6-v2 files; the numpy one must reproduce the torch vectors,
because an index built by one is searched with the other.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from surveyor.index.embedder import Embedder
from surveyor.index.minilm_numpy import NumpyEncoder
from surveyor.settings import EmbeddingSettings

TEXTS = [
    "What is the clipped surrogate objective that PPO maximizes?",
    "DistilBERT was trained on 8 16GB V100 GPUs for approximately 90 hours.",
    "x",
    "Ünïcode ε = 0.2, π and ∑ in a sentence that is long enough to be truncated. " * 40,  # > 256 word pieces
]


def test_numpy_engine_reproduces_the_torch_vectors():
    embedder = Embedder(EmbeddingSettings())
    light = NumpyEncoder(embedder.path, embedder.settings.max_seq_tokens).encode(TEXTS)
    reference = embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert light.shape == reference.shape == (len(TEXTS), embedder.dimension)
    assert np.abs(light - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(light, axis=1), 1.0, atol=1e-5)


def test_short_jobs_never_import_torch():
    # A fresh process: embedding a query must not pay for torch or sentence-transformers.
    code = ("import sys; from surveyor.index.embedder import get_embedder; from surveyor.settings import EmbeddingSettings; "
            "v = get_embedder(EmbeddingSettings()).embed_one('distillation token'); "
            "print(v.shape[0], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["384", "False", "False"]
