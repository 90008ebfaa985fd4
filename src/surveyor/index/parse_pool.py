"""PDF parsing in isolated worker processes, overlapping with the embedding of earlier papers.

A PDF that makes MuPDF loop, eat memory or crash must cost one file, not the ingest. Files are
parsed (pages, blocks, the reference list) by long-lived worker processes
(`python -m surveyor.index.parse_pool MEMORY_MB`, PyMuPDF imported once per worker), whose
address space is capped (RLIMIT_AS) and whose time per file is bounded. A worker that runs out
of time is killed; one that dies (a crash, the memory cap, kill -9) ends that file only: the
file is reported failed with the reason, and a fresh worker takes the next file. Workers are
plain subprocesses, not multiprocessing children: they inherit nothing of the ingest process
(Chroma's and ONNX Runtime's threads, the open catalog) and never re-run the caller's __main__.

A thread of the ingest process keeps the workers busy and collects their results, up to `ahead`
parsed papers waiting, while the main thread embeds and commits: parse and embed overlap.
Results come out in the order of the paths, whichever worker finished first.
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from surveyor.errors import PdfError
from surveyor.index.pdfparse import ParsedPdf, parse_pdf
from surveyor.index.references import ReferenceList, extract_references

_HEADER = struct.Struct("<Q")
_READY = b"R"
_START_TIMEOUT_S = 120.0  # a worker that cannot even import PyMuPDF in this long is broken


@dataclass
class Parsed:
    """A worker's outcome for one file: the parse, or the reason it failed."""
    path: Path
    parsed: ParsedPdf | None = None
    references: ReferenceList | None = None
    error: str | None = None


def auto_workers() -> int:
    """One core stays with the embedder; parsing takes the rest (at most 4: beyond, the embedder is the bottleneck)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def child_env() -> dict[str, str]:
    """The environment for a `python -m surveyor...` child that must import this very surveyor (a
    checkout on PYTHONPATH, an editable or a wheel install alike)."""
    import site

    root = str(Path(__file__).resolve().parents[2])
    if root in site.getsitepackages():
        return dict(os.environ)  # installed: the child finds it as this process did
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


# --- the worker process --------------------------------------------------------------
def _parse_one(path: str, memory_mb: int) -> tuple:
    try:
        parsed = parse_pdf(Path(path))
        return ("ok", parsed, extract_references(parsed))
    except PdfError as exc:
        return ("error", str(exc).removeprefix(f"{path}: "))
    except MemoryError:
        return ("error", f"parsing needs more than the {memory_mb} MB memory cap (index.parse_memory_mb)")
    except Exception as exc:  # whatever MuPDF or the parser raises on a hostile file fails that file only
        first = (str(exc).splitlines() or [""])[0][:200]
        return ("error", f"parser failed ({type(exc).__name__}: {first})")


def _worker_main(memory_mb: int) -> None:
    """Read one JSON path per line on stdin; answer each with a length-prefixed pickle on the original stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    cap = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out.write(_READY)  # imports done: a file's time limit starts when the worker can take it
    out.flush()
    for line in sys.stdin:
        path = json.loads(line)
        try:
            data = pickle.dumps(_parse_one(path, memory_mb), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("error", f"parsing needs more than the {memory_mb} MB memory cap "
                                          "(index.parse_memory_mb)"))
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()


