"""`surveyor ask` keeps the embedded model warm in a background server, and the server goes when idle.

Real parts: the bundled GGUF, the CLI in fresh processes, a unix socket in a temporary runtime folder.
"""
from __future__ import annotations

import json
import shutil
import time

from conftest import run_cli
from surveyor.settings import LLMSettings
from surveyor.write.warm import _alive, socket_path, warm_llm

QUESTION = "What objective does PPO maximize?"


def test_ask_starts_a_warm_generator_and_the_next_ask_uses_it(ingested_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    (home / "surveyor.toml").write_text("[ask]\nmax_tokens = 48\n")
    env = {"SURVEYOR_WARM_IDLE_MINUTES": "0.2", "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    answers = []
    for _ in range(2):
        done = run_cli(home, "ask", QUESTION, "--llm", "embedded", "--json", env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        answers.append(json.loads(done.stdout))
        [sock] = (tmp_path / "run").glob("surveyor-*/llm-*.sock")
        if len(answers) == 1:
            first_server = sock.stat().st_ino  # the same socket file: the same server answered both
    assert sock.stat().st_ino == first_server
    assert all(a["llm"].startswith("embedded:") and not a["abstained"] and a["citations"] for a in answers)
    deadline = time.monotonic() + 120
    while sock.exists() and time.monotonic() < deadline:  # 12 s without a question: it exits
        time.sleep(0.5)
    assert not sock.exists()


def test_warm_off_or_unstartable_means_cold(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert warm_llm(LLMSettings(warm_idle_minutes=0)) is None
    missing = LLMSettings(warm_idle_minutes=1, gguf_path=str(tmp_path / "none.gguf"))
    assert warm_llm(missing) is None and not _alive(socket_path(missing))
