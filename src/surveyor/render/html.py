"""Markdown helpers and a self-contained HTML renderer for surveys and digests.

The HTML has no external anything: styles are inline in the page, every image
is read from disk and inlined as a `data:` URI, and there is no JavaScript, so
the file renders the same offline, mailed, or opened years later.

`render_html` understands the Markdown subset surveyor writes:

    # headings (h1-h6, with anchors)     paragraphs           - bullets / 1. numbered lists
    | pipe | tables |                     > block quotes       ``` fenced code ```
    $$ display math $$                   ---                  <!-- comments --> (dropped)
    inline: ![alt](image.png) [text](url) **bold** *italic* `code`

Display math is shown as its LaTeX source (there is no math engine offline);
when an image-only paragraph is directly followed by a `$$` block or a fenced
block, the two are set side by side: the crop of the equation as printed and
its LaTeX or text beside it.
"""
from __future__ import annotations

import base64
import html
import mimetypes
import re
from pathlib import Path

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


def md_image(alt: str, path: str) -> str:
    alt = " ".join(alt.replace("[", "(").replace("]", ")").split())
    return f"![{alt}]({path.replace(' ', '%20')})"


def md_math(latex: str) -> str:
    """A display-math block; `$$` inside the LaTeX would end the block early and is dropped."""
    return "$$\n" + latex.replace("$$", "").strip() + "\n$$"


def md_code(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.strip()}\n{fence}"


# --------------------------------------------------------------------------- Markdown -> HTML

_CSS = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; line-height: 1.55;
       max-width: 60rem; margin: 2rem auto; padding: 0 1.2rem; color: #1d1d1f; background: #fff; }
