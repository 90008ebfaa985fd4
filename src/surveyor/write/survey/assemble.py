"""The survey's Markdown: per-paper entries (verbatim quotes, equations, architecture figure), eras,
theme blocks, comparison table, challenges, references, and the whole document with its scope.

Quotes go through the writer (surveyor.write.survey.drafts), so every one is checked on its page.
"""
from __future__ import annotations

import re
from dataclasses import asdict

from surveyor.grounding.citations import Citation
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.render.html import md_code, md_escape, md_image, md_math, md_table
from surveyor.sources.identity import safe_key
from surveyor.textnorm import collapse, match_key
from surveyor.topics import Topic
from surveyor.write.survey.changes import changes_md
from surveyor.write.survey.drafts import Claim, _short_title, _Writer, tag
from surveyor.write.survey.lineage import SCORE_TEXT, Graph, compact_line, group_compact
from surveyor.write.survey.select import MIN_PER_ERA, Entry
from surveyor.write.survey.themes import Theme

CELL_WORDS = 25

_RESULT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s?%|\b\d+\.\d+\b")
_RESULT_WORDS = re.compile(r"accura|improv|outperform|achiev|surpass|gain|score|F1|BLEU|WER|pass@|top-1|"
                           r"win rate|better|reduc|faster|speed", re.I)


def authors_short(authors: list[str]) -> str:
    if not authors:
        return "unknown authors"
    if len(authors) <= 2:
        return " and ".join(authors)
    return f"{authors[0]} et al."


def headline_score(clause: str) -> float:
    """How much a clause reads like a headline result: a percentage, a result verb, a number."""
    return (2.0 * bool(re.search(r"\d\s?%", clause)) + 1.0 * bool(_RESULT_WORDS.search(clause))
            + 0.5 * bool(_RESULT_NUMBER.search(clause)))


def headline_clause(text: str) -> str | None:
    """The clause of a results sentence that best carries a result number (verbatim), or None."""
    if not _RESULT_NUMBER.search(text):
        return None
    clauses = [c.rstrip(",;:") for c in re.split(r"(?<=[,;:])\s+", collapse(text))
               if _RESULT_NUMBER.search(c) and len(c.split()) >= 5]
    if not clauses:
        return collapse(text)
    return max(clauses, key=lambda c: (headline_score(c), -clauses.index(c)))


def pick_headline(quotes) -> tuple[str, int] | None:
    """(clause, page) of the best headline result among a card's metric quotes."""
    best = None
    for rank, q in enumerate(quotes[:4]):
        clause = headline_clause(q.text)
        if clause:
            key = (headline_score(clause), -rank)
            if best is None or key > best[0]:
                best = (key, clause, q.page)
    return (best[1], best[2]) if best else None


# --------------------------------------------------------------------------- per paper

# Keys a paper section's cached draft with its Markdown layout (2: crops carry their page as the image title),
# so a layout change rebuilds paper sections only, not the model-written paragraphs.
PAPER_FORMAT = 2


def paper_section(writer: _Writer, entry: Entry, assets: set[tuple[str, str]]) -> dict:
    """One paper's section, from the draft cache when its card, key and metadata are unchanged."""
    card = entry.card
    inputs = {"kind": "paper", "card": card.to_dict(), "key": entry.key, "era": entry.era,
              "meta": [entry.record.meta.title, entry.record.meta.authors, entry.record.meta.published],
              "sha": entry.record.sha256, "format": PAPER_FORMAT}
    section = f"paper:{entry.pid}"
    draft = writer.cache.get_or_make(section, inputs, lambda: _paper_draft(writer, entry))
    for rel in draft.get("assets", []):
        assets.add((entry.pid, rel))
    return draft


