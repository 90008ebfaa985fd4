"""Generator backends behind one small interface.

    LLM (protocol)       name + chat(system, user, max_tokens, stop) -> str
    ├── EmbeddedLLM      llama.cpp in this process, the GGUF that `make setup` assembled
    └── OllamaLLM        an Ollama server at settings.ollama_host, through llama-index's client
    (none)               make_llm returns None; callers build extractive answers instead

`make_llm(spec, settings)` picks one. "auto" decides once, up front: Ollama if
the configured host answers `GET /api/tags` within `probe_timeout_s` and lists
the configured model, otherwise the embedded model. After that no backend ever
falls back to another: a failing backend raises `LLMError` with one line that
names the backend and the host or file.

Generation is deterministic: temperature 0 and a fixed seed on every backend.
No backend talks to any host other than the configured one (proxy variables
from the environment are ignored).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from surveyor.errors import LLMError
from surveyor.settings import LLMSettings

EMBEDDED_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SEED = 0
VALID_SPECS = "auto, embedded, ollama, ollama:MODEL, none"

# Chat-template tokens around each message (Qwen: "<|im_start|>role\n ... <|im_end|>\n")
# and the assistant header that opens the reply. Generous, so the budget check errs safe.
_TOKENS_PER_MESSAGE = 6
_TOKENS_REPLY_HEADER = 4

Message = dict[str, str]


@runtime_checkable
class LLM(Protocol):
    """What the rest of surveyor needs from a generator."""

    name: str

    def chat(self, system: str, user: str, max_tokens: int = 256, stop: list[str] | None = None) -> str:
        """The model's reply to one system + one user message (greedy, at most max_tokens tokens)."""
        ...


def default_gguf_path(settings: LLMSettings | None = None) -> Path:
    """settings.gguf_path, else $SURVEYOR_GGUF, else the file `make setup` assembled in this venv."""
    if settings is not None and settings.gguf_path:
        return Path(settings.gguf_path).expanduser()
    if os.environ.get("SURVEYOR_GGUF"):
        return Path(os.environ["SURVEYOR_GGUF"]).expanduser()
    return Path(sys.prefix) / "share" / "surveyor" / "models" / EMBEDDED_MODEL_FILE


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------- embedded


@dataclass(frozen=True)
class Generation:
    """One finished reply with the counts a reproducibility record (or an Ollama response) needs."""

    text: str
    finish_reason: str  # "stop" (end of turn or a stop string) or "length" (max_tokens reached)
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Delta:
    """One streamed piece of a reply; finish_reason is set on the last piece only."""

    text: str
    finish_reason: str | None = None


class _LoadedModel:
    """A llama.cpp model plus the lock that serialises its use (llama.cpp contexts are not thread-safe)."""

    def __init__(self, llama: Any, load_seconds: float) -> None:
        self.llama = llama
        self.load_seconds = load_seconds
        self.lock = threading.Lock()


# Evaluating the prompt is most of an answer's time on a CPU (a question's ~500 uncached tokens at
# ~90 tokens/s with AVX2 kernels, against ~34 generated tokens/s). One 1,024-token batch with flash
# attention evaluates a question's prompt in one pass: 12% faster than llama.cpp's defaults (512,
# no flash attention) on ask's prompts.
PROMPT_BATCH = 1024

# Loading the GGUF takes seconds and ~1.2 GB: one copy per (path, n_ctx, threads) per process.
_MODEL_CACHE: dict[tuple[str, int, int], _LoadedModel] = {}
_MODEL_CACHE_LOCK = threading.Lock()


def _load_model(path: Path, n_ctx: int, threads: int) -> _LoadedModel:
    key = (str(path.resolve()), n_ctx, threads)
    with _MODEL_CACHE_LOCK:
        if key in _MODEL_CACHE:
            return _MODEL_CACHE[key]
        try:
            import llama_cpp
        except ImportError:
            raise LLMError("embedded backend needs llama-cpp-python, which is not installed; "
                           "run `make setup`, or use --llm none") from None
        started = time.perf_counter()
        try:
            llama = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads,
                                    n_threads_batch=threads, n_batch=PROMPT_BATCH, n_ubatch=PROMPT_BATCH,
                                    flash_attn=True, seed=SEED, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"embedded model at {path} could not be loaded ({_one_line(exc)}); "
                           "rerun `make setup`, or use --llm none") from None
        loaded = _LoadedModel(llama, time.perf_counter() - started)
        _MODEL_CACHE[key] = loaded
        return loaded


def free_cores(sample_s: float = 0.1) -> int:
    """Cores idle right now (at least 1), from the CPU times over the next sample_s seconds.

    Not the load average: it lags by a minute, so just after a generation it still counts this
    process's own threads as busy and halves the next one's threads. Under contention fewer
    threads win: measured here, 1 thread made 10 tokens in 7 s where 2 threads took 40 s.
    """
    import psutil

    cores = os.cpu_count() or 1
    busy = psutil.cpu_percent(interval=sample_s) / 100 * cores
    return max(1, min(cores, round(cores - busy)))


