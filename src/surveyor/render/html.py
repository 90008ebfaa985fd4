"""Markdown helpers and a self-contained HTML renderer for surveys and digests.

The HTML has no external anything: styles are inline in the page, every image
is read from disk and inlined as a `data:` URI, and there is no JavaScript, so
the file renders the same offline, mailed, or opened years later.

The work is done by libraries rather than a hand-written parser, so that the
Markdown is read by the CommonMark rules every other tool uses and its edge
cases (nesting, escapes, emphasis, table cells with `\\|`) are someone's tested code:

  markdown-it-py    parses the Markdown: the CommonMark preset plus pipe tables, with
                    raw HTML off (`html=False`), so HTML in the text is escaped, never
                    passed through. Headings, paragraphs, lists, block quotes, fenced
                    code, links, **bold**, *italic*, `code` and ![images](a.png) all
                    come from it.
  mdit-py-plugins   its `dollarmath` plugin reads `$$ display math $$` blocks (inline
                    `$...$` is switched off: a `$` in prose stays a dollar sign), and its
                    `anchors` plugin gives every heading a stable id from its text.
  latex2mathml      turns display LaTeX into MathML, which browsers typeset natively,
                    so math is shown without a JavaScript engine or a web font. Its
                    output is re-parsed and only MathML elements and attributes are kept
                    (no `href`, `style` or `class` from `\\href`, `\\style`, `\\class`);
                    LaTeX it cannot convert is shown as source instead. The LaTeX
                    always stays beside the MathML, in a `<details>`, to copy.
  jinja2            fills the page template shipped with the package
                    (surveyor/render/templates/page.html.j2: the page, its inline CSS).

What this module adds on top, as markdown-it rules:

  - images: a relative image is read from `assets_root` and inlined as a `data:` URI;
    a path that resolves outside `assets_root` (`../../etc/passwd`, an absolute path,
    a symlink out) is refused, a remote URL is never fetched, and an image that is not
    there becomes a visible `<span class="missing">` note;
  - `<!-- comments -->` starting a line are dropped (with raw HTML off, markdown-it
    would otherwise print them as text);
  - an image-only paragraph directly followed by a `$$` block or a fenced block is set
    side by side in `<figure class="pair">`: the crop of the equation as printed and its
    MathML/LaTeX beside it. Where there is no LaTeX (a fenced block: the text PyMuPDF extracted),
    the crop is the equation and the extracted text is folded away in a `<details>`. Any other
    image-only paragraph is `<p class="image">`;
  - citations: with a `cite_link(citation, claim)` callback, every `[id p.N]` tag in the text
    becomes a link to its page view (the claim it cites highlighted, see render.pageview) and a
    small link to the PDF at that page; an image whose title is a tag (`md_image(..., cite=)`:
    equation and figure crops) links to its page view. The claim is read with
    `grounding.tagged_claims`, the one reading of what a tag cites.
"""
from __future__ import annotations

import base64
import functools
import html
import mimetypes
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import jinja2
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

from surveyor.grounding.citations import Citation, parse_citations, tagged_claims

# (citation, the claim it cites) -> (page-view href, PDF href or None), or None to leave the tag as text.
CiteLink = Callable[[Citation, str], "tuple[str, str | None] | None"]

# --------------------------------------------------------------------------- writing Markdown


