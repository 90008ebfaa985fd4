"""Figures of a PDF: caption, number, region on the page and a PNG crop.

A figure is anchored on its caption, a text block that starts "Figure N:", "Fig. N.",
"Figure N |" (or "Figure N" in bold followed by a capital, as some report templates
print it). Its region is grown from the caption outwards (up first, as most captions
sit below their figure; down otherwise) over vector graphics, raster images and the
small text labels among them, until a gap, a paragraph of body text or another caption
ends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from surveyor.evidence.crops import save_crop
from surveyor.index.pdfparse import open_pdf
from surveyor.index.pymupdf_core import pymupdf

__all__ = ["Figure", "extract_figures"]


@dataclass
class Figure:
    """One numbered figure, located on its page."""

    number: str
    page: int
    bbox: tuple[float, float, float, float]
    caption: str
    image: str | None = None
    is_architecture: bool = False

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "page": self.page,
            "bbox": [round(v, 1) for v in self.bbox],
            "caption": self.caption,
            "image": self.image,
            "is_architecture": self.is_architecture,
        }


_CAPTION = re.compile(r"^\s*(?:Figure|Fig\.?)\s*((?:[A-Z]\.?|S)?\d{1,3})\s*([:.|]|\s(?=[A-Z(]))")
_OTHER_CAPTION = re.compile(r"^\s*(?:Table|Tab\.|Algorithm|Listing)\s*[A-Z]?\d{1,3}\s*[:.|]")
# Captions of figures that show how a method or model is built.
_ARCHITECTURE = re.compile(
    r"\b(overview|architecture|framework|pipeline|schematic|workflow|diagram|model structure|"
    r"structure of (?:the |our )?(?:model|network|method|system)|overall design|training process|"
    r"(?:illustration|visuali[sz]ation) of (?:the |our )?(?:proposed )?"
    r"(?:model|method|approach|system|architecture)|"
    r"(?:our|proposed) (?:method|approach|model|system) (?:consists|comprises|is composed))",
    re.I,
)
# "Figure 1: Illustration of X learning." leads with what the figure is.
_LEADING_ILLUSTRATION = re.compile(
    r"^\s*(?:Figure|Fig\.?)\s*\S+?\s*[:.|]?\s*(?:an? |the )?(?:schematic )?illustration of", re.I
)
_SUBCAPTION = re.compile(r"^\s*\(?[a-h]\)\s")
_BOLD_FONT = re.compile(r"Bold|Semibold|SemiBold|Medi|Heavy|Black|CMBX|SFBX", re.I)

# How far apart (points) two parts of one figure may be (sub-figure rows, axis labels),
# and how far the figure may sit from its caption.
_MAX_GAP = 24.0
_MAX_CAPTION_GAP = 40.0


@dataclass
class _Block:
    rect: pymupdf.Rect
    text: str
    words: int
    size: float
    first_span_bold: bool
    lines: int = 1


def _text_blocks(page: pymupdf.Page) -> list[_Block]:
    blocks = []
    flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
    for block in page.get_text("dict", flags=flags)["blocks"]:
        lines = [ln for ln in block.get("lines", ()) if abs(ln["dir"][1]) < 0.01]
        spans = [s for ln in lines for s in ln["spans"] if s["text"].strip()]
        if not spans:
            continue
        text = _join_lines(["".join(s["text"] for s in ln["spans"]) for ln in lines])
        sizes = sorted(s["size"] for s in spans)
        first = spans[0]
        bold = bool(first["flags"] & 16) or bool(_BOLD_FONT.search(first["font"]))
        words = len(re.findall(r"[A-Za-z]{2,}", text))
        blocks.append(
            _Block(pymupdf.Rect(block["bbox"]), text, words, sizes[len(sizes) // 2], bold, len(lines))
        )
    return blocks


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out.endswith("-") and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _caption_number(block: _Block) -> str | None:
    match = _CAPTION.match(block.text)
    if not match:
        return None
    if match.group(2).strip() == "" and not block.first_span_bold:
        return None  # "Figure 3 Shows ..." in running text is not a caption
    return match.group(1)


def _graphics(page: pymupdf.Page) -> list[pymupdf.Rect]:
    """Rects of everything painted that is not text, minus page-sized backgrounds."""
    page_rect = page.rect
    page_area = page_rect.width * page_rect.height
    rects = []
    try:
        log = page.get_bboxlog()
    except Exception:
        log = []
    for kind, bbox in log:
        if kind == "fill-text" or kind.startswith(("clip", "pop", "ignore")):
            continue
        r = pymupdf.Rect(bbox) & page_rect
        if r.is_empty and not (r.width or r.height):
            continue
        if r.width * r.height > 0.8 * page_area:
            continue  # white page background or an unbounded shading
        in_margin = r.y1 < 0.08 * page_rect.height or r.y0 > 0.92 * page_rect.height
        if in_margin and r.height < 2:
            continue  # rule under a running header or above a footer
        rects.append(r)
    return rects


def _overlap_x(a: pymupdf.Rect, x0: float, x1: float) -> float:
    return max(0.0, min(a.x1, x1) - max(a.x0, x0))


def _band(caption: _Block, page: pymupdf.Page) -> tuple[float, float]:
    """Horizontal extent the figure may take.

    A caption of several lines is as wide as its figure's column (or the page); a short
    one-line caption is centred under a figure that may be wider: its half of the page,
    or the whole page when it is centred on the page.
    """
    width = page.rect.width
    rect = caption.rect
    centre = (rect.x0 + rect.x1) / 2
    if caption.lines > 1 or rect.width > 0.45 * width:
        return rect.x0 - 8, rect.x1 + 8
    if abs(centre - width / 2) < 0.05 * width:
        return 0.0, width
    return (0.0, width / 2 + 10) if centre < width / 2 else (width / 2 - 10, width)


def _is_body_text(block: _Block, band: tuple[float, float], body_size: float) -> bool:
    """A paragraph of running text, which no figure crosses."""
    band_width = band[1] - band[0]
    return (
        block.words >= 12
        and block.words >= 5 * block.lines  # not table cells, one word a line
        and block.rect.width > 0.45 * band_width
        and block.size >= 0.9 * body_size
        and not _SUBCAPTION.match(block.text)
    )


def _grow(
    caption: pymupdf.Rect,
    upward: bool,
    band: tuple[float, float],
    graphics: list[pymupdf.Rect],
    labels: list[pymupdf.Rect],
    barriers: list[pymupdf.Rect],
) -> pymupdf.Rect | None:
    """Region of graphics connected to the caption on one side, or None."""
    x0, x1 = band

    def in_band(r: pymupdf.Rect) -> bool:
        return _overlap_x(r, x0, x1) >= 0.6 * max(r.width, 1.0)

    # The nearest barrier on this side limits the figure; images may overlap the caption
    # by a few points, but must lie mostly on this side of it.
    if upward:
        limit = max((b.y1 for b in barriers if b.y1 <= caption.y0 + 1 and in_band(b)), default=0.0)
    else:
        limit = min((b.y0 for b in barriers if b.y0 >= caption.y1 - 1 and in_band(b)), default=1e9)

    def on_side(r: pymupdf.Rect) -> bool:
        if upward:
            return r.y1 <= caption.y0 + 6 and limit - 1 <= r.y0 < caption.y0 - 6
        return caption.y1 - 6 <= r.y0 and caption.y1 + 6 < r.y1 <= limit + 1

    parts = [(r, True) for r in graphics if in_band(r) and on_side(r)]
    parts += [(r, False) for r in labels if in_band(r) and on_side(r)]
    region: pymupdf.Rect | None = None
    edge = caption.y0 if upward else caption.y1
    has_graphic = False
    changed = True
    taken: set[int] = set()
    while changed:
        changed = False
        for i, (r, is_graphic) in enumerate(parts):
            if i in taken:
                continue
            gap = _MAX_GAP if region is not None else _MAX_CAPTION_GAP
            near = (edge - r.y1 <= gap) if upward else (r.y0 - edge <= gap)
            if not near:
                continue
            taken.add(i)
            changed = True
            region = pymupdf.Rect(r) if region is None else region | r
            has_graphic = has_graphic or is_graphic
            edge = region.y0 if upward else region.y1
    if region is None or not has_graphic:
        return None
    # Never into the caption itself (images may overlap its first line by a point or two).
    if upward:
        region.y1 = min(region.y1, caption.y0 - 0.5)
    else:
        region.y0 = max(region.y0, caption.y1 + 0.5)
    return region if region.height >= 12 else None


_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*|[A-Z](?:\.\d{1,2})*)\.?\s+[A-Z]")


def _is_heading(block: _Block, body_size: float) -> bool:
    """A section heading ("3.2 Method", "D ADDITIONAL EXPERIMENTS") ends a figure."""
    return block.words <= 10 and block.size >= 0.95 * body_size and bool(_HEADING.match(block.text))


def _framed(rect: pymupdf.Rect, graphics: list[pymupdf.Rect]) -> bool:
    """Text inside a drawn box belongs to a figure (prompt examples, panels)."""
    return any(g.contains(rect) and g.height > rect.height + 4 for g in graphics)


def _figure_region(
    page: pymupdf.Page, caption: _Block, blocks: list[_Block], graphics: list, body_size: float
) -> pymupdf.Rect | None:
    band = _band(caption, page)
    barriers = [
        b.rect for b in blocks
        if b is not caption and (
            (_is_body_text(b, band, body_size) and not _framed(b.rect, graphics))
            or _is_heading(b, body_size)
            or _CAPTION.match(b.text) or _OTHER_CAPTION.match(b.text)
        )
    ]
    barrier_ids = {id(r) for r in barriers}
    labels = [b.rect for b in blocks if b is not caption and id(b.rect) not in barrier_ids]
    for upward in (True, False):
        region = _grow(caption.rect, upward, band, graphics, labels, barriers)
        if region is not None:
            return region
    return _beside(caption.rect, graphics, labels)


def _beside(caption: pymupdf.Rect, graphics: list[pymupdf.Rect], labels: list[pymupdf.Rect]):
    """A figure set beside its caption (side captions of LNCS-style papers)."""
    def level(r: pymupdf.Rect) -> bool:
        overlap = min(r.y1, caption.y1) - max(r.y0, caption.y0)
        return overlap >= 0.5 * min(r.height, caption.height) and (
            r.x0 >= caption.x1 - 2 or r.x1 <= caption.x0 + 2
        )

    parts = [r for r in graphics if level(r) and r.height >= 12]
    if not parts:
        return None
    region = pymupdf.Rect(parts[0])
    for r in parts[1:] + [r for r in graphics + labels if level(r)]:
        region |= r
    return region


def _body_size(blocks: list[_Block]) -> float:
    sizes = sorted(b.size for b in blocks if b.words >= 12)
    return sizes[len(sizes) // 2] if sizes else 10.0


def _is_architecture(caption: str) -> bool:
    return bool(_ARCHITECTURE.search(caption) or _LEADING_ILLUSTRATION.match(caption))


def _page_figures(page: pymupdf.Page) -> list[tuple[str, _Block, pymupdf.Rect | None]]:
    blocks = _text_blocks(page)
    captions = [(n, b) for b in blocks if (n := _caption_number(b)) is not None]
    if not captions:
        return []
    graphics = _graphics(page)
    body_size = _body_size(blocks)
    return [(n, b, _figure_region(page, b, blocks, graphics, body_size)) for n, b in captions]


def extract_figures(
    pdf_path: Path, assets_dir: Path | None = None, image_prefix: str = "fig"
) -> list[Figure]:
    """Numbered figures of a PDF, in page order, each with its caption and crop.

    Raises PdfError for PDFs that cannot be opened; never for odd page content.
    """
    doc = open_pdf(Path(pdf_path))
    try:
        if assets_dir is not None:
            Path(assets_dir).mkdir(parents=True, exist_ok=True)
        figures: list[Figure] = []
        seen: set[tuple[str, int]] = set()
        for page in doc:
            try:
                found = _page_figures(page)
            except Exception:  # a damaged page loses its figures, not the whole paper
                continue
            for number, caption, region in found:
                key = (number, page.number + 1)
                if key in seen or region is None:
                    continue
                seen.add(key)
                figure = Figure(
                    number=number,
                    page=page.number + 1,
                    bbox=tuple(round(v, 2) for v in region),
                    caption=caption.text,
                    is_architecture=_is_architecture(caption.text),
                )
                if assets_dir is not None:
                    label = re.sub(r"[^A-Za-z0-9.]", "_", number)
                    figure.image = f"{image_prefix}-p{figure.page}-{label}.png"
                    save_crop(page, region + (-2, -2, 2, 2), Path(assets_dir) / figure.image)
                figures.append(figure)
        return figures
    finally:
        doc.close()
