"""A warm generator for `surveyor ask`: the embedded model kept loaded in a small background process.

A cold `surveyor ask --llm embedded` pays for loading the GGUF and evaluating the fixed system
prompt on every question. The CLI's ask instead talks to a generator server over a unix socket
(one per model file and context size, for this user, under $XDG_RUNTIME_DIR or the temp folder):
  - the first question starts it (`python -m surveyor.write.warm`, detached, its log beside the
    socket) and waits for it to load; later questions find it loaded,
  - it answers one chat at a time with the same greedy settings as EmbeddedLLM; llama.cpp keeps
    the previous prompt's evaluated tokens, so the system prompt that starts every question is
    not evaluated again (its prompt cache),
  - before each answer it sets llama.cpp's threads to the cores free at that moment
    (llm.free_cores): on a busy machine one thread beats two that fight for a core,
  - it exits after `llm.warm_idle_minutes` without a question (0: never started, ask runs cold).
If the server cannot start or answer, ask loads the model in its own process as before.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from surveyor.errors import LLMError
from surveyor.index.parse_pool import child_env
from surveyor.settings import LLMSettings
from surveyor.write.llm import EmbeddedLLM, default_gguf_path

START_TIMEOUT_S = 180.0


def socket_path(settings: LLMSettings) -> Path:
    gguf = default_gguf_path(settings).resolve()
    key = hashlib.sha256(f"{gguf}|{settings.n_ctx}".encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"surveyor-{os.getuid()}"
    return base / f"llm-{key}.sock"


def _call(path: Path, request: dict, timeout: float) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            part = sock.recv(65536)
            if not part:
                raise ConnectionError("warm generator closed the connection")
            data += part
    return json.loads(data)


class WarmLLM:
    """The LLM interface (chat) answered by the warm generator server."""

    def __init__(self, path: Path, name: str, timeout_s: float):
        self.path = path
        self.name = name
        self.timeout_s = timeout_s

    def chat(self, system: str, user: str, max_tokens: int = 256, stop: list[str] | None = None) -> str:
        try:
            reply = _call(self.path, {"system": system, "user": user, "max_tokens": max_tokens, "stop": stop},
                          self.timeout_s)
        except (OSError, ValueError) as exc:
            raise LLMError(f"{self.name}: the warm generator at {self.path} did not answer ({exc})") from None
        if "error" in reply:
            raise LLMError(reply["error"])
        return reply["text"]


def warm_llm(settings: LLMSettings) -> WarmLLM | None:
    """The running warm generator for this model, else one started now; None if it cannot be had."""
    gguf = default_gguf_path(settings)
    if settings.warm_idle_minutes <= 0 or not gguf.is_file():
        return None  # off, or the cold path reports the missing model
    path = socket_path(settings)
    client = WarmLLM(path, f"embedded:{gguf.stem}", settings.timeout_s)
    if _alive(path):
        return client
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = child_env()
    with open(path.with_suffix(".log"), "ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "surveyor.write.warm", "--gguf", str(gguf),
                                   "--n-ctx", str(settings.n_ctx), "--socket", str(path),
                                   "--idle-s", str(settings.warm_idle_minutes * 60)],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _alive(path):
            return client
        if server.poll() is not None and not _alive(path):
            return None  # it failed (its log says why), or lost a race to another server: go cold
        time.sleep(0.1)
    return None


def _alive(path: Path) -> bool:
    try:
        return _call(path, {"ping": True}, 2.0).get("ok") is True
    except (OSError, ValueError):
        return False


# --- the server ---------------------------------------------------------------------
def serve(gguf: Path, n_ctx: int, path: Path, idle_s: float) -> None:
    from filelock import FileLock, Timeout

    lock = FileLock(str(path.with_suffix(".lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return  # another server for this model is starting or running
    try:
        llm = EmbeddedLLM(gguf, n_ctx=n_ctx, threads=0)
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))
            os.chmod(path, 0o600)
            listener.listen(8)
            listener.settimeout(idle_s)
            while True:
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    break  # idle long enough
                with conn:
                    _answer(conn, llm)
    finally:
        path.unlink(missing_ok=True)
        lock.release()


def _answer(conn: socket.socket, llm: EmbeddedLLM) -> None:
    conn.settimeout(30)
    data = b""
    while not data.endswith(b"\n"):
        part = conn.recv(65536)
        if not part:
            return
        data += part
    request = json.loads(data)
    if request.get("ping"):
        reply = {"ok": True}
    else:
        try:
            reply = {"text": llm.chat(request["system"], request["user"], max_tokens=int(request["max_tokens"]),
                                      stop=request.get("stop"))}
        except LLMError as exc:
            reply = {"error": str(exc)}
    conn.settimeout(None)
    conn.sendall(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="surveyor's warm generator server (started by `surveyor ask`)")
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--n-ctx", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle-s", type=float, required=True)
    args = parser.parse_args()
    serve(Path(args.gguf), args.n_ctx, Path(args.socket), args.idle_s)
