"""`surveyor serve` and the HTML surveys, driven in the real Debian Chromium (Playwright, system browser).

One module fixture: a copy of the shared ingested home, an extractive survey of distillation
written into it, and `surveyor serve --llm none` running on it in its own process. The
LaTeX source of DeiT's three display equations (2012.12877) is kept beside the PDFs, as
`surveyor fetch` keeps an arXiv source, so the survey has LaTeX to render as MathML.
Screenshots of every page checked go to tests/artifacts/.
"""
from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pymupdf
import pytest

from conftest import corpus_pdf

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="the system Chromium is not installed")]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

DEIT_SOURCE = r"""\documentclass{article}
\begin{document}
\begin{equation}
\mathrm{Attention}(Q,K,V) = \mathrm{Softmax}(QK^\top/\sqrt{d})V,
\end{equation}
\begin{equation}
\mathcal{L}_\mathrm{global} = (1-\lambda)\mathcal{L}_\mathrm{CE}(\psi(Z_\mathrm{s}),y)
 + \lambda\tau^2\mathrm{KL}(\psi(Z_\mathrm{s}/\tau),\psi(Z_\mathrm{t}/\tau)).
\end{equation}
\begin{equation}
\mathcal{L}_\mathrm{global}^\mathrm{hardDistill} = \frac{1}{2}\mathcal{L}_\mathrm{CE}(\psi(Z_\mathrm{s}),y)
 + \frac{1}{2}\mathcal{L}_\mathrm{CE}(\psi(Z_\mathrm{s}),y_\mathrm{t}).
\end{equation}
\end{document}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(ingested_home, tmp_path_factory):
    from surveyor import api
    from surveyor.settings import load_settings

    home = tmp_path_factory.mktemp("serve") / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    source = home / "corpus" / "sources" / "2012.12877"
    source.mkdir(parents=True)
    (source / "main.tex").write_text(DEIT_SOURCE)
    result = api.survey("distill", llm="none", formats=("md", "html"), settings=load_settings(home))
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SURVEYOR_HOME": str(home)}
    server = subprocess.Popen([sys.executable, "-m", "surveyor", "--home", str(home), "serve", "--llm", "none",
                               "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"surveyor serve did not start: {server.stdout.read().decode()[-2000:]}")
            time.sleep(0.1)
    ARTIFACTS.mkdir(exist_ok=True)
    yield SimpleNamespace(home=home, base=base, survey=Path(result.dir), port=port)
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def _check_highlight(page) -> None:
    """The page view's highlight marks lie on the quote's words, computed independently with PyMuPDF:
    some mark overlaps the box of the quote's opening words (page.search_for), and every mark
    covers page words that are the quote's."""
    sheet = page.locator(".sheet")
    paper_id, number = sheet.get_attribute("data-paper"), int(sheet.get_attribute("data-page"))
    quote = page.locator("blockquote.quote").inner_text()
    image = page.locator("#page").bounding_box()
    marks = [m.bounding_box() for m in page.locator(".hl").all()]
    assert marks, f"nothing highlighted for {quote!r} on {paper_id} p.{number}"
    with pymupdf.open(corpus_pdf(paper_id)) as doc:
        pdf_page = doc[number - 1]
        scale = pdf_page.rect.width / image["width"]
        boxes = [pymupdf.Rect((m["x"] - image["x"]) * scale, (m["y"] - image["y"]) * scale,
                              (m["x"] + m["width"] - image["x"]) * scale, (m["y"] + m["height"] - image["y"]) * scale)
                 for m in marks]
        opening = " ".join(quote.strip("“”").split()[:5])
        expected = pdf_page.search_for(opening, flags=pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_PRESERVE_WHITESPACE)
        words = pdf_page.get_text("words")
    assert expected, f"test premise: {opening!r} is printed on {paper_id} p.{number}"
    assert any(box.intersects(want) for box in boxes for want in expected)
    target = _key(quote)
    for box in boxes:
        inside = [w[4] for w in words if box.contains(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2))]
        assert inside and all(_key(w) in target for w in inside if _key(w)), (inside, quote)


def _first_quote_citation(page):
    """The first citation link whose claim is a quotation (its title is the claim)."""
    for link in page.locator("a.cite").all():
        title = link.get_attribute("title") or ""
        if len(title.split()) >= 6:
            return link
    pytest.fail("no quoted citation in the page")