def md_escape(text: str) -> str:
    """Text safe to put in a Markdown paragraph or table cell (no accidental emphasis, tables or links)."""
    text = " ".join(str(text).split())
    text = text.replace("\\", "\\\\")
    for ch in "*_`|<>":
        text = text.replace(ch, "\\" + ch)
    text = re.sub(r"!\[", r"!\\[", text)
    return re.sub(r"\]\(", r"]\\(", text)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    """A pipe table; cells are used as given (escape them with md_escape where needed)."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("\n", " ") or " " for c in cells) + " |"

    out = [line(headers), "|" + "|".join("---" for _ in headers) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def md_image(alt: str, path: str, cite: Citation | None = None) -> str:
    """An image; `cite` (the page it was cropped from) becomes its title, which the HTML links to that page."""
    alt = " ".join(alt.replace("[", "(").replace("]", ")").split())
    title = f' "{cite}"' if cite is not None else ""
    return f"![{alt}]({path.replace(' ', '%20')}{title})"


def md_math(latex: str) -> str:
    """A display-math block; `$$` inside the LaTeX would end the block early and is dropped."""
    return "$$\n" + latex.replace("$$", "").strip() + "\n$$"


def md_code(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.strip()}\n{fence}"


# --------------------------------------------------------------------------- Markdown -> HTML


def _slug(text: str) -> str:
    """The heading id (the anchors plugin adds -1, -2 ... to repeats)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _data_uri(src: str, root: Path) -> str | None:
    """`src` as a `data:` URI when it names a readable file under `root`; never fetches a URL."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):  # remote URLs are never fetched
        return src if src.startswith("data:") else None
    path = (root / unquote(src)).resolve()
    if root not in path.parents:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env), quote=True)
    uri = _data_uri(str(token.attrGet("src") or ""), env["root"])
    if uri is None:
        return f'<span class="missing">[image not available: {alt}]</span>'
    img = f'<img alt="{alt}" src="{html.escape(uri, quote=True)}">'
    cites = parse_citations(str(token.attrGet("title") or ""))
    link = env["cite_link"](cites[0], "") if cites and env.get("cite_link") else None
    if link is None:
        return img
    return f'<a class="page-view" href="{html.escape(link[0], quote=True)}" title="{html.escape(str(cites[0]))}">{img}</a>'


# The MathML latex2mathml writes, and nothing else: its \href, \style and \class would carry links,
# CSS (url(...) fetches) and classes, and its \text passes "<" through unescaped.
_MATHML_ELEMENTS = frozenset(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover mfrac msqrt mroot mstyle "
    "mpadded mphantom menclose merror mtable mtr mtd mmultiscripts mprescripts none".split())
_MATHML_ATTRIBUTES = frozenset(
    "display displaystyle mathvariant mathsize mathcolor mathbackground stretchy fence separator lspace rspace "
    "minsize maxsize largeop movablelimits accent accentunder form symmetric width height depth linethickness "
    "rowspacing columnspacing columnalign rowalign columnlines rowlines notation scriptlevel voffset".split())
_PLAIN_VALUE = re.compile(r"[\w.#%+\- ]*")


def _mathml(latex: str) -> str | None:
    """Display MathML for `latex`, or None when latex2mathml cannot convert it or writes anything unexpected."""
    latex = re.sub(r"\\(begin|end)\{aligned\}", r"\\\1{split}", latex)  # same layout; latex2mathml knows split
    try:
        tree = ElementTree.fromstring(latex_to_mathml(latex, xmlns="", display="block"))
    except Exception:  # latex2mathml raises many kinds of error on LaTeX it does not know; ParseError on odd output
        return None
    for element in tree.iter():
        if element.tag not in _MATHML_ELEMENTS:
            return None
        for name, value in list(element.attrib.items()):
            if name not in _MATHML_ATTRIBUTES or not _PLAIN_VALUE.fullmatch(value):
                del element.attrib[name]
    return ElementTree.tostring(tree, encoding="unicode")


def _display_math(latex: str, _options: dict) -> str:
    """The inside of a `$$` block's `<div class="math block">`: MathML with its LaTeX to copy."""
    source = html.escape(latex)
    mathml = _mathml(latex)
    if mathml is None:
        return f'<pre class="latex">{source}</pre>'
    return f'{mathml}\n<details><summary>LaTeX</summary><pre class="latex">{source}</pre></details>'


