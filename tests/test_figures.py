"""Figures (caption, region, crop) on real corpus PDFs and small PDFs made here."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from surveyor.errors import PdfError
from surveyor.evidence.figures import extract_figures

CORPUS_PDF = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf"


def corpus_pdf(name: str) -> Path:
    path = CORPUS_PDF / f"{name}.pdf"
    if not path.is_file():
        pytest.fail(f"test corpus missing: {path} (expected the shared corpus at {CORPUS_PDF})")
    return path


def test_architecture_figure_is_found_and_cropped(tmp_path):
    figures = extract_figures(corpus_pdf("2412.19048"), assets_dir=tmp_path)
    jasper = next(f for f in figures if f.number == "1")
    assert jasper.page == 2
    assert jasper.caption == "Figure 1: The model architecture of Jasper model"
    assert jasper.is_architecture
    x0, y0, x1, y1 = jasper.bbox
    assert x1 - x0 > 150 and y1 - y0 > 150
    png = tmp_path / jasper.image
    pix = pymupdf.Pixmap(str(png))
    assert pix.width > 300 and pix.height > 300
    assert set(jasper.to_dict()) == {"number", "page", "bbox", "caption", "image", "is_architecture"}


def test_two_column_figures_stay_in_their_column():
    figures = {f.number: f for f in extract_figures(corpus_pdf("1909.10351"))}
    assert set(figures) == {"1", "2"}
    illustration, details = figures["1"], figures["2"]
    assert illustration.is_architecture  # "The illustration of TinyBERT learning."
    assert not details.is_architecture
    assert illustration.bbox[2] < 300  # left column
    assert details.bbox[0] > 290  # right column
    assert details.caption.startswith("Figure 2: The details of Transformer-layer distillation")


def test_plots_are_not_architecture_and_regions_sit_above_captions():
    figures = extract_figures(corpus_pdf("1707.06347"))
    assert [f.number for f in figures] == ["1", "2", "3", "4", "5", "6"]
    assert not any(f.is_architecture for f in figures)
    plot = figures[0]
    assert plot.page == 3 and plot.caption.startswith("Figure 1: Plots showing one term")
    assert plot.bbox[3] - plot.bbox[1] > 60


def _save(doc: pymupdf.Document, path: Path) -> Path:
    doc.save(path)
    doc.close()
    return path


def test_image_only_page_and_text_only_pdf_give_no_figures(tmp_path):
    source = pymupdf.open(corpus_pdf("2412.19048"))
    png = source[1].get_pixmap(dpi=72).tobytes("png")
    source.close()
    scan = pymupdf.open()
    page = scan.new_page()
    page.insert_image(page.rect, stream=png)
    assert extract_figures(_save(scan, tmp_path / "scan.pdf")) == []

    prose = pymupdf.open()
    prose.new_page().insert_text((72, 72), "As Figure 3 shows, nothing here is a caption.")
    assert extract_figures(_save(prose, tmp_path / "prose.pdf")) == []


def test_broken_pdf_raises_pdf_error(tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(PdfError):
        extract_figures(empty)