def test_survey_file_renders_math_and_its_citations_open_highlighted_page_views(served, page):
    page.goto((served.survey / "survey.html").as_uri())
    math = page.locator("math").first
    box = math.bounding_box()
    assert box and box["width"] > 20 and box["height"] > 5
    math.scroll_into_view_if_needed()
    page.locator("figure.pair", has=page.locator("math")).first.screenshot(path=ARTIFACTS / "survey-math.png")
    assert page.locator("a.page-view img").count() >= 1  # crops link to their pages
    link = _first_quote_citation(page)
    link.click()
    page.wait_for_load_state()
    assert page.url.startswith((served.survey / "assets" / "pages").as_uri()) and page.url.endswith("#hl")
    _check_highlight(page)
    page.screenshot(path=ARTIFACTS / "survey-page-view.png")


def test_app_survey_citation_opens_the_page_with_the_quote_highlighted(served, page):
    response = page.goto(served.base + "/survey/distillation")
    assert response.status == 200 and page.locator("math").count() >= 1
    link = _first_quote_citation(page)
    link.click()
    page.wait_for_load_state()
    assert re.search(r"/paper/[^/]+/page/\d+\?q=", page.url)
    _check_highlight(page)
    page.screenshot(path=ARTIFACTS / "app-page-view.png")
    pdf_link = page.get_by_role("link", name=re.compile(r"PDF at page"))
    pdf = urllib.request.urlopen(served.base + pdf_link.get_attribute("href").split("#")[0], timeout=30)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.read(5) == b"%PDF-"


def test_ask_round_trip_streams_an_answer_with_highlighted_cited_pages(served, page):
    page.goto(served.base + "/")
    page.fill("input[name=q]", "How is the DistilBERT student initialized?")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".citation", timeout=120_000)
    page.wait_for_load_state()
    assert page.locator("section.answer a.cite").count() >= 1
    first = page.locator(".citation").first
    assert len(first.locator("blockquote").inner_text().split()) >= 4
    assert first.locator(".sheet .hl").count() >= 1
    page.screenshot(path=ARTIFACTS / "app-ask.png", full_page=True)
    first.locator("a.cite").click()
    page.wait_for_load_state()
    _check_highlight(page)


def test_only_files_inside_the_home_are_served(served, page):
    outside = served.home.parent / "secret.txt"
    outside.write_text("not for the web")
    (served.home / "link.txt").symlink_to(outside)
    for path in ("/files/..%2Fsecret.txt", "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/files/link.txt",
                 "/files/index/catalog.sqlite", "/digest/..%2F..%2Fsecret.txt", "/paper/1910.01108/page/999"):
        assert page.goto(served.base + path).status == 404, path
    # A raw request line, as no browser would normalise it.
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    connection.request("GET", "/files/../secret.txt")
    assert connection.getresponse().status == 404
    page.screenshot(path=ARTIFACTS / "app-refused.png")
    crop = next((served.survey / "assets").glob("2012.12877/eq-*.png"))
    inside = f"/files/{crop.relative_to(served.home).as_posix()}"
    assert page.goto(served.base + inside).status == 200


def test_regenerate_button_writes_a_new_survey_with_progress(served, page):
    before = served.survey.resolve().name
    page.goto(served.base + "/survey/distillation")
    page.get_by_role("button", name="Regenerate survey").click()
    page.wait_for_selector("#result", timeout=300_000)
    assert page.locator("p.progress").count() >= 3
    page.screenshot(path=ARTIFACTS / "app-regenerated.png")
    after = (served.home / "surveys" / "distillation" / "latest").resolve().name
    assert after != before


def test_paper_page_shows_card_equations_and_figures_linked_to_their_pages(served, page):
    assert page.goto(served.base + "/paper/2012.12877").status == 200
    assert page.locator("h2", has_text="Evidence card").count() == 1
    assert page.locator("math").count() >= 1  # DeiT's equations from its LaTeX source
    crop = page.locator("a.page-view").first
    href = crop.get_attribute("href")
    assert re.fullmatch(r"/paper/2012\.12877/page/\d+(\?q=[^#]*)?#hl", href)
    crop.click()
    page.wait_for_load_state()
    assert page.locator("#page").bounding_box()["height"] > 200
    assert page.goto(served.base + "/paper/0000.00000").status == 404