def _paper_draft(writer: _Writer, entry: Entry) -> dict:
    card, rec = entry.card, entry.record
    section = f"paper:{entry.pid}"
    claims: list[dict] = []
    used_assets: list[str] = []
    lines: list[str] = []
    year = rec.meta.year or "n.d."
    era_label = {"traditional": "Traditional SOTA", "recent": "Recent trend", "undated": "undated"}[entry.era]
    lines.append(f"#### {md_escape(rec.title)} ({entry.cite_id}, {year})")
    link = f"[arXiv:{entry.cite_id}](https://arxiv.org/abs/{entry.cite_id})" if rec.arxiv_id else "no arXiv id"
    lines.append("")
    lines.append(f"*{md_escape(authors_short(rec.meta.authors))}* · {era_label} · {link} · cite key `{entry.key}`")

    quoted: list[str] = []  # match keys of what this section already quotes

    def field_line(label: str, quotes, limit: int = 1, prefix: str = "") -> None:
        shown = []
        for q in quotes:
            rendered = writer.quote(section, entry, q.text, q.page, claims)
            if rendered:
                shown.append(rendered)
                quoted.append(match_key(q.text))
            if len(shown) >= limit:
                break
        body = " ".join(shown) if shown else "*(no statement found by the extractor)*"
        lines.extend(["", f"**{label}.** {prefix}{body}"])

    field_line("Challenge addressed", card.challenges)
    field_line("Key innovation", card.innovations)
    # Mathematical formulation: the paper's own equations, as printed.
    equations = [e for e in card.equations if e.get("image")][:2] or card.equations[:1]
    lines.extend(["", "**Mathematical formulation.**" + ("" if equations else
                                                           " *(no key display equation found)*")])
    for eq in equations:
        number = eq.get("number")
        page = int(eq.get("page") or 1)
        label = f"Equation ({number})" if number else "Unnumbered display equation"
        image = eq.get("image")
        if image:
            rel = f"assets/{safe_key(entry.pid)}/{image}"
            used_assets.append(image)
            lines.extend(["", md_image(f"{label} of {entry.cite_id}, page {page}", rel, Citation(entry.cite_id, page))])
        lines.append("")
        if eq.get("latex"):
            lines.append(md_math(eq["latex"]))
        else:
            lines.append(md_code(eq.get("text") or ""))
        cite = tag(entry.cite_id, page, str(number) if number else "unnumbered")
        note = f"{label} as printed {cite}."
        where = (eq.get("context") or {}).get("where") or ""
        claims.append(asdict(Claim(section, f"{label}: {collapse(eq.get('text') or '')[:200]}", entry.cite_id,
                                   page, "equation", bool(writer._page(entry.pid, page)) and bool(image),
                                   1.0 if image else 0.0,
                                   ["crop of the printed equation"] if image else ["no crop available"])))
        if where:
            for where_page in (page, page + 1):
                trial: list[dict] = []
                rendered = writer.quote(section, entry, where, where_page, trial) if writer._page(
                    entry.pid, where_page) else None
                if rendered:
                    claims.extend(trial)
                    note += f" Where: {rendered}"
                    break
        lines.extend(["", note])
    field_line("Architecture changes", card.architecture)
    figure = next((f for f in card.figures if f.get("is_architecture") and f.get("image")), None)
    if figure:
        rel = f"assets/{safe_key(entry.pid)}/{figure['image']}"
        used_assets.append(figure["image"])
        page = int(figure.get("page") or 1)
        number = figure.get("number")
        caption = collapse(figure.get("caption") or "")
        bare = re.sub(r"^(?:Figure|Fig\.)\s*\d*[:.]?\s*", "", caption)
        lines.extend(["", md_image(f"Figure {number or ''} of {entry.cite_id}, page {page}: {bare[:120]}", rel,
                                   Citation(entry.cite_id, page))])
        already = any(match_key(caption)[:60] in k for k in quoted)
        rendered = writer.quote(section, entry, caption, page, claims, words=40) if caption and not already else None
        fig_label = f"Figure {number}" if number else "Architecture figure"
        lines.extend(["", f"*{fig_label}, p.{page}.* " + (rendered or "")])
    field_line("Training paradigm", card.training)
    names = ", ".join(md_escape(n) for n in card.dataset_names[:6])
    field_line("Evaluation datasets", card.datasets, prefix=f"{names}. " if names else "")
    metric_quotes = sorted(card.metrics, key=lambda q: not _RESULT_NUMBER.search(q.text))
    field_line("Performance metrics", metric_quotes, limit=2)
    return {"md": "\n".join(lines), "claims": claims, "assets": used_assets}


# --------------------------------------------------------------------------- the document