class EmbeddedLLM:
    """Qwen2.5-Coder-1.5B-Instruct (or any chat GGUF) run by llama.cpp inside this process.

    Construction loads the model (cached per path, n_ctx and threads, so a second
    instance is free). Calls from several threads are serialised. threads=0 (the default
    setting) picks the threads before each generation: the cores free at that moment.
    """

    def __init__(self, model_path: str | Path, n_ctx: int = 4096, threads: int = 0) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise LLMError(f"embedded model not found at {self.model_path}; run `make setup`, or use --llm none")
        self.n_ctx = n_ctx
        self.auto_threads = threads <= 0
        self.threads = (os.cpu_count() or 1) if self.auto_threads else threads
        self.name = f"embedded:{self.model_path.stem}"
        self._model = _load_model(self.model_path, n_ctx, self.threads)

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> EmbeddedLLM:
        return cls(default_gguf_path(settings), n_ctx=settings.n_ctx, threads=settings.threads)

    @property
    def llama(self) -> Any:
        """The underlying llama_cpp.Llama, shared by every EmbeddedLLM with the same path, n_ctx and threads."""
        return self._model.llama

    @property
    def load_seconds(self) -> float:
        """How long the (first) load of this model took in this process."""
        return self._model.load_seconds

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` (no BOS; special tokens such as <|im_end|> count as one)."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of a chat prompt, template included (a close upper estimate)."""
        content = sum(self.count_tokens(m.get("content", "")) for m in messages)
        return content + _TOKENS_PER_MESSAGE * len(messages) + _TOKENS_REPLY_HEADER

    def chat(self, system: str, user: str, max_tokens: int = 256, stop: list[str] | None = None) -> str:
        return self.generate(_system_user(system, user), max_tokens=max_tokens, stop=stop).text

    def generate(self, messages: Sequence[Message], max_tokens: int = 256,
                 stop: list[str] | None = None) -> Generation:
        """Greedy reply to a whole conversation, with token counts."""
        prompt_tokens = self._check_budget(messages, max_tokens)
        with self._model.lock:
            self._pick_threads()
            try:
                result = self.llama.create_chat_completion(
                    messages=list(messages), temperature=0.0, seed=SEED,
                    max_tokens=max_tokens, stop=stop or None)
            except ValueError as exc:  # llama.cpp's own context-overflow check
                raise LLMError(f"{self.name}: {_one_line(exc)}") from None
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Generation(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=usage.get("prompt_tokens", prompt_tokens),
            completion_tokens=usage.get("completion_tokens", 0),
        )

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               stop: list[str] | None = None) -> Iterator[Delta]:
        """Greedy reply piece by piece (about one token each). Holds the model until exhausted or closed.

        The prompt budget is checked now, before the first piece is asked for.
        """
        self._check_budget(messages, max_tokens)
        return self._stream(list(messages), max_tokens, stop)

    def _stream(self, messages: list[Message], max_tokens: int, stop: list[str] | None) -> Iterator[Delta]:
        with self._model.lock:
            self._pick_threads()
            try:
                chunks = self.llama.create_chat_completion(
                    messages=messages, temperature=0.0, seed=SEED,
                    max_tokens=max_tokens, stop=stop or None, stream=True)
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason")
                    if text or finish:
                        yield Delta(text, finish)
            except ValueError as exc:
                raise LLMError(f"{self.name}: {_one_line(exc)}") from None

    def _pick_threads(self) -> None:
        """This generation's threads: the cores free now when auto, else the fixed count (the loaded
        model may be shared with an instance of the other kind). The model's lock is held."""
        import llama_cpp

        if self.auto_threads:
            self.threads = free_cores()
        llama_cpp.llama_set_n_threads(self.llama.ctx, self.threads, self.threads)

    def _check_budget(self, messages: Sequence[Message], max_tokens: int) -> int:
        """Raise before generating when prompt + reply cannot fit in n_ctx; returns the prompt's tokens."""
        if max_tokens < 1:
            raise LLMError(f"{self.name}: max_tokens must be at least 1, got {max_tokens}")
        prompt_tokens = self.count_prompt_tokens(messages)
        budget = self.n_ctx - max_tokens
        if prompt_tokens > budget:
            raise LLMError(
                f"{self.name}: prompt is about {prompt_tokens} tokens but only {budget} fit "
                f"(n_ctx {self.n_ctx} minus max_tokens {max_tokens}); "
                "pass fewer passages, lower max_tokens, or raise llm.n_ctx")
        return prompt_tokens


def _system_user(system: str, user: str) -> list[Message]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return messages


# --------------------------------------------------------------------------- ollama


class OllamaLLM:
    """A model served by Ollama at `host`, called through llama-index's Ollama client.

    Every failure (refused connection, timeout, HTTP error, model not pulled)
    becomes a one-line LLMError naming the host. Connecting gets at most
    `connect_timeout_s`; an answer gets `timeout_s`.
    """

    def __init__(self, model: str, host: str, timeout_s: float = 180.0, n_ctx: int = 4096,
                 connect_timeout_s: float = 5.0) -> None:
        import httpx
        import ollama

        self.model = model
        self.host = host.rstrip("/")
        self.timeout_s = timeout_s
        self.n_ctx = n_ctx
        self.name = f"ollama:{model}"
        timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))
        # trust_env=False: no proxy from the environment may sit between us and the configured host.
        self._client = ollama.Client(host=self.host, timeout=timeout, trust_env=False)
        # Pooled keep-alive connections are closed with the object, or earlier by close().
        self._finalizer = weakref.finalize(self, self._client.close)

    def close(self) -> None:
        """Close pooled connections to the server (also done when the object is collected)."""
        self._finalizer()

    @classmethod
    def from_settings(cls, settings: LLMSettings, model: str | None = None) -> OllamaLLM:
        return cls(model or settings.ollama_model, settings.ollama_host,
                   timeout_s=settings.timeout_s, n_ctx=settings.n_ctx)

    def chat(self, system: str, user: str, max_tokens: int = 256, stop: list[str] | None = None) -> str:
        from llama_index.core.llms import ChatMessage, MessageRole
        from llama_index.llms.ollama import Ollama

        options: dict[str, Any] = {"num_predict": max_tokens, "seed": SEED}
        if stop:
            options["stop"] = list(stop)
        # context_window is given so the client does not ask /api/show first; it becomes num_ctx.
        client = Ollama(model=self.model, base_url=self.host, request_timeout=self.timeout_s,
                        temperature=0.0, context_window=self.n_ctx, additional_kwargs=options,
                        client=self._client)
        messages = [ChatMessage(role=MessageRole.SYSTEM, content=system)] if system else []
        messages.append(ChatMessage(role=MessageRole.USER, content=user))
        try:
            response = client.chat(messages)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one LLMError line
            raise self._as_llm_error(exc) from None
        return response.message.content or ""

    def _as_llm_error(self, exc: Exception) -> LLMError:
        import httpx
        import ollama

        where = f"ollama at {self.host}"
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return LLMError(f"{where} has no model '{self.model}' ({_one_line(exc.error)}); "
                                f"run `ollama pull {self.model}`, or use --llm none")
            return LLMError(f"{where} failed: {_one_line(exc.error)} (HTTP {exc.status_code})")
        if isinstance(exc, httpx.TimeoutException):
            return LLMError(f"{where} did not answer within {self.timeout_s:g} s; "
                            "raise llm.timeout_s, or use --llm none")
        if isinstance(exc, ConnectionError):  # the ollama client's translation of httpx.ConnectError
            cause = exc.__context__ or exc
            reason = "connection refused" if "refused" in str(cause).lower() else _one_line(cause)
            return LLMError(f"{where} unreachable ({reason}); start it or use --llm none")
        if isinstance(exc, httpx.HTTPError):
            return LLMError(f"{where} failed ({type(exc).__name__}: {_one_line(exc)}); "
                            "check the server, or use --llm none")
        return LLMError(f"{where} failed ({type(exc).__name__}: {_one_line(exc)})")


def ollama_serves(host: str, model: str, timeout_s: float) -> bool:
    """True when an Ollama server at `host` answers GET /api/tags within timeout_s and lists `model`."""
    import httpx

    try:
        response = httpx.get(f"{host.rstrip('/')}/api/tags", timeout=timeout_s, trust_env=False)
        response.raise_for_status()
        listed = {entry.get("name") or entry.get("model") for entry in response.json().get("models", [])}
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    wanted = {model, model if ":" in model else f"{model}:latest"}
    return bool(wanted & listed)


# --------------------------------------------------------------------------- choice


def make_llm(spec: str | None, settings: LLMSettings, warm: bool = False) -> LLM | None:
    """The backend named by `spec` (None = settings.backend); None for "none".

    spec: "none" | "embedded" | "ollama" | "ollama:MODEL" | "auto". With `warm`, the embedded
    model is the warm generator server (write.warm) when one runs or can be started.
    """
    spec = (spec if spec is not None else settings.backend).strip()
    if spec == "none":
        return None
    if spec == "embedded":
        return _embedded(settings, warm)
    if spec == "ollama" or spec.startswith("ollama:"):
        return OllamaLLM.from_settings(settings, model=spec.partition(":")[2] or None)
    if spec == "auto":
        if ollama_serves(settings.ollama_host, settings.ollama_model, settings.probe_timeout_s):
            return OllamaLLM.from_settings(settings)
        return _embedded(settings, warm)
    raise LLMError(f"unknown LLM backend {spec!r}; valid: {VALID_SPECS}")


def _embedded(settings: LLMSettings, warm: bool) -> LLM:
    if warm:
        from surveyor.write.warm import warm_llm

        client = warm_llm(settings)
        if client is not None:
            return client
    return EmbeddedLLM.from_settings(settings)
