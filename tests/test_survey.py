"""`surveyor survey`: structure, grounding, eras, files, regeneration, rendering and faults.

Most tests use `--llm none` (extractive, fast) on a copy of the shared ingested home; one
test runs the embedded model on a small topic with a tiny token budget.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import corpus_pdf, run_cli

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def home(ingested_home, tmp_path_factory) -> Path:
    """A writable copy of the shared home; cards built here are reused by later copies."""
    dest = tmp_path_factory.mktemp("survey") / "home"
    shutil.copytree(ingested_home, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def extractive(home) -> dict:
    """One extractive distillation survey, shared by the structure tests."""
    result = run_cli(home, "survey", "--topic", "distill", "--llm", "none", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    data["_dir"] = Path(data["dir"])
    return data


def catalog_of(home: Path):
    from surveyor.index.catalog import Catalog

    return Catalog(home / "index")


# --------------------------------------------------------------------------- structure and grounding


def test_every_topic_paper_appears_and_the_lineage_timeline_is_embedded(extractive, home):
    """The whole topic: key papers in full, the rest compact; the lineage figure is a PNG in assets/, in the
    Markdown and inlined in the HTML; the scope says how papers were chosen."""
    from surveyor.settings import load_settings

    threshold = load_settings(home=home).topics.threshold
    catalog = catalog_of(home)
    try:
        topic_ids = {r.arxiv_id or r.paper_id for r in catalog.papers() if r.topics.get("distillation", 0.0) >= threshold}
    finally:
        catalog.close()
    out = extractive["_dir"]
    md = (out / "survey.md").read_text()
    run = json.loads((out / "run.json").read_text())
    skipped = {s["paper_id"] for s in run["skipped"]}
    assert topic_ids - skipped <= set(extractive["papers"])
    for pid in topic_ids:
        assert pid in md, pid
    selection = run["selection"]
    assert set(selection["full"]) | set(selection["compact"]) == set(extractive["papers"])
    assert len(selection["full"]) <= 12 and "in-topic citations" in selection["formula"]
    assert "**How papers were chosen:**" in md and "key score = " in md
    if selection["compact"]:
        assert "#### Also in this family" in md
    png = out / "assets" / "lineage.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](assets/lineage.png)" in md and "## Lineage: what recent work builds on" in md
    assert "Most-cited foundations in the corpus" in md
    assert (out / "survey.html").read_text().count("data:image/png") >= 1
    assert set(run["lineage"]["edges_used"]) == {"recent→traditional", "recent→recent", "traditional→traditional"}




def test_families_narratives_and_results_are_grounded(extractive, home):
    """Families are named by a phrase their own papers use; each era opens with a synthesis whose quotes are on
    their pages; the results table cites every value [id p.N Table k] and the value is on that page."""
    from surveyor.grounding import quote_on_page, table_cells
    from surveyor.textnorm import match_key

    out = extractive["_dir"]
    md = (out / "survey.md").read_text()
    run = json.loads((out / "run.json").read_text())
    catalog = catalog_of(home)
    try:
        from surveyor.evidence.cards import get_card
        from surveyor.settings import load_settings

        settings = load_settings(home=home)
        ids = set(extractive["papers"])
        texts = []
        for r in catalog.papers():
            if (r.arxiv_id or r.paper_id) in ids:
                quotes = " ".join(q.text for q in get_card(settings, r.paper_id, catalog).innovations[:3])
                texts.append(match_key(f"{r.title}. {r.meta.abstract or ''} {quotes}"))
        for theme in run["themes"]:
            assert theme["name"] and " · " not in theme["name"] and theme["name"] in theme["terms"], theme
            # The name is the papers' own phrase, found verbatim in two of them (one for a family of one).
            users = sum(bool(re.search(rf"(?<![\w-]){re.escape(match_key(theme['name']))}(?![\w-])", t))
                        for t in texts)
            assert users >= min(2, len(theme["papers"])), (theme["name"], users)
            assert f"Family: {theme['name']}" in md
        for era in ("## 2. Traditional SOTA", "## 3. Recent trends"):
            block = md.split(era, 1)[1].split("\n## ", 1)[0]
            assert "approach famil" in block and re.search(r"\[\S+ p\.\d+\]", block), era
        cells = table_cells(md)
        assert run["results"]["shown"] == len(cells)
        for value, citation in cells:
            assert citation.table and quote_on_page(value, catalog.page_text(citation.paper_id, citation.page))
        if cells:
            assert len({c.paper_id for _, c in cells}) >= 2
    finally:
        catalog.close()
    assert "### " in md.split("## 7. Key challenges and next steps", 1)[1].split("\n## ", 1)[0]


def test_json_summary_and_files(extractive, home):
    out = extractive["_dir"]
    assert set(extractive) >= {"dir", "papers", "eras", "references", "equations", "figures", "supported_share",
                               "seconds", "changed_since"}
    assert extractive["changed_since"] is None
    for name in ("survey.md", "survey.html", "references.bib", "support.json", "run.json"):
        assert (out / name).is_file(), name
    assert out.parent == home / "surveys" / "distillation"
    latest = out.parent / "latest"
    assert latest.is_symlink() and latest.resolve() == out.resolve()
    assert not list(out.parent.glob("*.partial"))
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", out.name)
    assert {"1910.01108", "2305.02301", "2012.12877"} <= set(extractive["papers"])
    assert extractive["supported_share"] >= 0.95


def test_eras_are_decided_by_arxiv_dates(extractive, home):
    catalog = catalog_of(home)
    try:
        for era, ids in extractive["eras"].items():
            for pid in ids:
                published = catalog.paper(pid).meta.published
                assert (published < "2024-01-01") == (era == "traditional"), (pid, published, era)
    finally:
        catalog.close()
    assert extractive["eras"]["traditional"], "DistilBERT, DeiT and distilling step-by-step are all before 2024"
    md = (extractive["_dir"] / "survey.md").read_text()
    assert "## 2. Traditional SOTA (before 2024)" in md and "## 3. Recent trends (2024 and after)" in md


def test_every_cited_sentence_is_checked_against_its_page(extractive, home):
    from surveyor.grounding import Citation, PageTexts, check_cited, cited_claims

    md = (extractive["_dir"] / "survey.md").read_text()
    claims = cited_claims(md)
    assert len(claims) >= 10
    catalog = catalog_of(home)
    try:
        pages = PageTexts(catalog)
        verdicts = [check_cited(text, Citation(pid, page), pages).supported for text, pid, page in claims]
        for _, pid, page in claims:
            assert catalog.page_text(pid, page) is not None, f"cited page {pid} p.{page} does not exist"
    finally:
        catalog.close()
    assert sum(verdicts) / len(verdicts) >= 0.95
    support = json.loads((extractive["_dir"] / "support.json").read_text())
    assert support["summary"]["supported_share"] == extractive["supported_share"]
    assert all(c["supported"] for c in support["claims"] if c["action"] != "dropped")


def test_references_only_from_the_corpus(extractive, home):
    import bibtexparser

    catalog = catalog_of(home)
    try:
        for ref in extractive["references"]:
            record = catalog.paper(ref["arxiv_id"])
            assert record is not None
            assert ref["title"] == record.meta.title and ref["year"] == record.meta.year
    finally:
        catalog.close()
    md = (extractive["_dir"] / "survey.md").read_text()
    cited = {m.group("id") for m in re.finditer(r"\[(?P<id>[\w.\-/]+) p\.\d+", md)}
    assert cited <= {r["arxiv_id"] for r in extractive["references"]}
    library = bibtexparser.parse_string((extractive["_dir"] / "references.bib").read_text())
    assert not library.failed_blocks
    eprints = {e.fields_dict["eprint"].value for e in library.entries if "eprint" in e.fields_dict}
    assert eprints == {r["arxiv_id"] for r in extractive["references"]}
    run = json.loads((extractive["_dir"] / "run.json").read_text())
    assert set(run["citation_keys"].values()) == {e.key for e in library.entries}


def test_sections_equations_and_assets(extractive):
    out = extractive["_dir"]
    md = (out / "survey.md").read_text()
    for heading in ("## 1. Scope", "## 4. Advancements by approach family", "### 4.1 Family:",
                    "## 5. Results side by side", "## 6. Comparison", "## 7. Key challenges and next steps",
                    "## 8. References", "**Challenge addressed.**",
                    "**Key innovation.**", "**Mathematical formulation.**", "**Architecture changes.**",
                    "**Training paradigm.**", "**Evaluation datasets.**", "**Performance metrics.**"):
        assert heading in md, heading
    assert extractive["equations"] >= 1
    images = re.findall(r"!\[[^\]]*\]\((assets/[^)\s]+)", md)  # the path, not its "[id p.N]" title
    assert images and all((out / rel).is_file() for rel in images)
    assert re.search(r"\[\S+ p\.\d+ eq\.\(\d+\)\]", md), "equations are cited with their number"
    run = json.loads((out / "run.json").read_text())
    assert run["corpus"]["content_hash"] and run["prompts"] == {}
    assert run["models"]["llm"]["name"] == "none"
    assert run["models"]["embedder"]["folder"]["sha256"]
    assert {p["paper_id"] for p in run["papers"]} == set(extractive["papers"])


def test_html_is_self_contained(extractive):
    html = (extractive["_dir"] / "survey.html").read_text()
    assert "<script" not in html and "<link" not in html
    sources = re.findall(r'<img[^>]*src="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert 'class="missing"' not in html
    assert 'figure class="pair"' in html, "equation crops sit beside their LaTeX/text"


_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img'), bad = 0;
  imgs.forEach(function (img) {
    var ok = img.complete && img.naturalWidth > 0;
    img.setAttribute('data-loaded', ok ? 'yes' : 'no');
    if (!ok) bad++;
  });
  document.body.setAttribute('data-images', imgs.length + ':' + bad);
});
</script>"""