def body_sections(entries: list[Entry], themes: list[Theme], sections: dict[str, dict],
                  writer: _Writer, since: int | None, graph: Graph | None = None) -> dict[str, dict]:
    # Era narratives (narrative.era_narrative) and family challenges (narrative.family_challenges), when
    # `sections` holds them, open the era sections and make up section 7.
    """Eras, themes, comparison, challenges and references as sections: {id: {"md", "claims"}}.

    `entries` are all the topic's papers: eras and references list every one; a theme block holds the key
    papers' full entries, then the compact entries of the others; comparison and challenges are the key papers'."""
    out: dict[str, dict] = {}
    every, entries = entries, [e for e in entries if e.full]
    graph = graph or Graph()
    compact = group_compact(every)
    every_by_pid = {e.pid: e for e in every}
    eras = {era: [e for e in every if e.era == era] for era in ("traditional", "recent")}
    family_names = {t.index: t.name for t in themes}
    # 2-3. Eras
    for number, era, title in ((2, "traditional", "Traditional SOTA (before 2024)"),
                               (3, "recent", "Recent trends (2024 and after)")):
        narrative = sections.get(f"narrative:{era}") or {}
        claims: list[dict] = []
        lines = [f"## {number}. {title}", ""]
        members = eras[era]
        if narrative.get("md"):
            lines += [narrative["md"], "", f"Papers of the era ({len(members)}):", ""]
        if not members:
            lines += ["*No paper of this era in the corpus for this topic"
                      + (f" since {since}" if since else "") + ".*"]
        for e in members:
            quotes = e.card.innovations or e.card.challenges
            line = (f"- **{md_escape(e.record.title)}** ({e.cite_id}, {(e.record.meta.published or '')[:10]}; "
                    f"family {e.theme}: *{md_escape(family_names.get(e.theme, ''))}*)")
            if quotes:
                rendered = writer.quote(f"era:{era}", e, quotes[0].text, quotes[0].page, claims, words=40)
                if rendered:
                    line += f": {rendered}"
            lines.append(line)
        out[f"era:{era}"] = {"md": "\n".join(lines), "claims": claims}
    # 4. Advancements by approach family
    by_pid = {e.pid: e for e in entries}
    for theme in themes:
        members = sorted((by_pid[p] for p in theme.papers),
                         key=lambda e: (e.record.meta.published or "9999", e.pid))
        lines = [f"### 4.{theme.index} Family: {md_escape(theme.name)}", ""]
        paragraph = sections[f"theme:{theme.index}"].get("md") or ""
        if paragraph:
            lines += [paragraph, ""]
        for e in members:
            lines += [sections[f"paper:{e.pid}"]["md"], ""]
        claims = []
        others = sorted(compact.get(theme.index, []), key=lambda e: (e.record.meta.published or "9999", e.pid))
        if others:
            lines += [f"#### Also in this family ({len(others)} compact entr{'y' if len(others) == 1 else 'ies'})", ""]
            lines += [compact_line(writer, e, graph, every_by_pid, claims) for e in others] + [""]
        out[f"theme-block:{theme.index}"] = {"md": "\n".join(lines), "claims": claims}
    # 6. Comparison table
    claims = []
    rows = []
    for e in sorted(entries, key=lambda e: (e.theme, e.record.meta.published or "9999", e.pid)):
        change = ""
        if e.card.innovations:
            q = e.card.innovations[0]
            change = writer.quote("comparison", e, q.text, q.page, claims, words=CELL_WORDS) or ""
        headline = ""
        picked = pick_headline(e.card.metrics)
        if picked:
            headline = writer.quote("comparison", e, picked[0], picked[1], claims, words=CELL_WORDS) or ""
        datasets = md_escape(", ".join(e.card.dataset_names[:4])) or "—"
        rows.append([f"{md_escape(_short_title(e.record.title))} ({e.cite_id})", str(e.year or "n.d."),
                     md_escape(family_names.get(e.theme, str(e.theme))), change or "—", datasets, headline or "—"])
    out["comparison"] = {"md": "\n".join(["## 6. Comparison across advancements", "",
                                          md_table(["Paper", "Year", "Family", "What changes", "Datasets",
                                                    "Headline number"], rows)]), "claims": claims}
    # 7. Challenges and next steps, per family
    claims = []
    lines = ["## 7. Key challenges and next steps", ""]
    paragraph = (sections.get("next-steps") or {}).get("md") or ""
    if paragraph:
        lines += [paragraph, ""]
    for theme in themes:
        block = sections.get(f"challenges:{theme.index}")
        if block and block.get("md"):
            lines += [block["md"], ""]
    out["challenges"] = {"md": "\n".join(lines), "claims": claims}
    # 8. References
    lines = ["## 8. References", ""]
    for e in sorted(every, key=lambda e: e.key):
        meta = e.record.meta
        authors = ", ".join(meta.authors[:3]) + (" et al." if len(meta.authors) > 3 else "")
        link = (f"arXiv:{e.cite_id}" + (f"v{e.record.version}" if e.record.version else "")
                + f" — [https://arxiv.org/abs/{e.cite_id}](https://arxiv.org/abs/{e.cite_id})"
                if e.record.arxiv_id else "no arXiv identifier (metadata from the PDF)")
        lines.append(f"- `{e.key}` {md_escape(authors or 'unknown authors')} ({e.year or 'n.d.'}). "
                     f"*{md_escape(meta.title or e.pid)}*. {link}")
    lines += ["", "BibTeX: references.bib."]
    out["references"] = {"md": "\n".join(lines), "claims": []}
    return out


