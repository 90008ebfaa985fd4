"""Result tables as data (evidence.tables) on small PDFs built here: ruled, borderless, image, malformed."""
from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from surveyor.evidence.tables import extract_tables, own_names
from surveyor.textnorm import numbers_in

COLUMNS = [72, 200, 280, 360]
HEADER = ["Method", "GLUE", "SQuAD", "IMDb"]
ROWS = [["BERT-base", "79.5", "88.5", "93.46"], ["TinyNet (ours)", "77.0", "85.8", "92.82"],
        ["ELMo", "68.7", "-", "91.1"]]


def _write_table(page, top: float, caption: str, rows: list[list[str]], ruled: bool) -> None:
    page.insert_text((72, top), caption, fontsize=9)
    y = top + 24
    for row in [HEADER, *rows]:
        for x, cell in zip(COLUMNS, row):
            page.insert_text((x, y), cell, fontsize=9)
        if ruled:
            page.draw_line((68, y + 4), (440, y + 4))
        y += 14
    if ruled:
        page.draw_rect(pymupdf.Rect(68, top + 10, 440, y - 6))


@pytest.fixture()
def tables_pdf(tmp_path) -> Path:
    doc = pymupdf.open()
    ruled = doc.new_page()
    ruled.insert_text((72, 60), "Results. We compare TinyNet with prior models below.", fontsize=10)
    _write_table(ruled, 100, "Table 1: Ruled results on the dev sets.", ROWS, ruled=True)
    borderless = doc.new_page()
    # A malformed row: numbers with no method name before them.
    _write_table(borderless, 100, "Table 2: Borderless results.", [*ROWS[:2], ["", "12.3", "45.6", "78.9"]],
                 ruled=False)
    image_page = doc.new_page()
    image_page.insert_text((72, 100), "Table 3: A table printed as an image.", fontsize=9)
    picture = pymupdf.open()
    pic_page = picture.new_page(width=300, height=80)
    pic_page.insert_text((10, 30), "Method GLUE 55.5 66.6", fontsize=9)
    pixmap = pic_page.get_pixmap(dpi=72)
    image_page.insert_image(pymupdf.Rect(72, 120, 372, 200), pixmap=pixmap)
    path = tmp_path / "tables.pdf"
    doc.save(path)
    return path


def _page_text(path: Path, page: int) -> str:
    with pymupdf.open(path) as doc:
        return doc[page - 1].get_text()


def test_ruled_and_borderless_tables_give_rows_with_values_on_their_page(tables_pdf):
    found = extract_tables(tables_pdf, "TinyNet: a small network")
    assert found.tables == 2 and not found.notes
    by_table = {t: [r for r in found.rows if r.table == t] for t in ("1", "2")}
    for table, page in (("1", 1), ("2", 2)):
        rows = by_table[table]
        text = _page_text(tables_pdf, page)
        assert {r.page for r in rows} == {page}
        assert all(numbers_in(r.value) <= numbers_in(text) for r in rows)
        assert rows[0].caption.startswith(f"Table {table}:")
        glue = {r.method: r.value for r in rows if r.benchmark == "GLUE"}
        assert glue["BERT-base"] == "79.5" and glue["TinyNet (ours)"] == "77.0"
        squad = {r.method: r.value for r in rows if r.benchmark == "SQuAD"}
        assert squad.get("BERT-base") == "88.5"
        assert all(r.row_text for r in rows)
    assert "ELMo" not in {r.method for r in by_table["1"] if r.benchmark == "SQuAD"}  # "-" is no value
    own = {r.method for r in found.rows if r.own}
    assert own == {"TinyNet (ours)"}


def test_malformed_row_skipped_and_image_table_gives_nothing(tables_pdf):
    found = extract_tables(tables_pdf)
    values = {r.value for r in found.rows}
    assert "12.3" not in values and "78.9" not in values  # the row without a method name
    assert not [r for r in found.rows if r.table == "3" or r.page == 3]  # the image: no rows, no error
    assert "55.5" not in values and not found.notes


def test_unreadable_pdf_gives_a_note_not_an_error(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    found = extract_tables(bad)
    assert found.rows == [] and found.tables == 0 and found.notes


def test_own_names_from_the_title():
    assert "DistilBERT" in own_names("DistilBERT, a distilled version of BERT")
    assert "LATS" in own_names("LATS: Language Agent Tree Search")
