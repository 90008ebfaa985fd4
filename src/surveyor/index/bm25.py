"""Keyword retrieval: BM25 (the `bm25s` library) over every chunk in the catalog.

Dense retrieval misses exact tokens — a model name ("DistilBERT"), a number
("0.2"), a symbol-heavy phrase — that BM25 finds at once; hybrid retrieval
(retrieve.py) fuses the two.

The index covers every chunk, references included: filtering (papers, years,
kind) happens at query time, so one index serves every query. It is persisted
under `<home>/index/bm25/<key>/`, where the key is the catalog's content hash
plus BM25_RECIPE; the key is also written into `meta.json` beside the arrays.
It is rebuilt only when that key changes, i.e. when a paper was added,
replaced or removed (or the tokenizer changed); ingest does that at its end, so
the next question does not pay for it. The update is incremental where the cost
is: tokenizing (70% of a build) is done once per paper version and kept under
`<home>/index/bm25-tokens/`, so a rebuild tokenizes only the papers that are new
and re-weights the rest (IDF depends on the whole corpus), ~0.4 s per 12k chunks.
A build is written to a private temporary folder and renamed into place, so a
reader never sees half an index and two processes building at once cannot
corrupt each other.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from surveyor import versions
from surveyor.files import atomic_write_json
from surveyor.index.catalog import Catalog, ChunkRow
from surveyor.textnorm import STOPWORDS, match_key, s_stem

# Bump when tokenization or BM25 parameters change: persisted indexes with another recipe are rebuilt.
BM25_RECIPE = f"bm25-v1-chunker{versions.CHUNKER}"
META_FILE = "meta.json"
TOKENS_FOLDER = "bm25-tokens"  # beside bm25/, whose superseded folders are swept on every save
# Lucene's defaults; chunks are short and similar in length, so length normalisation matters little.
BM25_K1 = 1.5
BM25_B = 0.75

# Words, numbers with a decimal part (0.2, 55.2) and hyphen/dot compounds (gpt-4, self-attention, r1-zero).
_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # 16,000 → 16000, as a query would write it


def tokenize(text: str) -> list[str]:
    """BM25 tokens: match_key-normalised, stopwords dropped; a compound adds its parts (gpt-4 → gpt-4, gpt, 4)."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(_THOUSANDS.sub("", match_key(text))):
        parts = [raw]
        if "-" in raw or ("." in raw and not raw.replace(".", "").isdigit()):
            parts += [p for p in re.split(r"[.\-]", raw) if p]
        for part in parts:
            if part in STOPWORDS or (len(part) == 1 and not part.isdigit()):
                continue
            tokens.append(s_stem(part))
    return tokens


@dataclass(frozen=True)
class BM25Hit:
    chunk_id: str
    row: int
    score: float