def _comment_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Drop an HTML comment that starts a line, through the line that closes it."""
    pos = state.bMarks[start] + state.tShift[start]
    if state.sCount[start] - state.blkIndent >= 4 or not state.src.startswith("<!--", pos):
        return False
    if not silent:
        line, search = start, pos + 4
        while line < end and "-->" not in state.src[search:state.eMarks[line]]:
            line += 1
            search = state.bMarks[line] if line < end else search
        state.line = min(line + 1, end)
    return True


def _is_image_only(tokens: list[Token], i: int) -> bool:
    if i + 2 >= len(tokens) or tokens[i].type != "paragraph_open" or tokens[i + 1].type != "inline":
        return False
    parts = [t for t in tokens[i + 1].children or [] if not (t.type in ("text", "softbreak") and not t.content.strip())]
    return len(parts) == 1 and parts[0].type == "image"


def _box(kind: str, tag: str, cls: str, nesting: int) -> Token:
    token = Token(f"{kind}_{'open' if nesting > 0 else 'close'}", tag, nesting, block=True)
    if nesting > 0:
        token.attrSet("class", cls)
    return token


def _pair_images(state: StateCore) -> None:
    """An image-only paragraph followed by a `$$` or fenced block becomes <figure class="pair">: crop | source."""
    tokens, out, i = state.tokens, [], 0
    while i < len(tokens):
        if _is_image_only(tokens, i):
            after = tokens[i + 3] if i + 3 < len(tokens) else None
            if after is not None and after.type in ("math_block", "fence") and after.level == tokens[i].level:
                after.meta["folded"] = after.type == "fence"  # extracted text: the crop is the equation
                out += [_box("pair", "figure", "pair", 1), _box("crop", "div", "crop", 1), tokens[i + 1],
                        _box("crop", "div", "", -1), _box("source", "div", "source", 1), after,
                        _box("source", "div", "", -1), _box("pair", "figure", "", -1)]
                i += 4
                continue
            tokens[i].attrSet("class", "image")
        out.append(tokens[i])
        i += 1
    state.tokens = out


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict) -> str:
    rendered = self.fence(tokens, idx, options, env)
    if tokens[idx].meta.get("folded"):
        return f'<details class="extracted"><summary>Extracted text</summary>{rendered}</details>\n'
    return rendered


def _link_tokens(href: str, text: str, cls: str, title: str = "") -> list[Token]:
    opening = Token("link_open", "a", 1)
    opening.attrs = {"class": cls, "href": href, **({"title": title} if title else {})}
    inner = Token("text", "", 0)
    inner.content = text
    return [opening, inner, Token("link_close", "a", -1)]


def _cite_links(state: StateCore) -> None:
    """Every citation tag in the text becomes a link to its page view, plus one to the PDF page."""
    link = state.env.get("cite_link")
    if link is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children or "[" not in block.content:
            continue
        # The paragraph as text (emphasis markers kept, so a **Label.** is not part of a claim).
        spans, text = [], ""
        for child in block.children:
            piece = child.content if child.type in ("text", "code_inline") else (
                " " if child.type in ("softbreak", "hardbreak") else child.markup)
            spans.append((len(text), len(text) + len(piece)))
            text += piece
        tags = tagged_claims(text)
        if not tags:
            continue
        children: list[Token] = []
        for child, (start, end) in zip(block.children, spans):
            inside = [(claim, m) for claim, m in tags if start <= m.start() and m.end() <= end]
            if child.type != "text" or not inside:
                children.append(child)
                continue
            position = 0
            for claim, m in inside:
                citation = Citation(m.group("id"), int(m.group("page")), m.group("eq"))
                target = link(citation, claim)
                if target is None:
                    continue
                before = Token("text", "", 0)
                before.content = child.content[position:m.start() - start]
                children.append(before)
                children += _link_tokens(target[0], m.group(0), "cite", claim[:300])
                if target[1]:
                    children += _link_tokens(target[1], "pdf", "pdf", f"the PDF at page {citation.page}")
                position = m.end() - start
            rest = Token("text", "", 0)
            rest.content = child.content[position:]
            children.append(rest)
        block.children = children


@functools.cache
def _markdown() -> MarkdownIt:
    md = (MarkdownIt("commonmark", {"html": False}).enable("table")
          .use(dollarmath_plugin, allow_labels=False, renderer=_display_math)
          .use(anchors_plugin, min_level=1, max_level=6, slug_func=_slug))
    md.disable("math_inline")
    md.block.ruler.before("html_block", "comment", _comment_block,
                          {"alt": ["paragraph", "reference", "blockquote"]})
    md.core.ruler.push("pair_images", _pair_images)
    md.core.ruler.push("cite_links", _cite_links)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("fence", _render_fence)
    return md


@functools.cache
def template(name: str) -> jinja2.Template:
    """A page template shipped in surveyor/render/templates (autoescaped)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("surveyor.render", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(name)


def _page() -> jinja2.Template:
    return template("page.html.j2")


def render_body(markdown_text: str, assets_root: Path, cite_link: CiteLink | None = None) -> str:
    """The HTML of `markdown_text` alone (no page around it), as `render_html` renders it."""
    return _markdown().render(markdown_text, {"root": Path(assets_root).resolve(), "cite_link": cite_link}).strip()


def render_html(markdown_text: str, assets_root: Path, title: str, cite_link: CiteLink | None = None) -> str:
    """A complete, self-contained HTML page for `markdown_text`; relative images are read from `assets_root`;
    with `cite_link`, citation tags link to their page views."""
    return _page().render(title=title, body=render_body(markdown_text, assets_root, cite_link))
