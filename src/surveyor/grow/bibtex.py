"""`surveyor ingest library.bib`: a reference manager's export (Zotero, JabRef, Mendeley) into the corpus.

Each entry gives, in this order of preference:
- attached PDFs from its `file` field: Zotero's `Name:path:mime` list (`;` between attachments), JabRef's
  and Mendeley's `:path:PDF` forms (escaped `\\:` and `$\\backslash$` undone), or a plain path; relative
  paths are taken from the .bib's folder, and a path that leads outside that folder is refused;
- an arXiv id from `eprint` (with `archivePrefix`/`eprinttype` arXiv, or shaped like one), an arxiv.org
  `url`, an arXiv `doi` (10.48550/arXiv.ID) or "arXiv:ID" in `journal`/`note`; fetched when no PDF is
  attached.
The entry's title, authors and abstract are kept as a metadata source ("bibtex") beside arXiv's and the
PDF's; its year is not taken as a date (dates come from arXiv or the PDF's stamp). Entries already in the
corpus (by arXiv id or normalised title) are skipped; entries with nothing usable, malformed blocks and
duplicate keys are listed, never fatal. Parsing is bibtexparser's (kept library, 2.x).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Callable

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

from surveyor.errors import InputError, SurveyorError
from surveyor.index.catalog import Catalog
from surveyor.index.ingest import Ingestor, IngestReport
from surveyor.index.references import NEW_ID, OLD_ID, title_key
from surveyor.settings import Settings
from surveyor.sources.metadata import PaperMeta

_ARXIV = rf"({NEW_ID}|{OLD_ID})(?:v\d+)?"
_URL_ID = re.compile(rf"arxiv\.org/(?:abs|pdf)/{_ARXIV}", re.IGNORECASE)
_DOI_ID = re.compile(rf"10\.48550/arxiv\.{_ARXIV}", re.IGNORECASE)
_TEXT_ID = re.compile(rf"arxiv:\s*{_ARXIV}", re.IGNORECASE)
_BARE_ID = re.compile(rf"(?:arxiv:)?{_ARXIV}", re.IGNORECASE)


def _value(entry: Entry, name: str) -> str:
    found = next((f.value for f in entry.fields if f.key.lower() == name), "")
    return " ".join(str(found).replace("{", "").replace("}", "").split())


def attached_pdfs(raw: str) -> list[str]:
    """PDF paths named in a `file` field, in any of the three managers' forms."""
    raw = raw.replace("$\\backslash$", "\\").replace("{", "").replace("}", "")
    paths = []
    for part in re.split(r"(?<!\\);", raw):
        pieces = [p.replace("\\:", ":") for p in re.split(r"(?<!\\):", part)]
        if len(pieces) >= 3:  # description:path:type (a Windows drive letter adds a piece)
            path = ":".join(pieces[1:-1])
        else:
            path = part.replace("\\:", ":")
        path = path.strip()
        if path.lower().endswith(".pdf"):
            paths.append(path)
    return paths


def arxiv_id_of(entry: Entry) -> str | None:
    eprint = _value(entry, "eprint")
    prefix = (_value(entry, "archiveprefix") or _value(entry, "eprinttype")).lower()
    if eprint and (prefix == "arxiv" or not prefix):
        match = _BARE_ID.fullmatch(eprint)
        if match:
            return match[1]
    for name, pattern in (("url", _URL_ID), ("doi", _DOI_ID), ("journal", _TEXT_ID), ("note", _TEXT_ID)):
        match = pattern.search(_value(entry, name))
        if match:
            return match[1]
    return None


def _authors(text: str) -> list[str]:
    names = []
    for name in re.split(r"\s+and\s+", text):
        last, _, first = name.partition(",")
        names.append(f"{first.strip()} {last.strip()}".strip() if first else name.strip())
    return [n for n in names if n and n.lower() != "others"]


def entry_meta(entry: Entry, arxiv_id: str | None) -> PaperMeta:
    meta = PaperMeta(arxiv_id=arxiv_id, title=_value(entry, "title") or None,
                     authors=_authors(_value(entry, "author")), abstract=_value(entry, "abstract") or None)
    meta.sources = {f: "bibtex" for f in ("arxiv_id", "title", "authors", "abstract")
                    if getattr(meta, f) not in (None, [], "")}
    return meta


