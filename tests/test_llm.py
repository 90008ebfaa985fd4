"""Generator backends and prompt files, against the real embedded model (no mocks).

The Ollama path runs over real HTTP: tests/ollama_server.py speaks Ollama's API
on loopback and answers with the same embedded model, so llama-index's Ollama
client is exercised end to end. Generations stay short (<= 24 tokens).
"""
from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator

import ollama
import pytest

from ollama_server import OllamaReplayServer
from surveyor.errors import LLMError, SurveyorError
from surveyor.settings import LLMSettings, prompts_dir
from surveyor.write.llm import LLM, EmbeddedLLM, OllamaLLM, default_gguf_path, make_llm
from surveyor.write.prompts import load_prompt

MODEL_NAME = "qwen-test"


@pytest.fixture(scope="session")
def embedded_llm() -> EmbeddedLLM:
    """The embedded model, loaded once for the whole test session (later loads hit the cache)."""
    path = default_gguf_path(LLMSettings())
    if not path.is_file():
        pytest.fail(f"embedded model missing at {path}: run `make setup` first")
    return EmbeddedLLM.from_settings(LLMSettings())


@pytest.fixture(scope="module")
def replay_server(embedded_llm: EmbeddedLLM) -> Iterator[OllamaReplayServer]:
    with OllamaReplayServer(llm=embedded_llm, model_name=MODEL_NAME) as server:
        yield server


@pytest.fixture()
def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def capital_question(country: str = "France") -> tuple[str, str]:
    return load_prompt("selftest").render(country=country)


# --------------------------------------------------------------------------- embedded


def test_embedded_answers_a_short_question(embedded_llm: EmbeddedLLM) -> None:
    system, user = capital_question()
    answer = embedded_llm.chat(system, user, max_tokens=16)
    assert embedded_llm.name == "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert isinstance(embedded_llm, LLM)
    assert "Paris" in answer
    # threads = 0 by default: this generation took the cores free just before it
    assert embedded_llm.auto_threads and 1 <= embedded_llm.threads <= (os.cpu_count() or 1)


def test_embedded_is_deterministic_and_honours_stop(embedded_llm: EmbeddedLLM) -> None:
    user = "Count from 1 to 10, separated by commas. Output only the numbers."
    first = embedded_llm.chat("", user, max_tokens=12)
    assert first == embedded_llm.chat("", user, max_tokens=12)
    assert "1, 2, 3, 4" in first
    stopped = embedded_llm.chat("", user, max_tokens=12, stop=["4"])
    assert "3" in stopped and "4" not in stopped


def test_embedded_model_is_loaded_once_per_process(embedded_llm: EmbeddedLLM) -> None:
    started = time.perf_counter()
    again = make_llm("embedded", LLMSettings())
    assert time.perf_counter() - started < 0.5
    assert isinstance(again, EmbeddedLLM) and again.llama is embedded_llm.llama


def test_embedded_counts_tokens_and_refuses_an_oversized_prompt(embedded_llm: EmbeddedLLM) -> None:
    assert embedded_llm.count_tokens("Paris") == 1
    assert embedded_llm.count_tokens("<|im_end|>") == 1
    too_long = "distillation " * (embedded_llm.n_ctx + 100)
    with pytest.raises(LLMError, match=r"only \d+ fit \(n_ctx 4096 minus max_tokens 16\)"):
        embedded_llm.chat("", too_long, max_tokens=16)


def test_missing_gguf_names_the_path_and_the_fix(tmp_path) -> None:
    missing = tmp_path / "nothing.gguf"
    with pytest.raises(LLMError) as err:
        make_llm("embedded", LLMSettings(gguf_path=str(missing)))
    assert str(err.value) == f"embedded model not found at {missing}; run `make setup`, or use --llm none"