def survey_markdown(topic: Topic, since: int | None, max_papers: int, warnings: list[str], stamp: str,
                    catalog: Catalog, records: list[PaperRecord], entries: list[Entry], skipped: list[dict],
                    sections: dict[str, dict], summary: dict, changes: dict | None, llm,
                    writer: _Writer) -> str:
    """The whole survey.md: title, scope, what changed, then the assembled sections in order."""
    out: list[str] = [f"# Survey: {md_escape(topic.title)}", ""]
    years = sorted({e.year for e in entries if e.year})
    counts = {era: sum(1 for e in entries if e.era == era) for era in ("traditional", "recent", "undated")}
    out += ["## 1. Scope", ""]
    out.append(f"- **Topic:** {md_escape(topic.name)} — {md_escape(topic.description)}")
    span = f"{years[0]}–{years[-1]}" if years else "no dates"
    full = sum(1 for e in entries if e.full)
    out.append(f"- **Papers considered:** {len(entries)} ({span}); {counts['traditional']} before 2024, "
               f"{counts['recent']} from 2024 on" + (f", {counts['undated']} undated" if counts["undated"] else "")
               + f". The corpus holds {len(records)} paper{'s' if len(records) != 1 else ''} on this topic"
               + (f" since {since}" if since else "") + "; every one appears in this survey"
               + (f" except the {len(skipped)} skipped below" if skipped else "") + ".")
    out.append(f"- **How papers were chosen:** a paper is in the topic when its topic score (cosine of its title "
               f"and abstract with the topic description) is at least the topic threshold. {full} key paper"
               f"{'s get' if full != 1 else ' gets'} the full advancement entry (at most {max_papers}, at least "
               f"{MIN_PER_ERA} per era where the topic has them), ranked by {SCORE_TEXT}; the other "
               f"{len(entries) - full} get a compact entry (title, date, one innovation quote, citation-graph "
               "links) under their theme. Left out: only papers whose evidence card is empty or unreadable "
               f"({len(skipped)}, listed below as skipped).")
    out.append(f"- **Corpus snapshot:** content hash `{catalog.content_hash()}`, {len(catalog.papers())} papers; "
               f"survey {stamp}.")
    out.append(f"- **Writer:** {md_escape(writer.model_name)}"
               + (" (extractive: every statement is a verbatim quote)" if llm is None else
                  "; every generated sentence was checked against its cited page") + ".")
    out.append(f"- **Checked citations:** {summary['supported']} of {summary['cited']} cited sentences are "
               f"supported by their cited page ({summary['supported_share']:.1%}); "
               f"{summary['rewritten']} rewritten from quotes, {summary['dropped']} dropped (see support.json).")
    out.append("- **Eras** are decided by each paper's first arXiv version date: Traditional SOTA before "
               "2024-01-01, Recent trends on or after.")
    for warning in warnings:
        out.append(f"- **Note:** {md_escape(warning)}")
    for s in skipped:
        out.append(f"- **Skipped:** {md_escape(s['title'])} ({s['paper_id']}): {md_escape(s['note'])}")
    out.append("")
    if changes:
        out += changes_md(changes)
    out += [sections["era:traditional"]["md"], "", sections["era:recent"]["md"], ""]
    if "lineage" in sections:
        out += [sections["lineage"]["md"], ""]
    out += ["## 4. Advancements by approach family", "",
            "Families group the papers by their method sentences (what each transfers, optimises or changes); each "
            "is named by a phrase its own papers use (mined from their titles, abstracts and contribution "
            "statements and found verbatim in at least two of them, or in the one paper of a family of one).", ""]
    for sid in sorted((k for k in sections if k.startswith("theme-block:")), key=lambda k: int(k.split(":")[1])):
        out += [sections[sid]["md"], ""]
    for sid in ("results", "comparison", "challenges", "references"):
        if sid not in sections:
            continue
        out += [sections[sid]["md"], ""]
    return "\n".join(out)
