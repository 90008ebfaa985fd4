"""Display equations and their LaTeX, on real corpus PDFs and small PDFs made here."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pymupdf
import pytest

from surveyor.errors import InputError, PdfError
from surveyor.evidence.equation_text import repair_math_text
from surveyor.evidence.equations import Equation, extract_equations
from surveyor.evidence.latex import parse_latex_equations

CORPUS_PDF = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf"

# Pages of PPO's twelve numbered equations, as printed.
PPO_PAGES = {"1": 2, "2": 2, "3": 2, "4": 2, "5": 2, "6": 3, "7": 3, "8": 4, "9": 5, "10": 5, "11": 5, "12": 5}
APPLE_MENU_GLYPHS = set("⇡⌧↵✓⇥⇠⇤✏⌘⇢")


def corpus_pdf(name: str) -> Path:
    path = CORPUS_PDF / f"{name}.pdf"
    if not path.is_file():
        pytest.fail(f"test corpus missing: {path} (expected the shared corpus at {CORPUS_PDF})")
    return path


@pytest.fixture(scope="module")
def ppo(tmp_path_factory) -> tuple[list[Equation], Path]:
    assets = tmp_path_factory.mktemp("ppo-equations")
    return extract_equations(corpus_pdf("1707.06347"), assets_dir=assets), assets


def test_ppo_numbers_and_pages(ppo):
    equations, _ = ppo
    numbered = {e.number: e.page for e in equations if e.number is not None}
    assert numbered == PPO_PAGES


def test_ppo_crops_are_written_and_show_the_equation(ppo):
    equations, assets = ppo
    for eq in equations:
        assert eq.image == f"eq-p{eq.page}-{eq.number}.png"
        pix = pymupdf.Pixmap(str(assets / eq.image))
        assert pix.width > 100 and pix.height > 20
        # not a blank crop: some pixels are dark ink
        assert min(pix.samples[i] for i in range(0, len(pix.samples), pix.n)) < 100


def test_ppo_text_bbox_and_context(ppo):
    equations, _ = ppo
    first = next(e for e in equations if e.number == "1")
    assert "π" in first.text and "𝔼" in first.text and "∇" in first.text
    x0, y0, x1, y1 = first.bbox
    assert 200 < x0 < x1 < 400 and 190 < y0 < y1 < 225  # the body, left of the number at x=512
    assert first.context["intro"] == "The most commonly used gradient estimator has the form"
    assert first.context["where"].startswith("where π")
    assert set(first.to_dict()) == {"number", "page", "bbox", "text", "latex", "image", "context"}


def test_two_column_paper_uses_the_column_of_each_number():
    equations = extract_equations(corpus_pdf("1909.10351"))
    numbered = {e.number: e for e in equations if e.number}
    assert set(numbered) == {str(n) for n in range(1, 12)}
    assert numbered["3"].page == 3 and numbered["3"].bbox[2] < 300  # left column
    assert numbered["6"].page == 3 and numbered["6"].bbox[0] > 300  # right column


def test_wrong_glyph_decodings_are_repaired():
    assert repair_math_text("⇡", "CMMI10") == "π"
    assert repair_math_text("⌧", "CMMI7") == "τ"
    assert repair_math_text("⇥", "CMSY10") == "×"
    assert repair_math_text("2", "CMSY10") == "∈"
    assert repair_math_text("\x14X", "CMEX10") == "[∑"
    assert repair_math_text("ER", "MSBM10") == "𝔼ℝ"
    assert repair_math_text("⇡ 2", "NimbusRomNo9L-Regu") == "⇡ 2"  # text fonts are left alone


def test_apple_quartz_pdf_reads_greek_letters():
    equations = extract_equations(corpus_pdf("2311.17049"))
    text = "".join(e.text for e in equations)
    assert "τ" in text
    assert not APPLE_MENU_GLYPHS & set(text)


def _save(doc: pymupdf.Document, path: Path) -> Path:
    doc.save(path)
    doc.close()
    return path


def test_pdf_without_math_fonts_gives_no_equations(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    y = 80
    for _ in range(12):
        page.insert_text((72, y), "Plain prose written in Helvetica, with no formulas at all.", fontsize=10)
        y += 14
    page.insert_text((250, y + 20), "a = b + c", fontsize=10)
    page.insert_text((500, y + 20), "(1)", fontsize=10)
    assert extract_equations(_save(doc, tmp_path / "plain.pdf")) == []


def test_image_only_page_gives_no_equations(tmp_path):
    source = pymupdf.open(corpus_pdf("1707.06347"))
    png = source[1].get_pixmap(dpi=72).tobytes("png")
    source.close()
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(page.rect, stream=png)
    assert extract_equations(_save(doc, tmp_path / "scan.pdf")) == []


def test_broken_and_encrypted_pdfs_raise_pdf_error(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    with pytest.raises(PdfError):
        extract_equations(broken)
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    locked = tmp_path / "locked.pdf"
    doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    doc.close()
    with pytest.raises(PdfError):
        extract_equations(locked)


MAIN_TEX = r"""
\documentclass{article}
\usepackage{amsmath}
\newcommand{\E}{\mathbb{E}}
\begin{document}
\section{Background}
The gradient estimator is % a comment with \begin{equation} in it
\begin{equation}
  \hat{g} = \hat{\E}_t\Big[\nabla_\theta \log \pi_\theta(a_t \mid s_t)\hat{A}_t\Big] \label{eq:pg}
