"""Result tables as data (evidence.tables, evidence.table_labels) on small PDFs built here: ruled, borderless,
image, malformed, multi-level headers, methods as columns, statistics; benchmark keys across papers."""
from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from surveyor.evidence.table_labels import benchmark_key, non_result, shared_benchmarks, split_labels, transposed
from surveyor.evidence.tables import ResultRow, extract_tables, own_names
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


def _write_rows(page, top: float, caption: str, rows: list[list[tuple[float, str]]]) -> None:
    page.insert_text((72, top), caption, fontsize=9)
    for n, row in enumerate(rows):
        for x, cell in row:
            page.insert_text((x, top + 24 + 14 * n), cell, fontsize=9)


@pytest.fixture()
def labelled_pdf(tmp_path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    # Two header levels: a benchmark spanning two metric columns.
    _write_rows(page, 60, "Table 1: Retrieval results.", [
        [(200, "COCO"), (330, "Flickr30K")],
        [(72, "Method"), (180, "R@1"), (230, "R@5"), (310, "R@1"), (360, "R@5")],
        [(72, "BaseNet"), (180, "61.2"), (230, "85.0"), (310, "80.1"), (360, "95.3")],
        [(72, "TinyNet (ours)"), (180, "63.4"), (230, "86.1"), (310, "82.2"), (360, "96.0")]])
    # Methods as columns, benchmarks as rows.
    _write_rows(page, 200, "Table 2: Accuracy of each model.", [
        [(72, "Benchmark"), (200, "BaseNet"), (280, "TinyNet")],
        [(72, "MMLU (5-shot)"), (200, "55.1"), (280, "58.7")],
        [(72, "GSM8K"), (200, "31.0"), (280, "40.2")]])
    # Not results: dataset statistics.
    _write_rows(page, 320, "Table 3: Statistics of the training data.", [
        [(72, "Split"), (200, "Examples"), (280, "Tokens")],
        [(72, "train"), (200, "12000"), (280, "350000")],
        [(72, "test"), (200, "1000"), (280, "30000")]])
    path = tmp_path / "labels.pdf"
    doc.save(path)
    return path


def test_multi_level_header_transposed_table_and_statistics(labelled_pdf):
    found = extract_tables(labelled_pdf, "TinyNet: small and fast")
    cells = {(r.table, r.method, r.benchmark, r.metric, r.setting): r.value for r in found.rows}
    assert cells[("1", "TinyNet (ours)", "Flickr30K", "R@5", "")] == "96.0"
    assert cells[("1", "BaseNet", "COCO", "R@1", "")] == "61.2"
    assert cells[("2", "TinyNet", "MMLU", "Accuracy", "5-shot")] == "58.7"
    assert cells[("2", "BaseNet", "GSM8K", "Accuracy", "")] == "31.0"
    assert {r.method for r in found.rows if r.own} == {"TinyNet (ours)", "TinyNet"}
    assert not [r for r in found.rows if r.table == "3"]
    assert found.skipped and found.skipped[0].startswith("Table 3 p.1:")


def test_benchmark_key_and_shared_benchmarks():
    assert benchmark_key("MMLU (5-shot)") == ("mmlu", "5-shot")
    assert benchmark_key("GSM-8K")[0] == benchmark_key("gsm8k")[0] == "gsm8k"
    assert benchmark_key("HumanEval+")[0] != benchmark_key("HumanEval")[0]

    def row(method, benchmark, metric, value):
        return ResultRow(method, benchmark, metric, value, "1", 1, "Table 1: x")

    groups = shared_benchmarks({
        "a": [row("A", "MMLU (5-shot)", "Acc", "60.1"), row("A", "GSM8K", "Acc", "40.0")],
        "b": [row("B", "MMLU", "accuracy", "62.3"), row("B", "ARC", "Acc", "70.0")],
        "c": [row("C", "mmlu", "F1", "0.5")]})
    assert [(g.key, g.papers) for g in groups] == [("mmlu", ["a", "b"])]
    assert {r.value for _, r in groups[0].rows} == {"60.1", "62.3"}


def test_labels_split_and_orientation():
    assert split_labels(["MSR-VTT", "R@1"], "") == ("MSR-VTT", "R@1", "")
    assert split_labels(["Top-1 Accuracy (%)"], "Results on the ImageNet benchmark.") == ("ImageNet",
                                                                                         "Top-1 Accuracy (%)", "")
    assert transposed(["Accuracy", "F1"], [["LLaVA"], ["BLIP-2"]], [])
    assert not transposed(["BaseNet", "TinyNet"], [["GLUE"], ["SQuAD"]], [])
    assert non_result("Table 4: Hyper-parameters used for fine-tuning.", ["lr"], ["3"], 0)
    assert not non_result("Table 5: Results on GLUE.", ["CoLA"], ["51.3"], 0)