def test_html_renders_in_headless_chromium(extractive, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail("/usr/bin/chromium is missing: install it with `apt-get install -y chromium` "
                    "(needed to check that survey.html renders)", pytrace=False)
    page = tmp_path / "page.html"
    html = (extractive["_dir"] / "survey.html").read_text()
    page.write_text(html.replace("</body>", _CHECK_SCRIPT + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]

    def chromium(*args: str, profile: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CHROMIUM), *flags, f"--user-data-dir={tmp_path / profile}", *args],
                              capture_output=True, text=True, timeout=120)

    dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri(), profile="p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    match = re.search(r'data-images="(\d+):(\d+)"', dom.stdout)
    assert match, "the page's load handler did not run"
    total, broken = int(match.group(1)), int(match.group(2))
    assert total >= 1 and broken == 0, f"{broken} of {total} images did not load"
    assert "image not available" not in dom.stdout
    shot = tmp_path / "shot.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,2400", "--hide-scrollbars", page.as_uri(),
                      profile="p2")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    import pymupdf

    pix = pymupdf.Pixmap(str(shot))
    samples = pix.samples
    step = pix.n
    dark = sum(1 for i in range(0, len(samples), step * 7) if samples[i] < 128)
    assert dark > 200, "the screenshot is (nearly) blank"


