"""The digest's files: <label>.md, .html, .json and .run.json, with its images copied beside them."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from surveyor.errors import InputError
from surveyor.grounding import Citation, format_citation
from surveyor.index.catalog import Catalog
from surveyor.settings import Settings
from surveyor.write.digest.fields import FIELD_TITLES, _clean
from surveyor.write.digest.result import DigestResult

MAX_AUTHORS_SHOWN = 8


def _authors(authors: list[str]) -> str:
    if not authors:
        return "authors unknown"
    shown = ", ".join(authors[:MAX_AUTHORS_SHOWN])
    return shown + (f", et al. ({len(authors)} authors)" if len(authors) > MAX_AUTHORS_SHOWN else "")


def render_markdown(result: DigestResult, image_link) -> str:
    """The digest as Markdown; `image_link(path)` turns an asset path into the link written in the file."""
    from surveyor.render.html import md_code, md_escape, md_image, md_math

    lines = [f"# Weekly digest: {result.since.isoformat()} – {result.until.isoformat()}", ""]
    lines.append(f"Papers whose first arXiv version was submitted {result.since.isoformat()} to "
                 f"{result.until.isoformat()} (UTC), by arXiv metadata. Interests: "
                 + md_escape(", ".join(t.title for t in result.topics)) + ".")
    lines += ["", f"> {md_escape(result.message)}", ""]
    for index, pick in enumerate(result.picks, 1):
        meta = pick.record.meta
        lines += [f"## {index}. {md_escape(meta.title or pick.record.paper_id)}", ""]
        link = (f"[arXiv:{pick.record.arxiv_id}](https://arxiv.org/abs/{pick.record.arxiv_id})"
                if pick.record.arxiv_id else f"no arXiv id ({md_escape(pick.record.paper_id)})")
        lines += [f"{md_escape(_authors(meta.authors))} · first version {(meta.published or '')[:10]} · {link}", ""]
        lines.append(f"**Interest:** {md_escape(pick.why)}")
        for rel in pick.relates_to:
            lines += ["", f"Relates to: {md_escape(rel['topic'])} survey — {md_escape(rel['section'])}"]
        lines.append("")
        for name, heading in FIELD_TITLES.items():
            text = pick.fields.get(name, "")
            if name == "math" and pick.equation:  # the equation itself is shown below, crop beside text
                text = " ".join([pick.equation["lead"] + "."] + pick.equation["cited_context"])
            lines += [f"**{heading}.** {md_escape(text)}", ""]
            if name == "math" and pick.equation:
                eq = pick.equation
                source = md_math(eq["latex"]) if eq.get("latex") else md_code(eq.get("text") or "")
                if eq.get("image"):
                    label = f"Eq. ({eq['number']}), p.{eq['page']}" if eq.get("number") else f"Equation, p.{eq['page']}"
                    lines += [md_image(label, image_link(eq["image"]), Citation(pick.arxiv_id, int(eq["page"]))), ""]
                lines += [source, ""]
            if name == "architecture" and pick.figure:
                fig = pick.figure
                label = f"Figure {fig['number']}" if fig.get("number") else "Figure"
                lines += [md_image(f"{label}, p.{fig['page']}", image_link(fig["image"]),
                                   Citation(pick.arxiv_id, int(fig["page"]))), ""]
                if fig.get("caption") and _clean(fig["caption"])[:80] not in pick.fields.get("architecture", ""):
                    lines += [f"*{label} (p.{fig['page']}):* {md_escape(fig['caption'])} "
                              + format_citation(pick.arxiv_id, fig['page']), ""]
    if result.picks:
        lines += ["---", "",
                  "Quoted sentences are verbatim from the cited page and were checked against it "
                  "(surveyor.grounding); any that failed the check were left out.", ""]
    return "\n".join(lines)


def write_digest(settings: Settings, result: DigestResult, formats: str = "all", out_dir: Path | None = None,
                 command: str = "surveyor digest") -> dict[str, str]:
    """Write <label>.md/.html/.json and <label>.run.json under `out_dir` (default: <home>/digests)."""
    from surveyor.files import atomic_write_json, atomic_write_text
    from surveyor.render.runinfo import check_writable, run_record

    if formats not in ("md", "html", "all"):
        raise InputError(f"--format must be md, html or all, got {formats!r}")
    out = check_writable(Path(out_dir) if out_dir else settings.digests_dir)
    assets = out / "assets" / result.label
    copied: dict[str, str] = {}

    def image_link(path: str) -> str:
        source = Path(path)
        if path not in copied:
            assets.mkdir(parents=True, exist_ok=True)
            target = assets / f"{_safe(source.parent.name)}-{source.name}"
            shutil.copyfile(source, target)
            copied[path] = os.path.relpath(target, out)
        return copied[path]

    if assets.is_dir():
        shutil.rmtree(assets, ignore_errors=True)
    markdown = render_markdown(result, image_link)
    result.image_copies = dict(copied)
    files: dict[str, str] = {}
    md_path = out / f"{result.label}.md"
    if formats in ("md", "all"):
        atomic_write_text(md_path, markdown)
        files["md"] = str(md_path)
    if formats in ("html", "all"):
        html = _render_html(markdown, out, f"Weekly digest {result.since} – {result.until}", settings)
        if html is not None:
            html_path = out / f"{result.label}.html"
            atomic_write_text(html_path, html)
            files["html"] = str(html_path)
    json_path = out / f"{result.label}.json"
    files["json"] = str(json_path)
    run_path = out / f"{result.label}.run.json"
    files["run"] = str(run_path)
    result.files = files
    atomic_write_json(json_path, result.to_json())
    prompts = {}
    if getattr(result, "_llm", None) is not None:
        from surveyor.write.prompts import load_prompt

        prompts["digest_advancement"] = load_prompt("digest_advancement").sha256
    catalog = Catalog(settings.index_dir)
    try:
        record = run_record(command=command, settings=settings, catalog=catalog,
                            papers=getattr(result, "_paper_records", []), llm=getattr(result, "_llm", None),
                            prompts=prompts, timings=result.timings,
                            extra={"window": {"since": result.since.isoformat(), "until": result.until.isoformat()},
                                   "picks": [p.arxiv_id for p in result.picks], "message": result.message})
    finally:
        catalog.close()
    atomic_write_json(run_path, record)
    return files


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _render_html(markdown: str, assets_root: Path, title: str, settings) -> str | None:
    try:
        from surveyor.render.html import render_html
        from surveyor.render.pageview import AssetPageViews
    except ModuleNotFoundError as exc:
        if exc.name == "surveyor.render":
            return None
        raise
    pages = AssetPageViews(settings, assets_root)  # citations open their page with the quote highlighted
    try:
        return render_html(markdown, assets_root, title, cite_link=pages)
    finally:
        pages.close()
