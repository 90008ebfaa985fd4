"""Page views: a page of a paper's PDF as an image, with the cited quote's words highlighted.

PyMuPDF renders the page to PNG once per PDF content hash and page (`index/pages/`), and finds
the quote's boxes once per PDF hash, page and quote hash (a small JSON beside the PNG). The
highlight is laid over the image by the page-view HTML (boxes as fractions of the page, drawn
as translucent marks), not painted into the PNG: a page cited for five quotes is one PNG of
~200 KB at 1.5x instead of five, which matters for a survey's assets folder (175 citations on
98 pages in the distillation survey).

Finding the quote on the page, most exact first:

  1. word level: the page's words (`page.get_text("words")`) and each piece of the quote (a
     quote with "…" is several) are reduced to letters and digits (NFKC, so ligatures are
     letters; hyphens and line breaks vanish), the piece is looked up as a substring of the
     page's stream, and the whole words it spans are highlighted. This comes first because
     `page.search_for` with de-hyphenation returns boxes shifted by the hyphens it removed
     earlier in the block (on 1910.01108 p.1 and 1909.10351 p.1 the mark began and ended
     letters off the quote); words are never cut.
  2. `page.search_for` of the quote, then of its pieces (a piece under 4 words is not searched
     alone: it would hit elsewhere), ligatures searched as letters: for a quote whose words
     the page's word order does not hold contiguously (columns read in another order).
  3. the runs of at least 3 consecutive words the page and the quote share (difflib): a quote
     with a footnote mark or an inline reference number between its words.

Boxes of one text line are merged into one mark.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymupdf

from surveyor import versions
from surveyor.errors import InputError
from surveyor.files import atomic_write_bytes, atomic_write_text

ZOOM = 1.5          # 108 dpi: body text of a two-column paper stays legible
MIN_PIECE_WORDS = 4  # a shorter piece of a quote is not searched on its own
MIN_RUN_WORDS = 3    # the word-level fallback keeps runs of at least this many shared words
_PIECES = re.compile(r"\s*(?:…|\.\.\.|\[\.\.\.\])\s*")
_NOT_ALNUM = re.compile(r"[\W_]+")
# search_for's defaults less TEXT_PRESERVE_LIGATURES: the page's "ﬂ" is searched as "fl", as quotes write it.
_SEARCH_FLAGS = pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP


@dataclass
class Highlight:
    """Where a quote is on a page: boxes as (x0, y0, x1, y1) fractions of the page, and how they were found."""
    boxes: list[list[float]] = field(default_factory=list)
    method: str = "none"   # search | words | runs | none (not found, or no quote)
    words: list[str] = field(default_factory=list)  # the page words highlighted, as printed


@dataclass
class PageView:
    png: Path
    page: int
    pages: int
    highlight: Highlight
    size: tuple[int, int] = (0, 0)  # the PNG's width and height in pixels


def _norm(text: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


def _line_boxes(rects: list[pymupdf.Rect], page_rect: pymupdf.Rect) -> list[list[float]]:
    """Rects merged per text line (same vertical band), as fractions of the page."""
    merged: list[pymupdf.Rect] = []
    for r in sorted(rects, key=lambda r: (round(r.y0), r.x0)):
        last = merged[-1] if merged else None
        if (last is not None and abs(last.y0 - r.y0) < 2 and abs(last.y1 - r.y1) < 2
                and r.x0 - last.x1 < 0.6 * (r.y1 - r.y0) + 1):
            merged[-1] = last | r
        else:
            merged.append(pymupdf.Rect(r))
    w, h = page_rect.width, page_rect.height
    return [[round((r.x0 - page_rect.x0) / w, 5), round((r.y0 - page_rect.y0) / h, 5),
             round((r.x1 - page_rect.x0) / w, 5), round((r.y1 - page_rect.y0) / h, 5)] for r in merged]


def _words_in(rects: list[pymupdf.Rect], words: list[tuple]) -> list[str]:
    """The page words whose centres lie in the rects (what a reader sees highlighted)."""
    out = []
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        if any(r.x0 <= cx <= r.x1 and r.y0 <= cy <= r.y1 for r in rects):
            out.append(w[4])
    return out


def _search(page: pymupdf.Page, quote: str) -> list[pymupdf.Rect]:
    rects: list[pymupdf.Rect] = []
    pieces = [p for p in _PIECES.split(quote) if p.strip()]
    for piece in [quote] if len(pieces) == 1 else pieces:
        piece = " ".join(unicodedata.normalize("NFKC", piece).split())
        if len(piece.split()) < MIN_PIECE_WORDS and len(pieces) > 1:
            continue
        rects += page.search_for(piece, flags=_SEARCH_FLAGS)
    return rects


def _stream_match(words: list[tuple], quote: str) -> list[int]:
    """Indices of the page words each piece of the quote covers in the page's letters-and-digits stream."""
    stream, owner = "", []
    for i, word in enumerate(words):
        key = _norm(word[4])
        stream += key
        owner += [i] * len(key)
    found: set[int] = set()
    for piece in (p for p in _PIECES.split(quote) if p.strip()):
        target = _norm(piece)
        if len(target) < 8:
            continue
        start = stream.find(target)
        while start >= 0:
            found.update(range(owner[start], owner[start + len(target) - 1] + 1))
            start = stream.find(target, start + len(target))
    return sorted(found)