def test_default_gguf_path_precedence(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SURVEYOR_GGUF", raising=False)
    assert default_gguf_path().name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    monkeypatch.setenv("SURVEYOR_GGUF", str(tmp_path / "env.gguf"))
    assert default_gguf_path() == tmp_path / "env.gguf"
    assert default_gguf_path(LLMSettings(gguf_path=str(tmp_path / "s.gguf"))) == tmp_path / "s.gguf"


# --------------------------------------------------------------------------- ollama


def test_ollama_backend_answers_through_llama_index(replay_server, embedded_llm) -> None:
    settings = LLMSettings(ollama_host=replay_server.url, ollama_model=MODEL_NAME)
    llm = make_llm("ollama", settings)
    assert isinstance(llm, OllamaLLM) and llm.name == f"ollama:{MODEL_NAME}"
    system, user = capital_question()
    answer = llm.chat(system, user, max_tokens=16, stop=["\n\n"])
    assert "Paris" in answer
    # Same model, same greedy decoding: the HTTP path changes nothing.
    assert answer == embedded_llm.chat(system, user, max_tokens=16, stop=["\n\n"])
    method, path, body = replay_server.requests[-1]
    assert (method, path, body["stream"]) == ("POST", "/api/chat", False)
    assert body["options"]["num_predict"] == 16
    assert body["options"]["stop"] == ["\n\n"]
    assert body["options"]["temperature"] == 0


def test_ollama_spec_with_explicit_model(replay_server) -> None:
    llm = make_llm(f"ollama:{MODEL_NAME}:latest", LLMSettings(ollama_host=replay_server.url))
    assert llm.name == f"ollama:{MODEL_NAME}:latest"
    assert llm.chat("Answer with one word.", "What colour is the sky on a clear day?", max_tokens=8).strip()


@pytest.fixture()
def ollama_client(replay_server) -> Iterator[ollama.Client]:
    """The official ollama client, pointed at the replay server."""
    with ollama.Client(host=replay_server.url, trust_env=False) as client:
        yield client


def test_replay_server_speaks_the_ollama_client_api(ollama_client) -> None:
    client = ollama_client
    assert [m.model for m in client.list().models] == [f"{MODEL_NAME}:latest"]
    shown = client.show(MODEL_NAME)
    assert shown.modelinfo["qwen2.context_length"] == 32768
    assert shown.details.family == "qwen2"
    system, user = capital_question("Italy")
    parts = list(client.chat(model=MODEL_NAME, stream=True, options={"num_predict": 8},
                             messages=[{"role": "system", "content": system},
                                       {"role": "user", "content": user}]))
    assert "Rome" in "".join(p.message.content for p in parts)
    assert all(not p.done for p in parts[:-1])
    assert parts[-1].done and parts[-1].done_reason in ("stop", "length") and parts[-1].eval_count >= 1
    generated = client.generate(model=MODEL_NAME, system=system, prompt=user, options={"num_predict": 8})
    assert "Rome" in generated.response and generated.done
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(model="absent", messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 404 and err.value.error == "model 'absent' not found"


def test_ollama_unknown_model_is_one_clear_line(replay_server) -> None:
    llm = make_llm("ollama:absent", LLMSettings(ollama_host=replay_server.url))
    with pytest.raises(LLMError) as err:
        llm.chat("", "hi", max_tokens=4)
    message = str(err.value)
    assert replay_server.url in message and "absent" in message and "ollama pull absent" in message
    assert "\n" not in message


def test_ollama_closed_port_fails_fast_naming_the_host(closed_port_url) -> None:
    llm = make_llm("ollama", LLMSettings(ollama_host=closed_port_url))
    started = time.perf_counter()
    with pytest.raises(LLMError) as err:
        llm.chat("", "hi", max_tokens=4)
    assert time.perf_counter() - started < 5
    assert str(err.value) == (f"ollama at {closed_port_url} unreachable (connection refused); "
                              "start it or use --llm none")


def test_ollama_silent_server_times_out_with_one_line() -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        host = "http://127.0.0.1:%d" % listener.getsockname()[1]
        llm = make_llm("ollama", LLMSettings(ollama_host=host, timeout_s=0.5))
        started = time.perf_counter()
        with pytest.raises(LLMError, match=r"^ollama at http://127\.0\.0\.1:\d+ did not answer within 0\.5 s"):
            llm.chat("", "hi", max_tokens=4)
        assert time.perf_counter() - started < 5


# --------------------------------------------------------------------------- choosing


def test_auto_picks_ollama_when_it_serves_the_model(replay_server) -> None:
    llm = make_llm("auto", LLMSettings(ollama_host=replay_server.url, ollama_model=MODEL_NAME))
    assert isinstance(llm, OllamaLLM) and llm.name == f"ollama:{MODEL_NAME}"


def test_auto_picks_embedded_when_ollama_is_down(closed_port_url, embedded_llm) -> None:
    started = time.perf_counter()
    llm = make_llm(None, LLMSettings(backend="auto", ollama_host=closed_port_url))
    assert time.perf_counter() - started < 1.5
    assert isinstance(llm, EmbeddedLLM) and llm.name == embedded_llm.name


def test_auto_picks_embedded_when_ollama_lacks_the_model(replay_server, embedded_llm) -> None:
    llm = make_llm("auto", LLMSettings(ollama_host=replay_server.url, ollama_model="other:7b"))
    assert isinstance(llm, EmbeddedLLM)


def test_none_means_no_generator() -> None:
    assert make_llm("none", LLMSettings()) is None
    assert make_llm(None, LLMSettings(backend="none")) is None


def test_unknown_spec_lists_the_valid_ones() -> None:
    with pytest.raises(LLMError, match=r"unknown LLM backend 'gpt4'; valid: auto, embedded, ollama, "
                                       r"ollama:MODEL, none"):
        make_llm("gpt4", LLMSettings())


# --------------------------------------------------------------------------- prompts


def test_prompt_loads_renders_and_hashes_its_file() -> None:
    prompt = load_prompt("selftest")
    path = prompts_dir() / "selftest.txt"
    assert prompt.path == path and prompt.fields == {"country"}
    assert prompt.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_prompt("selftest").sha256 == prompt.sha256
    system, user = prompt.render(country="Japan")
    assert system == "You are a terse assistant. Answer with a single word."
    assert user == "What is the capital of Japan?"


def test_prompt_format_sections_comments_and_literal_braces(tmp_path) -> None:
    (tmp_path / "demo.txt").write_text(
        "# a comment\n\n[system]\nUse JSON like {{\"a\": 1}}.\n\n[user]\n\n{question}\n{evidence}\n\n")
    prompt = load_prompt("demo", directory=tmp_path)
    assert prompt.render(question="Q?", evidence="E.") == ('Use JSON like {"a": 1}.', "Q?\nE.")
    with pytest.raises(SurveyorError, match="needs field\\(s\\) evidence"):
        prompt.render(question="Q?")


def test_prompt_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(SurveyorError, match=f"prompt 'absent' not found at {tmp_path / 'absent.txt'}"):
        load_prompt("absent", directory=tmp_path)
    (tmp_path / "nouser.txt").write_text("[system]\nhello\n")
    with pytest.raises(SurveyorError, match=r"nouser\.txt: missing section\(s\) \[user\]"):
        load_prompt("nouser", directory=tmp_path)
    (tmp_path / "positional.txt").write_text("[system]\n{}\n[user]\nx\n")
    with pytest.raises(SurveyorError, match="positional field"):
        load_prompt("positional", directory=tmp_path)
    with pytest.raises(SurveyorError, match="bad prompt name"):
        load_prompt("../etc/passwd", directory=tmp_path)
