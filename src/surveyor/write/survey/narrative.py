"""Synthesis: the paragraphs that open each era ("Traditional SOTA", "Recent trends") and the challenges and next
steps of each approach family.

Era narrative:
  counts      which families the era holds and how many papers each (catalog dates; no citation needed, true
              by construction), which families are new in the era and which continue from before 2024
  families    per family, its earliest paper of the era and what it introduces, in the paper's words (a checked
              quote); with a model, the model phrases these from the same quotes and every sentence it writes
              passes grounding.check_cited (writer.paragraph: unsupported sentences are rewritten from quotes or
              dropped); when nothing survives, the quotes stand
  lineage     (recent era) which older idea each new family extends: a recent paper of the family citing an older
              topic paper, with the reference entry quoted on the page where it sits (lineage._entry_quote)
Family challenges: the family's stated limitations and future work (evidence-card slots), quoted; with a model,
phrased by it and checked the same way.
"""
from __future__ import annotations

from surveyor.render.html import md_escape
from surveyor.write.survey.drafts import _short_title, _Writer
from surveyor.write.survey.lineage import Graph, _entry_quote, lineage_pairs
from surveyor.write.survey.select import Entry
from surveyor.write.survey.themes import Theme

QUOTE_WORDS = 35
MAX_LINEAGE = 4          # lineage sentences in the recent era's narrative (one per citing family first)
CHALLENGE_QUOTES = 3     # limitation and future-work quotes per family


def _when(e: Entry) -> str:
    return (e.record.meta.published or "")[:7] or "undated"


def _title(e: Entry) -> str:
    return f"{md_escape(_short_title(e.record.title))} ({e.cite_id}, {e.year or 'n.d.'})"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def era_narrative(writer: _Writer, era: str, entries: list[Entry], themes: list[Theme], graph: Graph) -> dict:
    """The opening paragraphs of an era section: {"md", "claims"}."""
    section = f"narrative:{era}"
    names = {t.index: t.name for t in themes}
    members = sorted((e for e in entries if e.era == era), key=lambda e: (e.record.meta.published or "9999", e.pid))
    claims: list[dict] = []
    if not members:
        return {"md": "", "claims": claims}
    families = sorted({e.theme for e in members}, key=lambda g: min(_when(e) for e in members if e.theme == g))
    count = {g: sum(1 for e in members if e.theme == g) for g in families}
    listing = ", ".join(f"*{md_escape(names.get(g, str(g)))}* ({count[g]})" for g in families)
    years = sorted({e.year for e in members if e.year})
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "undated")
    opening = "Before 2024" if era == "traditional" else "From 2024 on"
    first = [f"{opening} the corpus holds {_plural(len(members), 'paper', 'papers')} of this topic ({span}), in "
             f"{_plural(len(families), 'approach family', 'approach families')}: {listing}."]
    if era == "recent":
        older = {e.theme for e in entries if e.era == "traditional"}
        new = [g for g in families if g not in older]
        going = [g for g in families if g in older]
        parts = []
        if new:
            parts.append("new in this era (no paper before 2024): "
                         + ", ".join(f"*{md_escape(names.get(g, str(g)))}*" for g in new))
        if going:
            parts.append("continuing from before 2024: " + ", ".join(f"*{md_escape(names.get(g, str(g)))}*"
                                                                     for g in going))
        if parts:
            first.append(parts[0][0].upper() + parts[0][1:] + ("; " + parts[1] if len(parts) > 1 else "") + ".")
    # What each family introduces in this era: its earliest paper's own words (key papers first).
    evidence: list[tuple[Entry, str, int, int]] = []
    for g in families:
        group = [e for e in members if e.theme == g]
        for e in sorted(group, key=lambda e: (not e.full, e.record.meta.published or "9999", e.pid))[:2]:
            q = (e.card.innovations or e.card.challenges or [None])[0]
            if q is not None:
                evidence.append((e, q.text, q.page, g))
    body = ""
    if writer.llm is not None and evidence:
        heading = f"{opening}; families: " + ", ".join(names.get(g, str(g)) for g in families)
        draft = writer.paragraph(section, "survey_era", heading, [(e, t, p) for e, t, p, _ in evidence], lambda: "",
                                 max_sentences=min(5, len(evidence) + 1))
        body, claims = draft.get("md") or "", list(draft.get("claims", []))
    if not body:
        sentences = []
        claims = []
        for e, text, page, g in evidence:
            rendered = writer.quote(section, e, text, page, claims, words=QUOTE_WORDS)
            if rendered:
                sentences.append(f"In *{md_escape(names.get(g, str(g)))}*, {_title(e)} states: {rendered}.")
        body = " ".join(sentences)
    paragraphs = [" ".join(first)] + ([body] if body else [])
    paragraphs.append(_lineage_sentences(writer, section, era, entries, graph, names, claims))
    return {"md": "\n\n".join(p for p in paragraphs if p), "claims": claims}


