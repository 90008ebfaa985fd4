"""Paper identity from stamps and file names; safe keys never escape their folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from surveyor.sources.identity import id_from_filename, safe_key, split_version
from surveyor.sources.metadata import PaperMeta


@pytest.mark.parametrize("text, expected", [
    ("2305.18290v3", ("2305.18290", 3)), ("arXiv:1707.06347", ("1707.06347", None)),
    ("hep-th/9901001v2", ("hep-th/9901001", 2)), ("not an id", ("", None))])
def test_split_version(text, expected):
    assert split_version(text) == expected


@pytest.mark.parametrize("name, expected", [
    ("2305.18290v2.pdf", ("2305.18290", 2)), ("1910.01108.pdf", ("1910.01108", None)),
    ("hep-th_9901001.pdf", ("hep-th/9901001", None)), ("skywork_r1v4.pdf", ("", None))])
def test_id_from_filename(name, expected):
    assert id_from_filename(Path(name)) == expected


def test_safe_key_flattens_old_ids_and_refuses_paths():
    assert safe_key("hep-th/9901001") == "hep-th_9901001"
    for bad in ("..", "../etc", ".hidden", "a b"):
        with pytest.raises(ValueError):
            safe_key(bad)


def test_metadata_fills_only_missing_fields_and_notes_the_source():
    mine = PaperMeta(title="From the PDF", sources={"title": "pdf"})
    mine.fill_from(PaperMeta(title="From arXiv", published="2019-10-02T17:56:28Z", authors=["V. Sanh"]), "arxiv")
    assert mine.title == "From the PDF" and mine.authors == ["V. Sanh"] and mine.year == 2019
    assert mine.sources == {"title": "pdf", "published": "arxiv", "authors": "arxiv"}