def parse_bib(path: Path) -> tuple[list[Entry], list[dict[str, str]]]:
    """The entries, and the blocks that could not be read (malformed, duplicate keys), one line each."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # its failures are listed by us, per block
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    listed = []
    for block in library.failed_blocks:
        start = getattr(block, "start_line", None)
        where = f"{path.name}:{start + 1}" if isinstance(start, int) else path.name
        if isinstance(block, DuplicateBlockKeyBlock):
            listed.append({"entry": block.key, "reason": f"duplicate key ({where}); the first entry was used"})
        elif isinstance(block, ParsingFailedBlock):
            first = " ".join((block.raw or "").split())[:60]
            listed.append({"entry": first, "reason": f"malformed BibTeX ({where})"})
    return list(library.entries), listed


def import_bib(settings: Settings, bib: Path, offline: bool, say: Callable[[str], None]) -> IngestReport:
    """Ingest what a .bib's entries point at; one report with the entries that gave nothing listed."""
    from surveyor.grow.fetching import fetch_and_ingest

    folder = bib.parent.resolve()
    entries, listed = parse_bib(bib)
    known_ids, known_titles = set(), set()
    if (settings.index_dir / "catalog.sqlite").is_file():
        catalog = Catalog(settings.index_dir)
        try:
            for paper in catalog.papers():
                known_ids.add(paper.arxiv_id)
                known_titles.add(title_key(paper.meta.title))
        finally:
            catalog.close()
    pdfs: list[Path] = []
    metadata: dict[str, PaperMeta] = {}
    to_fetch: dict[str, tuple[Entry, PaperMeta]] = {}
    for entry in entries:
        arxiv_id = arxiv_id_of(entry)
        meta = entry_meta(entry, arxiv_id)
        if (arxiv_id and arxiv_id in known_ids) or (meta.title and title_key(meta.title) in known_titles):
            listed.append({"entry": entry.key, "reason": "already in the corpus; skipped"})
            continue
        found, problems = [], []
        for raw in attached_pdfs(_value(entry, "file")):
            path = Path(raw).expanduser()
            path = (path if path.is_absolute() else folder / path).resolve()
            if not path.is_relative_to(folder):
                problems.append(f"{raw}: outside the .bib's folder; refused")
            elif not path.is_file():
                problems.append(f"{raw}: no such file")
            else:
                found.append(path)
        if found:
            pdfs.extend(found)
            for path in found:
                metadata[f"file:{path.name}"] = meta
        elif arxiv_id and not offline:
            to_fetch.setdefault(arxiv_id, (entry, meta))
        for problem in problems:
            listed.append({"entry": entry.key, "reason": problem})
        if not found and not (arxiv_id and not offline):
            why = "an arXiv id, but --offline" if arxiv_id else "no attached PDF and no arXiv id"
            listed.append({"entry": entry.key, "reason": f"nothing to ingest: {why}"})
        if arxiv_id:
            known_ids.add(arxiv_id)
        if meta.title:
            known_titles.add(title_key(meta.title))
    report = Ingestor(settings, arxiv_lookup=not offline, progress=False).run(pdfs, metadata) if pdfs else IngestReport()
    if to_fetch:
        _fetch_ids(settings, to_fetch, report, listed, say, fetch_and_ingest)
    report.listed = listed
    catalog = Catalog(settings.index_dir)
    try:
        report.papers, report.chunks = len(catalog.papers()), catalog.chunk_count()
    finally:
        catalog.close()
    return report


def _fetch_ids(settings: Settings, to_fetch: dict[str, tuple[Entry, PaperMeta]], report: IngestReport,
               listed: list[dict[str, str]], say: Callable[[str], None], fetch_and_ingest: Any) -> None:
    from surveyor.sources.arxiv import ArxivSource

    say(f"looking up {len(to_fetch)} arXiv ids on arXiv ...")
    try:
        source = ArxivSource(settings.arxiv)
        metas = source.lookup(list(to_fetch))
    except SurveyorError as exc:  # the PDFs already ingested stay; these entries are listed
        listed.extend({"entry": e.key, "reason": f"arXiv {i} not fetched: {exc}"} for i, (e, _) in to_fetch.items())
        return
    chosen = []
    for arxiv_id, (entry, bib_meta) in to_fetch.items():
        meta = metas.get(arxiv_id)
        if meta is None:
            listed.append({"entry": entry.key, "reason": f"arXiv does not know {arxiv_id}"})
            continue
        meta.fill_from(bib_meta, "bibtex")
        chosen.append(meta)
    done = fetch_and_ingest(settings, source, chosen, say)
    report.added += len(done.added)
    report.failed += [{"path": f["id"] or "?", "error": f["error"]} for f in done.failed]
    report.changed_ids += done.added