def _lineage_sentences(writer: _Writer, section: str, era: str, entries: list[Entry], graph: Graph,
                       names: dict[int, str], claims: list[dict]) -> str:
    """Which older idea the era's papers extend: recent papers citing pre-2024 topic papers first (then earlier
    recent ones), or for the traditional era, the citations among pre-2024 papers."""
    by_pid = {e.pid: e for e in entries}
    records = [e.record for e in entries]
    older = lineage_pairs(records, graph, (era, "traditional"))
    pairs = older + (lineage_pairs(records, graph, ("recent", "recent")) if era == "recent" else [])
    # One edge per citing family first (the family's oldest link), then the rest, up to MAX_LINEAGE.
    seen: set[int] = set()
    ordered = [p for p in pairs if not (by_pid[p[0]].theme in seen or seen.add(by_pid[p[0]].theme))]
    ordered += [p for p in pairs if p not in ordered]
    out = []
    for citing, cited, row in ordered[:MAX_LINEAGE]:
        a, b = by_pid[citing], by_pid[cited]
        quote = _entry_quote(writer, section, a, row, claims)
        if not quote:
            continue
        verb = "extends" if b.era == "traditional" and a.era == "recent" else "builds on"
        out.append(f"In *{md_escape(names.get(a.theme, ''))}*, {_title(a)} {verb} {_title(b)}"
                   + (" of the same family" if a.theme == b.theme else f" of *{md_escape(names.get(b.theme, ''))}*")
                   + f", listing it in its references as {quote}.")
    if era == "recent" and not older:
        lead = ("No recent topic paper's reference list cites a topic paper from before 2024 in the corpus"
                + (f"; {_plural(len(pairs), 'citation', 'citations')} link recent papers to earlier recent ones."
                   if pairs else ", so the lineage of the recent families cannot be read from the citation graph."))
    elif not pairs:
        return "No paper of this era cites an earlier topic paper in the corpus (by their reference lists)."
    else:
        where = "topic papers from before 2024" if era == "recent" else "earlier topic papers"
        lead = (f"{_plural(len(older), 'citation', 'citations')} in this era's reference lists point at {where}"
                + (f", and {_plural(len(pairs) - len(older), 'citation', 'citations')} at earlier recent ones."
                   if len(pairs) > len(older) else "."))
    return " ".join([lead] + out)


def family_challenges(writer: _Writer, theme: Theme, entries: list[Entry]) -> dict:
    """One family's stated limitations and next steps: {"md", "claims"}."""
    section = f"challenges:{theme.index}"
    group = sorted((e for e in entries if e.theme == theme.index),
                   key=lambda e: (not e.full, -(int(e.year or 0)), e.pid))
    evidence: list[tuple[Entry, str, int, str]] = []
    for slot in ("limitations", "future_work"):
        for e in group:
            for q in getattr(e.card, slot)[:1]:
                if sum(1 for x in evidence if x[3] == slot) < CHALLENGE_QUOTES:
                    evidence.append((e, q.text, q.page, slot))
    head = f"### {md_escape(theme.name)}"
    if not evidence:
        return {"md": f"{head}\n\n*None of the family's {_plural(len(group), 'paper', 'papers')} states a limitation "
                      "or future work in text the extractor found.*", "claims": []}
    claims: list[dict] = []
    body = ""
    if writer.llm is not None:
        draft = writer.paragraph(section, "survey_next_steps", f"open challenges and next steps of {theme.name}",
                                 [(e, t, p) for e, t, p, _ in evidence], lambda: "", max_sentences=3)
        body, claims = draft.get("md") or "", list(draft.get("claims", []))
    if not body:
        limits = [(e, t, p) for e, t, p, s in evidence if s == "limitations"]
        future = [(e, t, p) for e, t, p, s in evidence if s == "future_work"]
        parts = []
        for label, items in (("Stated limitations", limits), ("Stated next steps", future)):
            shown = [f"{_title(e)}: {r}" for e, t, p in items
                     if (r := writer.quote(section, e, t, p, claims, words=QUOTE_WORDS))]
            if shown:
                parts.append(f"{label} in {_plural(len({e.pid for e, _, _ in items}), 'paper', 'papers')} of the "
                             f"family — " + "; ".join(shown) + ".")
        body = " ".join(parts)
    return {"md": f"{head}\n\n{body}", "claims": claims}