def _shared_runs(words: list[tuple], quote: str) -> list[int]:
    """Indices of the page words in runs of at least MIN_RUN_WORDS words the page and the quote share."""
    keys = [_norm(w[4]) for w in words]
    quote_keys = [k for k in (_norm(t) for t in quote.split()) if k]
    matcher = difflib.SequenceMatcher(None, keys, quote_keys, autojunk=False)
    return [i for block in matcher.get_matching_blocks() if block.size >= MIN_RUN_WORDS
            for i in range(block.a, block.a + block.size)]


def find_quote(page: pymupdf.Page, quote: str | None) -> Highlight:
    """The quote's boxes on the page (see the module docstring for how they are found)."""
    quote = " ".join((quote or "").replace("“", " ").replace("”", " ").split())
    if len(_norm(quote)) < 3:
        return Highlight()
    words = page.get_text("words")
    indices, method = _stream_match(words, quote), "words"
    rects = [pymupdf.Rect(words[i][:4]) for i in indices]
    if not rects:
        rects, method = _search(page, quote), "search"
    if not rects:
        indices, method = _shared_runs(words, quote), "runs"
        rects = [pymupdf.Rect(words[i][:4]) for i in indices]
    if not rects:
        return Highlight()
    return Highlight(_line_boxes(rects, page.rect), method, _words_in(rects, words))


def _cache_dir(cache_root: Path, sha256: str) -> Path:
    return cache_root / f"v{versions.PAGE_VIEWS}" / sha256[:24]


def quote_hash(quote: str | None) -> str:
    return hashlib.sha256(" ".join((quote or "").split()).encode()).hexdigest()[:16]


def page_view(pdf: Path, sha256: str, page: int, quote: str | None, cache_root: Path) -> PageView:
    """Page `page` (1-based) of `pdf` as a cached PNG and the quote's cached highlight boxes.

    InputError when the page is not in the PDF. `sha256` is the PDF's content hash (the catalog's),
    so a replaced PDF never shows an old image.
    """
    folder = _cache_dir(cache_root, sha256)
    png = folder / f"p{page}.png"
    boxes = folder / f"p{page}-{quote_hash(quote)}.json"
    if png.is_file() and boxes.is_file():
        data = json.loads(boxes.read_text())
        return PageView(png, page, data["pages"], Highlight(**data["highlight"]), tuple(data["size"]))
    with pymupdf.open(pdf) as doc:
        if not 1 <= page <= doc.page_count:
            raise InputError(f"page {page} is not in the paper (it has {doc.page_count} pages)")
        pdf_page = doc[page - 1]
        highlight = find_quote(pdf_page, quote)
        matrix = pymupdf.Matrix(ZOOM, ZOOM)
        if not png.is_file():
            # Without the PDF's annotations: a reader's own highlights would look like the cited quote's.
            atomic_write_bytes(png, pdf_page.get_pixmap(matrix=matrix, annots=False).tobytes("png"))
        area = pdf_page.rect.transform(matrix).irect
        pages, size = doc.page_count, (area.width, area.height)
    atomic_write_text(boxes, json.dumps({"pages": pages, "size": size, "highlight": asdict(highlight)}))
    return PageView(png, page, pages, highlight, size)


def page_view_html(view: PageView, *, paper_id: str, title: str, quote: str | None, image_src: str,
                   links: list[tuple[str, str]]) -> str:
    """The page view as a page: the image, the quote, its highlight marks (the first has id="hl", so a
    link ending in #hl scrolls to it), and `links` (label, href) such as the PDF at that page."""
    from surveyor.render.html import template

    width, height = view.size
    return template("pageview.html.j2").render(
        paper_id=paper_id, title=title, page=view.page, pages=view.pages, quote=" ".join((quote or "").split()), boxes=view.highlight.boxes,
        method=view.highlight.method, image_src=image_src, width=width, height=height, links=links)


class AssetPageViews:
    """The `cite_link` of a self-contained output folder (a survey, a digest): each cited page's PNG is
    copied to `<out>/assets/pages/<paper>/`, and each citation gets a small page-view HTML there,
    relative to the folder, so the folder works offline and moved. The PDF link is relative to the
    home's stored PDF (it works while the home is where it was)."""

    def __init__(self, settings, out_dir: Path):
        from surveyor.index.catalog import Catalog

        self.settings, self.out_dir = settings, Path(out_dir)
        self.catalog = Catalog(settings.index_dir)
        self.made = 0

    def close(self) -> None:
        self.catalog.close()

    def __call__(self, citation, claim: str) -> tuple[str, str | None] | None:
        import os
        import shutil
        from urllib.parse import quote as urlquote

        from surveyor.sources.identity import safe_key

        record = self.catalog.paper(citation.paper_id)
        if record is None:
            return None
        pdf = self.settings.home / record.file
        try:
            view = page_view(pdf, record.sha256, citation.page, claim or None, self.settings.index_dir / "pages")
        except (InputError, OSError, RuntimeError):  # a page past the end, a PDF gone or unreadable
            return None
        folder = self.out_dir / "assets" / "pages" / safe_key(record.paper_id)
        image = folder / f"p{citation.page}.png"
        if not image.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(view.png, image)
        name = f"p{citation.page}-{quote_hash(claim)}.html"
        pdf_href = urlquote(os.path.relpath(pdf, folder)) + f"#page={citation.page}"
        if not (folder / name).is_file():
            atomic_write_text(folder / name, page_view_html(
                view, paper_id=record.paper_id, title=f"{record.title} [{record.paper_id}]", quote=claim, image_src=image.name,
                links=[(f"PDF at page {citation.page}", pdf_href)]))
            self.made += 1
        rel = folder.relative_to(self.out_dir).as_posix()
        return f"{rel}/{name}#hl", f"{urlquote(os.path.relpath(pdf, self.out_dir))}#page={citation.page}"