# --------------------------------------------------------------------------- bad input and faults


def test_unknown_topic_is_one_line_listing_valid_topics(home):
    result = run_cli(home, "survey", "--topic", "astrology", "--llm", "none")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown topic 'astrology'" in lines[0] and "distillation" in lines[0]


def test_empty_corpus_and_empty_topic_say_how_many(tmp_path, home):
    empty = run_cli(tmp_path / "empty-home", "survey", "--topic", "distillation", "--llm", "none")
    assert empty.returncode == 1
    assert "found 0 papers" in empty.stderr and "corpus is empty" in empty.stderr
    assert "surveyor ingest" in empty.stderr  # arXiv is unreachable in tests: no fetch offer
    none_since = run_cli(home, "survey", "--topic", "distillation", "--since", "2099", "--llm", "none")
    assert none_since.returncode == 1
    assert re.search(r"found 0 papers for topic 'distillation' since 2099 among \d+", none_since.stderr)


def test_thin_topic_offers_fetch_when_arxiv_answers(home, monkeypatch):
    """With arXiv reachable (a local stand-in answers), an empty topic suggests `surveyor fetch`."""
    import http.server
    import threading

    from surveyor.settings import load_settings
    from surveyor.write.survey import SurveyOptions, TopicCorpusEmpty, build_survey

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SURVEYOR_ARXIV_URL", f"http://127.0.0.1:{server.server_port}/api/query")
        with pytest.raises(TopicCorpusEmpty) as info:
            build_survey(load_settings(home), "distillation", SurveyOptions(llm="none", since=2099))
    finally:
        server.shutdown()
    assert "found 0 papers" in str(info.value) and "surveyor fetch --topic distillation" in str(info.value)


