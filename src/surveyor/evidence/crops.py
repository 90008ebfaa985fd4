"""PNG crops of page regions: the images of display equations and figures."""

from __future__ import annotations

from pathlib import Path

from surveyor.index.pymupdf_core import pymupdf

__all__ = ["save_crop"]


def save_crop(page: pymupdf.Page, rect: pymupdf.Rect, path: Path) -> None:
    """PNG of a region given in text coordinates, as the page displays it (no annotations)."""
    shown = (pymupdf.Rect(rect) * page.rotation_matrix) & page.rect  # rotated pages
    page.get_pixmap(clip=shown, dpi=150, annots=False).save(path)