# --- the ingest side -------------------------------------------------------------------
class _Worker:
    def __init__(self, memory_mb: int):
        self.proc = subprocess.Popen([sys.executable, "-m", "surveyor.index.parse_pool", str(memory_mb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=child_env())
        self.job: tuple[int, Path, float] | None = None  # (index, path, deadline)
        self.ready = False

    def give(self, index: int, path: Path, timeout_s: float) -> bool:
        if not self.ready:
            if not wait([self.proc.stdout], timeout=_START_TIMEOUT_S) or self._read(1) != _READY:
                return False
            self.ready = True
        try:
            self.proc.stdin.write((json.dumps(str(path)) + "\n").encode())
        except OSError:  # died between jobs
            return False
        self.job = (index, path, time.monotonic() + timeout_s)
        return True

    def answer(self) -> tuple | None:
        """The pickled answer, or None if the worker died (EOF)."""
        header = self._read(_HEADER.size)
        if header is None:
            return None
        body = self._read(_HEADER.unpack(header)[0])
        return None if body is None else pickle.loads(body)

    def _read(self, n: int) -> bytes | None:
        parts, got = [], 0
        while got < n:
            part = self.proc.stdout.read(n - got)
            if not part:
                return None
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def death(self) -> str:
        code = self.proc.wait()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"parser worker died ({name}); the file was skipped"
        return f"parser worker exited with status {code} without a result; the file was skipped"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()


class ParsePool:
    def __init__(self, workers: int, timeout_s: float, memory_mb: int, ahead: int = 16):
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.ahead = max(self.workers, ahead)

    def parse(self, paths: list[Path]) -> Iterator[Parsed]:
        """One Parsed per path, in order; the workers run ahead of the consumer."""
        if not paths:
            return
        done: dict[int, Parsed] = {}
        cond = threading.Condition()
        stop = threading.Event()
        server = threading.Thread(target=self._serve, args=(list(paths), done, cond, stop), daemon=True,
                                  name="surveyor-parse-pool")
        server.start()
        try:
            for index in range(len(paths)):
                with cond:
                    while index not in done:
                        cond.wait()
                    result = done.pop(index)
                    cond.notify_all()  # room for one more parsed paper
                yield result
        finally:
            stop.set()
            with cond:
                cond.notify_all()
            server.join()

    def _serve(self, paths: list[Path], done: dict[int, Parsed], cond: threading.Condition,
               stop: threading.Event) -> None:
        idle: list[_Worker] = []
        busy: list[_Worker] = []
        next_index = 0
        try:
            while not stop.is_set() and (next_index < len(paths) or busy):
                with cond:
                    while not stop.is_set() and not busy and len(done) >= self.ahead:
                        cond.wait()  # the consumer is behind: hold off
                    room = self.ahead - len(done) - len(busy)
                while next_index < len(paths) and len(busy) < self.workers and room > 0 and not stop.is_set():
                    fresh = not idle
                    worker = idle.pop() if idle else _Worker(self.memory_mb)
                    if worker.give(next_index, paths[next_index], self.timeout_s):
                        busy.append(worker)
                    else:
                        worker.stop()
                        if not fresh:
                            continue  # it died between files: a fresh worker takes this one
                        with cond:  # a worker that cannot start fails the file instead of respawning forever
                            done[next_index] = Parsed(paths[next_index], error="parser worker failed to start "
                                                                               "(its error is on stderr above)")
                            cond.notify_all()
                    next_index += 1
                    room -= 1
                if not busy:
                    continue
                soonest = min(w.job[2] for w in busy)
                ready = wait([w.proc.stdout for w in busy], timeout=max(0.0, min(soonest - time.monotonic(), 1.0)))
                for worker in list(busy):
                    index, path, deadline = worker.job
                    keep = False  # a worker that died or ran out of time is replaced by a fresh one
                    if worker.proc.stdout in ready:
                        answer = worker.answer()
                        if answer is None:
                            result = Parsed(path, error=worker.death())
                        elif answer[0] == "ok":
                            result, keep = Parsed(path, parsed=answer[1], references=answer[2]), True
                        else:
                            result, keep = Parsed(path, error=answer[1]), True
                    elif time.monotonic() >= deadline:
                        result = Parsed(path, error=f"parsing took longer than {self.timeout_s:g} s "
                                                    "(index.parse_timeout_s); worker stopped")
                    else:
                        continue
                    busy.remove(worker)
                    if keep:
                        worker.job = None
                        idle.append(worker)
                    else:
                        worker.stop()
                    with cond:
                        done[index] = result
                        cond.notify_all()
        finally:
            for worker in idle + busy:
                worker.stop()


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]))