def test_out_not_writable(home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli(home, "survey", "--topic", "distillation", "--llm", "none", "--out", str(blocker / "sub"))
    assert result.returncode == 2
    assert "--out" in result.stderr and "not writable" in result.stderr


def test_unreachable_llm_suggests_llm_none(home, tmp_path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    result = run_cli(home, "survey", "--topic", "distillation", "--llm", "ollama", "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "--llm none" in result.stderr
    assert not list((tmp_path / "o").rglob("survey.md"))


def test_interrupt_leaves_latest_untouched(extractive, home, monkeypatch):
    from surveyor.settings import load_settings
    from surveyor.write.survey import build as survey

    topic_dir = extractive["_dir"].parent
    before = sorted(p.name for p in topic_dir.iterdir())
    latest = (topic_dir / "latest").resolve()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(survey, "render_html", interrupted)
    with pytest.raises(KeyboardInterrupt):
        survey.build_survey(load_settings(home), "distillation", survey.SurveyOptions(llm="none"))
    assert sorted(p.name for p in topic_dir.iterdir()) == before
    assert (topic_dir / "latest").resolve() == latest


def test_paper_with_empty_card_is_skipped_with_a_note(home, tmp_path, monkeypatch):
    from surveyor.evidence import cards
    from surveyor.settings import load_settings
    from surveyor.write.survey import SurveyOptions, build_survey

    real = cards.get_card

    def empty_for_deit(settings, paper_id, catalog=None):
        card = real(settings, paper_id, catalog)
        if paper_id == "2012.12877":
            return cards.EvidenceCard(paper_id=paper_id, title=card.title, published=card.published,
                                      note="no text layer (image-only PDF?): nothing to extract")
        return card

    monkeypatch.setattr(cards, "get_card", empty_for_deit)
    result = build_survey(load_settings(home), "distillation", SurveyOptions(llm="none", out=tmp_path,
                                                                             formats=("md",)))
    assert not (result.dir / "survey.html").exists(), "--format md writes no HTML"
    assert "2012.12877" not in result.papers
    assert any(s["paper_id"] == "2012.12877" for s in result.summary["skipped"])
    md = (result.dir / "survey.md").read_text()
    assert "**Skipped:**" in md and "image-only PDF" in md


# --------------------------------------------------------------------------- regeneration


def test_regeneration_reuses_cards_and_drafts_and_reports_changes(home, tmp_path, extractive):
    from surveyor.index.ingest import Ingestor
    from surveyor.settings import load_settings
    from surveyor.write.survey import SurveyOptions, build_survey

    grown = tmp_path / "home"
    shutil.copytree(home, grown, symlinks=True)
    settings = load_settings(grown)
    first = build_survey(settings, "distillation", SurveyOptions(llm="none"))
    first_keys = json.loads((first.dir / "run.json").read_text())["citation_keys"]

    pdf_dir = tmp_path / "new"
    pdf_dir.mkdir()
    shutil.copy(corpus_pdf("1909.10351"), pdf_dir / "1909.10351.pdf")
    shutil.copy(corpus_pdf("1909.10351").parent / "metadata.jsonl", pdf_dir / "metadata.jsonl")
    report = Ingestor(load_settings(grown), arxiv_lookup=False, progress=False).run([pdf_dir])
    assert report.added == 1

    second = build_survey(load_settings(grown), "distillation", SurveyOptions(llm="none"))
    run = json.loads((second.dir / "run.json").read_text())
    assert "1909.10351" in second.papers
    assert run["cards"]["built"] == ["1909.10351"], "only the new paper's card is extracted"
    assert set(run["cards"]["cached"]) == set(first.papers)
    assert {f"paper:{pid}" for pid in first.papers} <= set(run["drafts"]["reused"])
    assert "paper:1909.10351" in run["drafts"]["made"]
    for pid, key in first_keys.items():
        assert run["citation_keys"][pid] == key, "citation keys are stable across runs"
    assert second.changed_since == first.dir.name
    md = (second.dir / "survey.md").read_text()
    block = md.split(f"## What changed since {first.dir.name}", 1)[1].split("\n## ", 1)[0]
    assert "TinyBERT" in block and "1909.10351" in block
    assert "paper:1909.10351" in block
    assert (second.dir.parent / "latest").resolve() == second.dir.resolve()


# --------------------------------------------------------------------------- the embedded writer


@pytest.mark.slow
def test_embedded_writer_small_topic(home, tmp_path):
    from surveyor.settings import load_settings
    from surveyor.write.llm import default_gguf_path
    from surveyor.write.survey import SurveyOptions, build_survey

    settings = load_settings(home)
    if not default_gguf_path(settings.llm).is_file():
        pytest.fail(f"embedded model missing at {default_gguf_path(settings.llm)}; run `make setup`", pytrace=False)
    options = SurveyOptions(llm="embedded", out=tmp_path, max_papers=2, max_tokens=24)
    first = build_survey(settings, "distillation", options)
    support = json.loads((first.dir / "support.json").read_text())
    generated = [c for c in support["claims"] if c["origin"] in ("generated", "rewritten")]
    assert generated, "the writer produced sentences that were checked"
    assert all(c["supported"] for c in support["claims"] if c["action"] != "dropped")
    run = json.loads((first.dir / "run.json").read_text())
    assert run["models"]["llm"]["name"].startswith("embedded:")
    assert run["models"]["llm"]["file"]["method"].startswith("sha256(size")
    assert set(run["prompts"]) == {"survey_section", "survey_next_steps", "survey_era"}
    assert any(s.startswith("theme:") for s in run["drafts"]["made"])
    again = build_survey(settings, "distillation", options)
    rerun = json.loads((again.dir / "run.json").read_text())
    assert rerun["drafts"]["made"] == [], "unchanged sections are not written again"
    assert (again.dir / "survey.md").read_text().split("## 2.", 1)[1] == \
        (first.dir / "survey.md").read_text().split("## 2.", 1)[1]


# --------------------------------------------------------------------------- units


def _record(pid, published, authors=("Jane Smith",), title="Distilling Things", topics=None):
    from surveyor.index.catalog import PaperRecord
    from surveyor.sources.metadata import PaperMeta

    meta = PaperMeta(arxiv_id=pid, title=title, authors=list(authors), published=published)
    return PaperRecord(pid, pid, 1, "0" * 64, "x.pdf", meta, 1, 1, True, topics or {}, "")


def test_era_boundary_is_2024_01_01():
    from surveyor.write.survey.select import era_of

    assert era_of(_record("2312.1", "2023-12-31T23:59:59Z")) == "traditional"
    assert era_of(_record("2401.1", "2024-01-01T00:00:00Z")) == "recent"
    assert era_of(_record("doc-1", None)) == "undated"


def test_selection_keeps_both_eras():
    from surveyor.topics import resolve_topic
    from surveyor.write.survey.select import select_papers

    topic = resolve_topic("distillation")
    old = [_record(f"19{i:02d}.0", "2019-01-01T00:00:00Z", topics={topic.name: 0.9}) for i in range(10)]
    new = [_record(f"25{i:02d}.0", "2025-01-01T00:00:00Z", topics={topic.name: 0.4}) for i in range(5)]
    chosen = select_papers(old + new, topic, 6)
    assert len(chosen) == 6
    assert sum(1 for r in chosen if r.meta.published.startswith("2025")) == 3


def test_citation_keys_are_deterministic_and_stable():
    from surveyor.render.bibtex import citation_keys

    a = _record("2301.1", "2023-01-01T00:00:00Z", ("John Schulman",), "Proximal Policy Optimization")
    b = _record("2302.1", "2023-02-01T00:00:00Z", ("J. Schulman",), "Proximal Things")
    c = _record("2303.1", "2023-03-01T00:00:00Z", ("Ludwig van Beethoven",), "The Ode")
    keys = citation_keys([a, c])
    assert keys == {"2301.1": "schulman2023proximal", "2303.1": "vanbeethoven2023ode"}
    grown = citation_keys([b, a, c], previous=keys)
    assert grown["2301.1"] == "schulman2023proximal" and grown["2302.1"] == "schulman2023proximalb"


def test_publish_dir_is_atomic(tmp_path):
    from surveyor.render.runinfo import latest_dir, publish_dir

    with publish_dir(tmp_path, stamp="20250101T000000Z") as first:
        (first.path / "f.txt").write_text("one")
    assert latest_dir(tmp_path) == first.final.resolve()
    with pytest.raises(RuntimeError):
        with publish_dir(tmp_path, stamp="20250102T000000Z") as second:
            (second.path / "f.txt").write_text("half")
            raise RuntimeError("boom")
    assert latest_dir(tmp_path) == first.final.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20250101T000000Z", "latest"]


def test_big_files_are_fingerprinted_by_size_head_and_tail(tmp_path):
    from surveyor.render.runinfo import file_fingerprint

    big = tmp_path / "model.gguf"
    with open(big, "wb") as fh:
        fh.write(b"a" * (5 << 20))
    fp = file_fingerprint(big)
    assert fp["size"] == 5 << 20 and fp["method"].startswith("sha256(size")
    with open(big, "r+b") as fh:
        fh.seek(3 << 20)
        fh.write(b"b")  # the middle is not sampled
    assert file_fingerprint(big)["sha256"] == fp["sha256"]
    with open(big, "r+b") as fh:
        fh.seek((5 << 20) - 1)
        fh.write(b"c")
    assert file_fingerprint(big)["sha256"] != fp["sha256"]


def test_render_html_inlines_images_and_pairs_equations(tmp_path):
    import pymupdf

    from surveyor.render.html import md_escape, render_html

    (tmp_path / "assets").mkdir()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 20, 10), False)
    pix.clear_with(128)
    pix.save(str(tmp_path / "assets" / "eq.png"))
    md = ("# T\n\n![Eq. (1)](assets/eq.png)\n\n$$\nL = \\sum_i x_i\n$$\n\n"
          f"| a | b |\n|---|---|\n| {md_escape('x | y')} | 2 |\n\n![gone](assets/none.png)\n")
    html = render_html(md, tmp_path, "T")
    assert 'src="data:image/png;base64,' in html
    assert '<figure class="pair">' in html and "\\sum_i x_i" in html
    assert "<td>x | y</td>" in html
    assert 'class="missing"' in html and "http" not in html.split("<body>")[1]


def test_cited_claims_reads_quotes_tables_and_skips_equations():
    from surveyor.grounding import cited_claims

    md = ("**Key innovation.** “We propose a new student network.” [1910.01108 p.2]\n\n"
          "Equation (3) as printed [2305.02301 p.4 eq.(3)]. Where: “where x is the input.” [2305.02301 p.4]\n\n"
          "| Paper | What changes |\n|---|---|\n| X (1) | “a distillation token is added” [2012.12877 p.3] |\n")
    assert cited_claims(md) == [("We propose a new student network.", "1910.01108", 2),
                                ("where x is the input.", "2305.02301", 4),
                                ("a distillation token is added", "2012.12877", 3)]


def test_writer_sentences_are_checked_rewritten_or_dropped(home):
    """The checker on given writer output: a true sentence stays, an invented number is replaced, a cut one goes."""
    from surveyor.evidence.cards import get_card
    from surveyor.settings import load_settings
    from surveyor.topics import resolve_topic
    from surveyor.write.survey.drafts import DraftCache, _Writer
    from surveyor.write.survey.select import Entry, era_of

    settings = load_settings(home)
    catalog = catalog_of(home)
    try:
        record = catalog.paper("1910.01108")
        card = get_card(settings, "1910.01108", catalog)
        entry = Entry(record, card, 1.0, era_of(record))
        q = card.innovations[0]
        writer = _Writer(settings, catalog, None, resolve_topic("distillation"), {entry.pid: entry},
                         DraftCache(Path("/nonexistent")), 40, lambda m: None)
        raw = (f"{q.text.rstrip('.')} [1910.01108 p.{q.page}]. "
               f"DistilBERT is 93% smaller and was trained on 4242 GPUs [1910.01108 p.{q.page}]. "
               "Distilling to smaller models with state-of-the-art multimodal capabilities [1910.01108 p.1]. "
               "It also reduces the")
        md, claims = writer.check_paragraph("theme:1", raw, [(entry, q.text, q.page)])
    finally:
        catalog.close()
    assert "4242" not in md and "93%" not in md
    kept = [c for c in claims if c["action"] == "kept"]
    assert kept and kept[0]["origin"] == "generated" and kept[0]["supported"]
    assert any(c["action"] == "dropped" and "token limit" in c["reasons"][0] for c in claims)
    assert "state-of-the-art multimodal" not in md
    assert md.count("[1910.01108 p.") >= 1


def test_limitations_fall_back_to_retrieval(home, tmp_path, monkeypatch):
    """When no card states a limitation, next steps are looked up in the papers' text and quoted."""
    from surveyor.evidence import cards
    from surveyor.settings import load_settings
    from surveyor.write.survey import SurveyOptions, build_survey

    real = cards.get_card

    def without_limitations(settings, paper_id, catalog=None):
        card = real(settings, paper_id, catalog)
        card.limitations, card.future_work = [], []
        return card

    monkeypatch.setattr(cards, "get_card", without_limitations)
    result = build_survey(load_settings(home), "distillation", SurveyOptions(llm="none", out=tmp_path))
    md = (result.dir / "survey.md").read_text()
    block = md.split("## 7. Key challenges and next steps", 1)[1].split("\n## ", 1)[0]
    assert "found by retrieval" in block and re.search(r"” \[\S+ p\.\d+\]", block)
    support = json.loads((result.dir / "support.json").read_text())
    assert any(c["section"] == "next-steps" and c["supported"] for c in support["claims"])
