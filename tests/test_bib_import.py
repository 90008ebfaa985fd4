"""`surveyor ingest library.bib` on a Zotero-style export: attached PDFs, arXiv ids fetched from the
loopback arXiv, and every entry that gives nothing listed, never fatal."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from arxiv_replay import ArxivReplay
from conftest import corpus_pdf, run_cli
from surveyor.index.catalog import Catalog
from surveyor.settings import load_settings

BIB = r"""
@article{sanh2019distilbert,
  title = {{DistilBERT}, a distilled version of {BERT}: smaller, faster, cheaper and lighter},
  author = {Sanh, Victor and Debut, Lysandre and Chaumond, Julien and Wolf, Thomas},
  year = {2019},
  file = {Full Text PDF:files/12/Sanh et al. - 2019 - DistilBERT.pdf:application/pdf;Snapshot:files/12/snap.html:text/html},
}

@misc{fetched2023,
  title = {A paper known only by its arXiv id},
  author = {Someone, A.},
  eprint = {2309.10537},
  archivePrefix = {arXiv},
}

@article{missing2020,
  title = {A paper whose PDF was moved away},
  file = {files/99/gone.pdf},
}

@article{outside2021,
  title = {A paper whose attachment lies outside the library folder},
  file = {:../elsewhere/secret.pdf:PDF},
}

@article{broken2022,
  title = {An entry cut short,
  author = {Nobody}

@book{nothing2018,
  title = {A book with neither a PDF nor an arXiv id},
  author = {Writer, Some},
}
"""


def test_bib_import_ingests_attachments_and_ids_and_lists_the_rest(tmp_path, corpus_dir):
    home = tmp_path / "home"
    home.mkdir()
    (home / "surveyor.toml").write_text("[arxiv]\ndelay_s = 0.05\n")
    library = tmp_path / "zotero"
    (library / "files" / "12").mkdir(parents=True)
    shutil.copy(corpus_pdf("1910.01108"), library / "files" / "12" / "Sanh et al. - 2019 - DistilBERT.pdf")
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(corpus_pdf("2309.05767"), tmp_path / "elsewhere" / "secret.pdf")
    bib = library / "library.bib"
    bib.write_text(BIB)

    # Offline first: the attached PDF comes in described by the entry (arXiv cannot be asked).
    offline = run_cli(home, "ingest", str(bib), "--offline", "--json")
    assert offline.returncode == 0 and "Traceback" not in offline.stderr, offline.stderr
    report = json.loads(offline.stdout)
    assert report["added"] == 1 and report["papers"] == 1, report
    reasons: dict[str, str] = {}
    for item in report["listed"]:
        reasons[item["entry"]] = reasons.get(item["entry"], "") + item["reason"] + "; "
    assert "no such file" in reasons["missing2020"]
    assert "outside the .bib's folder" in reasons["outside2021"]
    assert "no attached PDF and no arXiv id" in reasons["nothing2018"]
    assert "an arXiv id, but --offline" in reasons["fetched2023"]
    assert any("malformed BibTeX" in r for r in reasons.values()), reasons
    catalog = Catalog(load_settings(home).index_dir)
    try:
        attached = catalog.paper("1910.01108")
        assert attached.meta.sources["title"] == "bibtex" and attached.meta.authors[0] == "Victor Sanh"
        assert catalog.paper("2309.05767") is None  # the attachment outside the folder was never read
    finally:
        catalog.close()

    with ArxivReplay(corpus_dir) as server:
        env = {"SURVEYOR_ARXIV_URL": server.api_url}
        online = run_cli(home, "ingest", str(bib), "--json", env=env)
        assert online.returncode == 0, online.stderr
        report = json.loads(online.stdout)
        assert report["added"] == 1 and report["papers"] == 2, report
        assert [r for r in server.requests if r.startswith("/pdf/")] == ["/pdf/2309.10537v1"]
        catalog = Catalog(load_settings(home).index_dir)
        try:
            fetched = catalog.paper("2309.10537").meta  # arXiv's own metadata first, not the entry's
            assert fetched.title == next(r["title"] for r in server.records if r["arxiv_id"] == "2309.10537")
            assert fetched.sources["title"] != "bibtex"
        finally:
            catalog.close()
        again = run_cli(home, "ingest", str(bib), "--json", env=env)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["added"] == 0
    skipped = {item["entry"] for item in second["listed"] if "already in the corpus" in item["reason"]}
    assert skipped == {"sanh2019distilbert", "fetched2023"}


def test_a_bib_that_does_not_exist_is_a_one_line_error(tmp_path):
    result = run_cli(tmp_path / "home", "ingest", str(tmp_path / "nope.bib"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_file_fields_of_the_three_managers(tmp_path: Path):
    from surveyor.grow.bibtex import attached_pdfs

    assert attached_pdfs("Full Text PDF:files/1/a.pdf:application/pdf;Snapshot:files/1/s.html:text/html") == ["files/1/a.pdf"]
    assert attached_pdfs(":papers/b.pdf:PDF") == ["papers/b.pdf"]
    assert attached_pdfs(r":C$\backslash$:/Users/x/c.pdf:pdf") == ["C:/Users/x/c.pdf"]
    assert attached_pdfs("docs/plain.pdf") == ["docs/plain.pdf"]
    assert attached_pdfs("Snapshot:files/1/s.html:text/html") == []
