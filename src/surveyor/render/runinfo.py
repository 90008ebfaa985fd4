"""Reproducibility records (run.json) and crash-safe publishing of output folders.

Two jobs, shared by surveys and digests:

* `run_record(...)` says exactly what an output was built from: the corpus
  content hash, every paper id with its version and PDF hash, the models and a
  fingerprint of their files, the prompts' hashes, the settings and the timings.
  A GGUF of a gigabyte is fingerprinted by its size plus its first and last MiB
  (`file_fingerprint`), so recording it costs milliseconds, not a full read.

* `publish_dir(parent)` builds an output folder under `<parent>/<stamp>.partial`,
  renames it to `<parent>/<stamp>` only when the build finished, and then
  repoints the `<parent>/latest` symlink atomically (a new link renamed over the
  old one). An interrupted build (Ctrl-C, an exception, a kill) never leaves a
  half-written folder behind `latest`; leftovers of killed builds are removed by
  the next publish into the same parent.

    with publish_dir(settings.surveys_dir / "distillation") as out:
        (out.path / "survey.md").write_text(...)
    out.final   # surveys/distillation/20250101T120000Z, and latest points at it
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from surveyor.errors import InputError

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
LATEST = "latest"
PARTIAL_SUFFIX = ".partial"
_OWNER_FILE = ".owner"
_SAMPLE_BYTES = 1 << 20          # head and tail sampled from big files
_FULL_HASH_LIMIT = 4 * _SAMPLE_BYTES  # files up to this size are hashed whole


# --------------------------------------------------------------------------- fingerprints


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """{"path", "size", "sha256", "method"}: whole-file hash for small files, size+head+tail for big ones."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return {"path": str(path), "missing": True}
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if size <= _FULL_HASH_LIMIT:
            digest.update(fh.read())
            method = "sha256"
        else:
            digest.update(str(size).encode())
            digest.update(fh.read(_SAMPLE_BYTES))
            fh.seek(size - _SAMPLE_BYTES)
            digest.update(fh.read(_SAMPLE_BYTES))
            method = "sha256(size+first MiB+last MiB)"
    return {"path": str(path), "size": size, "sha256": digest.hexdigest(), "method": method}


def dir_fingerprint(path: str | Path) -> dict[str, Any]:
    """One hash over every file of a folder (relative name + file fingerprint), e.g. an embedder folder."""
    root = Path(path)
    if not root.is_dir():
        return {"path": str(root), "missing": True}
    digest = hashlib.sha256()
    count = total = 0
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        fp = file_fingerprint(file)
        digest.update(f"{file.relative_to(root).as_posix()}\0{fp.get('size')}\0{fp.get('sha256')}\n".encode())
        count += 1
        total += fp.get("size", 0)
    return {"path": str(root), "files": count, "size": total, "sha256": digest.hexdigest()}


def llm_info(llm: Any | None) -> dict[str, Any]:
    """What generated the text: backend name plus model file fingerprint (embedded) or host (Ollama)."""
    if llm is None:
        return {"name": "none", "note": "extractive: quotes only, no generator"}
    info: dict[str, Any] = {"name": getattr(llm, "name", type(llm).__name__)}
    model_path = getattr(llm, "model_path", None)
    if model_path is not None:
        info["file"] = file_fingerprint(model_path)
        info["n_ctx"] = getattr(llm, "n_ctx", None)
        info["threads"] = getattr(llm, "threads", None)
    host = getattr(llm, "host", None)
    if host is not None:
        info["host"] = host
        info["model"] = getattr(llm, "model", None)
    return info


def embedder_info(settings: Any) -> dict[str, Any]:
    from surveyor.index.embedder import bundled_model_path

    try:
        folder = Path(settings.embedding.path) if settings.embedding.path else bundled_model_path()
    except Exception as exc:  # noqa: BLE001 - a record never fails for want of a fingerprint
        return {"name": settings.embedding.model, "error": str(exc)}
    return {"name": settings.embedding.model, "folder": dir_fingerprint(folder)}


