"""Paper identity: arXiv ids from stamps and file names, safe file names, content hashes, kept sources."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from surveyor.settings import Settings

# New style 2305.18290 (4+4 before 2015, 4+5 after) and old style hep-th/9901001 or math.GT/0309136.
NEW_ID = r"\d{4}\.\d{4,5}"
OLD_ID = r"[a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ID_WITH_VERSION = re.compile(rf"(?P<id>{NEW_ID}|{OLD_ID})(?:v(?P<v>\d+))?")
STAMP = re.compile(
    rf"arXiv:\s*(?P<id>{NEW_ID}|{OLD_ID})(?:v(?P<v>\d+))?\s*\[(?P<cat>[^\]]+)\]\s*(?P<date>\d{{1,2}}\s+[A-Z][a-z]{{2}}\s+\d{{4}})"
)


def split_version(text: str) -> tuple[str, int | None]:
    """'2305.18290v3' -> ('2305.18290', 3); anything unrecognised -> ('', None)."""
    match = ID_WITH_VERSION.fullmatch(text.strip().removeprefix("arXiv:").removeprefix("arxiv:"))
    if not match:
        return "", None
    return match["id"], int(match["v"]) if match["v"] else None


def id_from_filename(path: Path) -> tuple[str, int | None]:
    """Ids in file names: '2305.18290v2.pdf', 'hep-th_9901001.pdf' (slash stored as underscore)."""
    stem = path.stem
    match = re.fullmatch(rf"({NEW_ID})(?:v(\d+))?", stem)
    if match:
        return match[1], int(match[2]) if match[2] else None
    match = re.fullmatch(r"([a-z\-]+(?:\.[A-Z]{2})?)_(\d{7})(?:v(\d+))?", stem)
    if match:
        return f"{match[1]}/{match[2]}", int(match[3]) if match[3] else None
    return "", None


def safe_key(arxiv_id: str) -> str:
    """A file-system-safe key: old-style ids contain '/', which must never become a directory."""
    key = arxiv_id.replace("/", "_")
    if not re.fullmatch(r"[A-Za-z0-9._\-]+", key) or key in {".", ".."} or key.startswith("."):
        raise ValueError(f"not a safe paper key: {arxiv_id!r}")
    return key


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# Where a paper's arXiv LaTeX source is kept: <home>/corpus/sources/<key>[.tar.gz|.tar| folder].


def latex_source_path(settings: "Settings", paper_id: str, folder: bool = False, suffix: str = ".tar.gz") -> Path:
    base = settings.corpus_dir / "sources" / safe_key(paper_id)
    return base if folder else base.with_name(base.name + suffix)


def find_latex_source(settings: "Settings", paper_id: str) -> Path | None:
    """The kept arXiv LaTeX source of a paper, if any was fetched or ingested beside its PDF."""
    folder = settings.corpus_dir / "sources"
    key = safe_key(paper_id)
    for candidate in (folder / key, folder / f"{key}.tar.gz", folder / f"{key}.tar"):
        if candidate.exists():
            return candidate
    return None