\end{equation}
\begin{equation*} \text{not numbered} \end{equation*}
\[ \text{nor this} \]
\input{sections/method}
\begin{align}
  a &= b \nonumber \\
  c &= d \\[2pt]
  e &= f \tag{T}
\end{align}
\begin{subequations}
\begin{gather}
  p = q \\
  r = s
\end{gather}
\end{subequations}
\iffalse
\begin{equation} hidden = 0 \end{equation}
\fi
\appendix
\section{Proofs}
\setcounter{equation}{0}
\renewcommand{\theequation}{A.\arabic{equation}}
\begin{eqnarray}
  m &=& n
\end{eqnarray}
\end{document}
"""
METHOD_TEX = r"""
\section{Method}
\begin{multline}
  \text{long} = x \\ + y
\end{multline}
"""
EXPECTED = {
    "1": r"\hat{g} = \hat{\E}_t\Big[\nabla_\theta \log \pi_\theta(a_t \mid s_t)\hat{A}_t\Big]",
    "2": r"\text{long} = x \\ + y",
    "3": r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
    "T": "e = f",
    "4a": "p = q",
    "4b": "r = s",
    "A.1": "m = n",
}


def _source_folder(root: Path) -> Path:
    (root / "sections").mkdir(parents=True)
    (root / "main.tex").write_text(MAIN_TEX)
    (root / "sections" / "method.tex").write_text(METHOD_TEX)
    return root


def test_latex_numbering_from_a_folder(tmp_path):
    assert parse_latex_equations(_source_folder(tmp_path / "src")) == EXPECTED


def test_latex_numbering_from_a_tarball(tmp_path):
    folder = _source_folder(tmp_path / "src")
    bundle = tmp_path / "source.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(folder, arcname=".")
    assert parse_latex_equations(bundle) == EXPECTED


def test_numberwithin_section_and_odd_sources(tmp_path):
    tex = tmp_path / "paper.tex"
    tex.write_text(
        r"\documentclass{article}\numberwithin{equation}{section}\begin{document}"
        r"\section{A}\begin{equation}x=1\end{equation}"
        r"\section{B}\begin{equation}y=2\end{equation}\begin{equation}z=3\end{equation}"
        r"\appendix\section{C}\begin{equation}w=4\end{equation}\end{document}"
    )
    assert parse_latex_equations(tex) == {"1.1": "x=1", "2.1": "y=2", "2.2": "z=3", "A.1": "w=4"}
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b\x08\x00 truncated")
    assert parse_latex_equations(garbage) == {}
    unterminated = tmp_path / "bad.tex"
    unterminated.write_text(r"\begin{document}\begin{align} a &= b \\ c")
    assert parse_latex_equations(unterminated) == {}
    with pytest.raises(InputError):
        parse_latex_equations(tmp_path / "missing.tar.gz")


def test_latex_is_attached_by_equation_number(tmp_path):
    folder = _source_folder(tmp_path / "src")
    pdf = tmp_path / "ppo.pdf"
    shutil.copy(corpus_pdf("1707.06347"), pdf)
    equations = {e.number: e for e in extract_equations(pdf, latex_source=folder)}
    assert equations["1"].latex == EXPECTED["1"]
    assert equations["3"].latex == EXPECTED["3"]
    assert equations["5"].latex is None  # the source has no equation 5


def test_tar_member_bytes_are_decoded_leniently(tmp_path):
    bundle = tmp_path / "latin1.tar"
    data = (r"\begin{document}\begin{equation} caf" + "\xe9" + r" = 1 \end{equation}\end{document}").encode("latin-1")
    with tarfile.open(bundle, "w") as tar:
        info = tarfile.TarInfo("main.tex")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert parse_latex_equations(bundle) == {"1": "café = 1"}