# --------------------------------------------------------------------------- run.json


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_record(*, command: str, settings: Any, catalog: Any | None = None, papers: Iterable[Any] = (),
               llm: Any | None = None, prompts: dict[str, str] | None = None,
               timings: dict[str, float] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The reproducibility record of one run.

    papers: PaperRecords used; prompts: prompt name -> sha256 of its file; timings: step -> seconds.
    """
    from importlib.metadata import version as package_version

    version = package_version("surveyor")

    record: dict[str, Any] = {
        "command": command,
        "created": utc_now_iso(),
        "surveyor_version": version,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    if catalog is not None:
        record["corpus"] = {"content_hash": catalog.content_hash(), "papers": len(catalog.papers()),
                            "home": str(settings.home)}
    record["papers"] = [{"paper_id": p.paper_id, "arxiv_id": p.arxiv_id, "version": p.version,
                         "sha256": p.sha256} for p in papers]
    record["models"] = {"llm": llm_info(llm), "embedder": embedder_info(settings)}
    record["prompts"] = dict(sorted((prompts or {}).items()))
    record["settings"] = settings.model_dump(mode="json")
    record["timings"] = {k: round(v, 3) for k, v in (timings or {}).items()}
    if extra:
        record.update(extra)
    return record


# --------------------------------------------------------------------------- publishing


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime(STAMP_FORMAT)


def check_writable(folder: str | Path, flag: str = "--out") -> Path:
    """Create `folder` if needed and prove a file can be written there; InputError otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{flag} {folder} is not writable ({exc.strerror or exc})") from None
    return folder


def latest_dir(parent: str | Path, link: str = LATEST) -> Path | None:
    """The folder `<parent>/latest` points at, or None."""
    target = Path(parent) / link
    if target.is_symlink() or target.is_dir():
        resolved = target.resolve()
        if resolved.is_dir():
            return resolved
    return None


def published_dirs(parent: str | Path) -> list[Path]:
    """Finished output folders under `parent`, oldest first (by name: stamps sort by time)."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
                  and not p.name.endswith(PARTIAL_SUFFIX) and p.name != LATEST)


def repoint_symlink(link: Path, target_name: str) -> None:
    """Make `link` point at `target_name` (relative) in one rename: readers see the old or the new target."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target_name, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_partials(parent: Path) -> list[Path]:
    """Remove `*.partial` folders whose builder process is gone (killed builds)."""
    removed = []
    for partial in parent.glob(f"*{PARTIAL_SUFFIX}"):
        try:
            pid = int((partial / _OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            pid = -1
        if pid <= 0 or (pid != os.getpid() and not _pid_alive(pid)):
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed


@dataclass
class Staging:
    """An output folder being built: write into `path`; `final` is where it will be published."""

    path: Path
    final: Path
    previous: Path | None  # what `latest` pointed at before this build

    @property
    def name(self) -> str:
        return self.final.name


def _unique_name(parent: Path, stamp: str) -> str:
    name, n = stamp, 1
    while (parent / name).exists() or (parent / f"{name}{PARTIAL_SUFFIX}").exists():
        n += 1
        name = f"{stamp}-{n}"
    return name


@contextmanager
def publish_dir(parent: str | Path, stamp: str | None = None, link: str = LATEST) -> Iterator[Staging]:
    """Build an output folder under `parent` and publish it atomically (see the module docstring)."""
    parent = check_writable(parent)
    clean_stale_partials(parent)
    name = _unique_name(parent, stamp or utc_stamp())
    partial = parent / f"{name}{PARTIAL_SUFFIX}"
    partial.mkdir()
    (partial / _OWNER_FILE).write_text(str(os.getpid()))
    staging = Staging(partial, parent / name, latest_dir(parent, link))
    try:
        yield staging
        (partial / _OWNER_FILE).unlink(missing_ok=True)
        _fsync_dir(partial)
        os.rename(partial, staging.final)
        _fsync_dir(parent)
        repoint_symlink(parent / link, name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


class Timer:
    """Named step timings: `with timer("cards"): ...`; `timer.seconds` maps step -> seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - start

    def total(self) -> float:
        return time.perf_counter() - self.started