class BM25Index:
    """A BM25 model plus the chunk id of each row. Build with `build`, or `for_catalog` to persist and reuse."""

    def __init__(self, model, chunk_ids: list[str], key: str = ""):
        self.model = model
        self.chunk_ids = chunk_ids
        self.key = key

    def __len__(self) -> int:
        return len(self.chunk_ids)

    # --- building -------------------------------------------------------------
    @classmethod
    def build(cls, chunk_ids: Sequence[str], texts: Sequence[str], key: str = "") -> BM25Index:
        return cls.from_tokens(chunk_ids, [tokenize(t) for t in texts], key)

    @classmethod
    def from_tokens(cls, chunk_ids: Sequence[str], tokens: Sequence[list[str]], key: str = "") -> BM25Index:
        import bm25s

        model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if tokens:
            model.index(list(tokens), show_progress=False)
        return cls(model if tokens else None, list(chunk_ids), key)

    @classmethod
    def for_catalog(cls, catalog: Catalog, index_dir: Path) -> BM25Index:
        """The persisted index for the catalog's current content, rebuilt (and saved) only if that changed."""
        key = index_key(catalog)
        root = index_dir / "bm25"
        loaded = cls.load(root / key, key)
        if loaded is not None:
            return loaded
        rows = catalog.chunks()
        index = cls.from_tokens([r.chunk_id for r in rows], chunk_tokens(rows, index_dir / TOKENS_FOLDER), key)
        # Persist only what is consistent: an ingest that committed while we read changes the key.
        if index_key(catalog) == key:
            try:
                index.save(root, key)
            except OSError:  # a read-only home still answers queries; it rebuilds each time
                pass
        return index

    # --- persistence ------------------------------------------------------------
    def save(self, root: Path, key: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        staging = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            if self.model is not None:
                self.model.save(str(staging), show_progress=False)
            (staging / META_FILE).write_text(json.dumps({"key": key, "recipe": BM25_RECIPE,
                                                         "chunk_ids": self.chunk_ids}))
            try:
                os.rename(staging, root / key)
            except OSError:  # another process saved the same key first: theirs is as good as ours
                shutil.rmtree(staging, ignore_errors=True)
                return
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for old in root.iterdir():  # superseded keys and temp folders of crashed builds
            if old.name != key and old.is_dir() and not old.name.startswith(f".tmp-{os.getpid()}-"):
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, key: str) -> BM25Index | None:
        """The index saved in `folder` if it carries `key`; None when absent or unreadable (then it is rebuilt)."""
        import bm25s

        try:
            meta = json.loads((folder / META_FILE).read_text())
            if meta.get("key") != key:
                return None
            ids = meta["chunk_ids"]
            model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0) if ids else None
        except (OSError, ValueError, KeyError):
            return None
        return cls(model, ids, key)

    # --- querying -------------------------------------------------------------
    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for the query (zeros when no query token is in the vocabulary)."""
        if self.model is None:
            return np.zeros(0, dtype=np.float32)
        vocab = self.model.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return self.model.get_scores(tokens)

    def rows_with_all(self, tokens: Sequence[str]) -> np.ndarray:
        """Boolean mask of the rows containing every one of these (already tokenized) tokens."""
        mask = np.ones(len(self.chunk_ids), dtype=bool)
        if self.model is None:
            return mask[:0]
        for token in tokens:
            if token not in self.model.vocab_dict:
                return np.zeros(len(self.chunk_ids), dtype=bool)
            mask &= self.model.get_scores([token]) > 0
        return mask

    def idf(self, token: str) -> float:
        """Inverse document frequency of an (already tokenized) token: log(1 + N / df); unseen tokens weigh most."""
        n = len(self.chunk_ids)
        if self.model is None or token not in self.model.vocab_dict:
            return math.log(1 + n) if n else 0.0
        df = int(np.count_nonzero(self.model.get_scores([token]) > 0))
        return math.log(1 + n / max(1, df))

    def search(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[BM25Hit]:
        """Top n rows with a positive score; `allowed` is a boolean mask of rows that may be returned."""
        scores = self.scores(query)
        if scores.size == 0:
            return []
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, int(np.count_nonzero(scores > 0)))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]  # score descending, row ascending on ties: deterministic
        return [BM25Hit(self.chunk_ids[i], int(i), float(scores[i])) for i in top]


def chunk_tokens(rows: Sequence[ChunkRow], folder: Path) -> list[list[str]]:
    """BM25 tokens of each row. A paper's are read from its file in `folder` when this recipe tokenized
    the same chunks before (the file is named by a hash of the recipe and the chunk ids, which carry the
    PDF's hash), else tokenized and written there. Files of papers no longer in `rows` are removed."""
    by_paper: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_paper.setdefault(row.paper_id, []).append(i)
    tokens: list[list[str]] = [[] for _ in rows]
    used: set[str] = set()
    for members in by_paper.values():
        ids = "\n".join([BM25_RECIPE, *(rows[i].chunk_id for i in members)])
        path = folder / f"{hashlib.sha256(ids.encode()).hexdigest()[:24]}.json"
        used.add(path.name)
        known = _read_tokens(path, len(members))
        if known is None:
            known = [tokenize(rows[i].text) for i in members]
            _write_tokens(path, known)
        for i, row_tokens in zip(members, known):
            tokens[i] = row_tokens
    if folder.is_dir():
        for old in folder.iterdir():  # gone papers, and temp files of a writer that crashed (or races us)
            if old.name not in used:
                old.unlink(missing_ok=True)
    return tokens


def _read_tokens(path: Path, count: int) -> list[list[str]] | None:
    try:
        lines = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(lines, list) or len(lines) != count:
        return None
    return [line.split() for line in lines]


def _write_tokens(path: Path, tokens: list[list[str]]) -> None:
    try:  # tokens never hold spaces: one string per chunk keeps the file small and quick to read
        atomic_write_json(path, [" ".join(t) for t in tokens], indent=None)
    except OSError:  # a read-only home: tokenized again next time
        pass


def index_key(catalog: Catalog) -> str:
    """What the persisted index must match: the corpus content and the BM25 recipe."""
    return f"{catalog.content_hash()}-{re.sub(r'[^a-z0-9]', '', BM25_RECIPE)}"