h1, h2, h3, h4 { line-height: 1.25; margin-top: 1.6em; }
h1 { font-size: 1.9rem; } h2 { font-size: 1.45rem; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
h3 { font-size: 1.2rem; } h4 { font-size: 1.05rem; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
pre { background: #f6f8fa; padding: .6em .8em; overflow-x: auto; white-space: pre-wrap; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .35em .5em; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
blockquote { border-left: 4px solid #ccc; margin: 1em 0; padding: .1em 1em; color: #444; }
img { max-width: 100%; height: auto; }
figure.pair { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 1em 0;
              padding: .6em; border: 1px solid #e3e3e3; border-radius: 4px; }
figure.pair > .crop { flex: 1 1 24rem; min-width: 0; }
figure.pair > .crop img { display: block; background: #fff; }
figure.pair > .source { flex: 1 1 18rem; min-width: 0; }
figure.pair > .source pre { margin: 0; }
p.image img { display: block; margin: .5em auto; border: 1px solid #eee; }
.missing { color: #a00; font-style: italic; }
"""

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d+[.)]\s+(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE_ONLY = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")


class _Inliner:
    """Inline Markdown to HTML, with images read from `root` and inlined as data: URIs."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.missing: list[str] = []
        self.images = 0

    def data_uri(self, src: str) -> str | None:
        if re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):  # remote or data URLs are never fetched
            return src if src.startswith("data:") else None
        from urllib.parse import unquote

        path = (self.root / unquote(src)).resolve()
        if self.root not in path.parents and path != self.root:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    def image(self, alt: str, src: str) -> str:
        uri = self.data_uri(src)
        alt_attr = html.escape(_unescape_md(alt), quote=True)
        if uri is None:
            self.missing.append(src)
            return f'<span class="missing">[image not available: {alt_attr}]</span>'
        self.images += 1
        return f'<img alt="{alt_attr}" src="{uri}">'

    def __call__(self, text: str) -> str:
        # Protect code spans and backslash escapes, then apply the rest on escaped HTML.
        slots: list[str] = []

        def keep(fragment: str) -> str:
            slots.append(fragment)
            return f"\x00{len(slots) - 1}\x00"

        text = re.sub(r"(`+)(.+?)\1", lambda m: keep(f"<code>{html.escape(m.group(2).strip())}</code>"), text)
        text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>$])", lambda m: keep(html.escape(m.group(1))), text)
        text = re.sub(r"!\[([^\]]*)\]\(([^)\s]*)\)", lambda m: keep(self.image(m.group(1), m.group(2))), text)
        text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                      lambda m: keep(f'<a href="{html.escape(m.group(2), quote=True)}">') + m.group(1) + keep("</a>"),
                      text)
        text = html.escape(text, quote=False)
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)
        text = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", r"<em>\1</em>", text)
        while "\x00" in text:
            text = re.sub(r"\x00(\d+)\x00", lambda m: slots[int(m.group(1))], text)
        return text


def _unescape_md(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", _unescape_md(text).lower()).strip("-") or "section"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells, current, i = [], "", 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            current += line[i:i + 2]
            i += 2
            continue
        if line[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += line[i]
        i += 1
    cells.append(current.strip())
    return cells


def _blocks(lines: list[str]) -> list[tuple[str, object]]:
    """Split Markdown lines into (kind, payload) blocks."""
    blocks: list[tuple[str, object]] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("<!--"):
            while i < n and "-->" not in lines[i]:
                i += 1
            i += 1
            continue
        fence = _FENCE.match(stripped)
        if fence:
            marker, body = fence.group(1), []
            i += 1
            while i < n and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            blocks.append(("code", "\n".join(body)))
            i += 1
            continue
        if stripped.startswith("$$"):
            rest = stripped[2:]
            if rest.endswith("$$") and len(rest) >= 2:
                blocks.append(("math", rest[:-2].strip()))
                i += 1
                continue
            body = [rest] if rest else []
            i += 1
            while i < n and not lines[i].strip().endswith("$$"):
                body.append(lines[i])
                i += 1
            if i < n:
                last = lines[i].strip()[:-2]
                if last:
                    body.append(last)
            blocks.append(("math", "\n".join(body).strip()))
            i += 1
            continue
        heading = _HEADING.match(stripped)
        if heading:
            blocks.append(("heading", (len(heading.group(1)), heading.group(2))))
            i += 1
            continue
        if re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped):
            blocks.append(("hr", None))
            i += 1
            continue
        if stripped.startswith("|") and i + 1 < n and _TABLE_SEP.match(lines[i + 1]):
            header = _split_row(stripped)
            rows = []
            i += 2
            while i < n and lines[i].strip().startswith("|"):
                rows.append(_split_row(lines[i]))
                i += 1
            blocks.append(("table", (header, rows)))
            continue
        if stripped.startswith(">"):
            body = []
            while i < n and lines[i].strip().startswith(">"):
                body.append(re.sub(r"^\s*>\s?", "", lines[i]))
                i += 1
            blocks.append(("quote", body))
            continue
        for kind, pattern in (("ul", _BULLET), ("ol", _NUMBERED)):
            if pattern.match(line):
                items: list[str] = []
                while i < n and lines[i].strip():
                    m = pattern.match(lines[i])
                    if m:
                        items.append(m.group(1))
                    elif lines[i].startswith((" ", "\t")) and items:
                        items[-1] += " " + lines[i].strip()
                    else:
                        break
                    i += 1
                blocks.append((kind, items))
                break
        else:
            body = []
            while i < n and lines[i].strip() and not _starts_block(lines, i):
                body.append(lines[i].strip())
                i += 1
            if not body:  # a line that starts a block but did not parse as one: keep it as text
                body.append(stripped)
                i += 1
            blocks.append(("para", " ".join(body)))
    return blocks


def _starts_block(lines: list[str], i: int) -> bool:
    s = lines[i].strip()
    return bool(_HEADING.match(s) or _FENCE.match(s) or s.startswith(("$$", ">", "<!--"))
                or _BULLET.match(lines[i]) or _NUMBERED.match(lines[i])
                or (s.startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1])))


def markdown_to_html(markdown_text: str, assets_root: Path) -> tuple[str, _Inliner]:
    """The HTML body for `markdown_text`, and the inliner (its `missing` lists images that were not found)."""
    inline = _Inliner(Path(assets_root))
    blocks = _blocks(markdown_text.splitlines())
    out: list[str] = []
    slugs: set[str] = set()
    i = 0
    while i < len(blocks):
        kind, payload = blocks[i]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if kind == "para" and _IMAGE_ONLY.match(str(payload)) and nxt and nxt[0] in ("math", "code"):
            source = html.escape(str(nxt[1]))
            cls = "latex" if nxt[0] == "math" else "text"
            shown = f"$$ {source} $$" if nxt[0] == "math" else source
            out.append(f'<figure class="pair"><div class="crop">{inline(str(payload))}</div>'
                       f'<div class="source"><pre class="{cls}">{shown}</pre></div></figure>')
            i += 2
            continue
        if kind == "heading":
            level, text = payload
            out.append(f'<h{level} id="{_slug(text, slugs)}">{inline(text)}</h{level}>')
        elif kind == "para":
            cls = ' class="image"' if _IMAGE_ONLY.match(str(payload)) else ""
            out.append(f"<p{cls}>{inline(str(payload))}</p>")
        elif kind == "code":
            out.append(f'<pre class="text">{html.escape(str(payload))}</pre>')
        elif kind == "math":
            out.append(f'<pre class="latex">$$ {html.escape(str(payload))} $$</pre>')
        elif kind == "hr":
            out.append("<hr>")
        elif kind == "quote":
            inner, _ = markdown_to_html("\n".join(payload), assets_root)  # type: ignore[arg-type]
            out.append(f"<blockquote>{inner}</blockquote>")
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{inline(item)}</li>" for item in payload)  # type: ignore[union-attr]
            out.append(f"<{kind}>{items}</{kind}>")
        elif kind == "table":
            header, rows = payload  # type: ignore[misc]
            head = "".join(f"<th>{inline(c)}</th>" for c in header)
            body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        i += 1
    return "\n".join(out), inline


def render_html(markdown_text: str, assets_root: Path, title: str) -> str:
    """A complete, self-contained HTML page for `markdown_text`; relative images are read from `assets_root`."""
    body, _ = markdown_to_html(markdown_text, assets_root)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
