"""The fields of one pick: cited quotes from its evidence card, each checked against its page.

_Checker cites a sentence `[id p.N]` and keeps it only when surveyor.grounding.check_cited
passes; build_fields() fills challenges, advancement (with an optional generated summary,
each sentence checked), the key equation, architecture (with its figure), training, and
evaluation datasets and metrics.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from surveyor.grounding import Citation, PageTexts, check_cited, format_citation
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.settings import Settings

QUOTES_PER_FIELD = 2

FIELD_TITLES = {
    "challenges": "Challenges",
    "innovation": "Advancement and key innovation",
    "math": "Math formula",
    "architecture": "Architecture changes",
    "training": "Training",
    "datasets_metrics": "Evaluation datasets and metrics",
}


class _Checker:
    """Cites and checks sentences against their page; counts what passed."""

    def __init__(self, settings: Settings, catalog: Catalog, record: PaperRecord):
        from surveyor.index.embedder import get_embedder

        self.record = record
        self.embedder = get_embedder(settings.embedding)
        self.pages = PageTexts(catalog)
        self.cited = 0
        self.supported = 0
        self.dropped: list[dict] = []

    @property
    def pid(self) -> str:
        return self.record.arxiv_id or self.record.paper_id

    def page(self, number: int) -> str:
        return self.pages.text(self.record.paper_id, number) or ""

    def cite(self, sentence: str, page: int, evidence: str | None = None, verbatim: bool = True) -> str | None:
        """'sentence [id p.N]' when grounding.check_cited passes, else None (and the sentence is noted as dropped).

        A verbatim quote must be on page N; a generated sentence (verbatim=False) is checked with the
        embedder against `evidence`, the quotes it was written from, which are themselves on page N."""
        self.cited += 1
        claim = sentence.strip("\u201c\u201d") if verbatim else sentence
        verdict = check_cited(claim, Citation(self.record.paper_id, page), self.pages,
                              None if verbatim else self.embedder, evidence=None if verbatim else evidence,
                              verbatim=verbatim)
        if verdict.supported:
            self.supported += 1
            return f"{sentence} {format_citation(self.pid, page)}"
        self.dropped.append({"sentence": sentence, "page": page, "reasons": verdict.reasons})
        return None

    def quote(self, q) -> str | None:
        return self.cite(f"\u201c{_clean(q.text)}\u201d", q.page)

    def quotes(self, quotes, limit: int = QUOTES_PER_FIELD) -> list[str]:
        out = []
        for q in quotes:
            if len(out) >= limit:
                break
            cited = self.quote(q)
            if cited:
                out.append(cited)
        return out


def _clean(text: str) -> str:
    return " ".join(text.split())


def _absent(what: str) -> str:
    return f"Not found: the paper's evidence card has no {what} passage."


def _math_field(checker: _Checker, card, assets: Path) -> tuple[str, dict | None]:
    if card is None or not card.equations:
        return _absent("display equation"), None
    eq = card.equations[0]
    number = eq.get("number")
    label = f"Eq. ({number})" if number else "Unnumbered display equation"
    text = _clean(eq.get("text") or "")
    why = eq.get("why") or []
    reason = f" (key equation: {', '.join(why[:4])})" if why else ""
    lead = f"{label} on p.{eq['page']}{reason} {format_citation(checker.pid, eq['page'])}"
    context = eq.get("context") or {}
    cited_context = []
    for key in ("intro", "where"):
        sentence = _clean(context.get(key) or "")
        if len(sentence) >= 25:
            cited = checker.cite(f"\u201c{sentence}\u201d", eq["page"])
            if cited:
                cited_context.append(cited)
    image = eq.get("image")
    info = {"number": number, "page": eq["page"], "text": text, "latex": eq.get("latex"),
            "image": str(assets / image) if image and (assets / image).is_file() else None,
            "why": eq.get("why"), "context": context, "lead": lead, "cited_context": cited_context}
    latex = f" LaTeX: {eq['latex']}" if eq.get("latex") else ""
    return " ".join([f"{lead}: {text}{latex}"] + cited_context), info


def _architecture_figure(card, assets: Path) -> dict | None:
    if card is None:
        return None
    for fig in card.figures:
        if fig.get("is_architecture") and fig.get("image") and (assets / fig["image"]).is_file():
            return {"number": fig.get("number"), "page": fig.get("page"), "caption": _clean(fig.get("caption") or ""),
                    "image": str(assets / fig["image"])}
    return None


def _datasets_metrics(checker: _Checker, card) -> str:
    if card is None:
        return _absent("dataset or metric")
    from surveyor.evidence.datasets import result_numbers

    metrics = sorted(card.metrics, key=lambda q: -len(result_numbers(q.text)))  # numbers first (stable)
    parts = checker.quotes(card.datasets, 1) + checker.quotes(metrics, 2)
    names = [name for name in card.dataset_names if len(name) > 2][:10]
    if names:
        parts.append("Datasets/benchmarks named in the paper's evidence: " + ", ".join(names) + ".")
    return " ".join(parts) if parts else _absent("dataset or metric")


def _advancement_summary(llm, checker: _Checker, record: PaperRecord, quotes,
                         max_tokens: int) -> tuple[str | None, dict]:
    """One or two generated sentences, each checked against the quotes; failures replaced by the closest quote."""
    from surveyor.grounding import best_support
    from surveyor.textnorm import split_sentences
    from surveyor.write.prompts import load_prompt

    info: dict[str, Any] = {"generated": 0, "kept": 0, "replaced": 0}
    if llm is None or not quotes:
        return None, info
    prompt = load_prompt("digest_advancement")
    evidence = "\n".join(f"- {_clean(q.text)}" for q in quotes)
    system, user = prompt.render(title=record.meta.title or record.paper_id, evidence=evidence)
    reply = llm.chat(system, user, max_tokens=max_tokens, stop=["\n\n"])
    sentences = [s for s in split_sentences(reply) if len(s) >= 20][:2]
    out: list[str] = []
    used_pages: set[tuple[int, str]] = set()
    for sentence in sentences:
        info["generated"] += 1
        passage, verdict = best_support(sentence, list(quotes), checker.embedder)
        if verdict.supported and passage is not None:
            cited = checker.cite(sentence, passage.page, evidence=passage.text, verbatim=False)
            if cited:
                info["kept"] += 1
                out.append(cited)
                continue
        info["replaced"] += 1
        if passage is None:
            continue
        key = (passage.page, passage.text)
        if key not in used_pages:
            used_pages.add(key)
            cited = checker.quote(passage)
            if cited:
                out.append(cited)
    return (" ".join(out) or None), info


def build_fields(settings: Settings, catalog: Catalog, record: PaperRecord, card, llm=None) -> tuple[dict, dict | None, dict | None, dict]:
    """The six fields of one pick (cited, checked), its key equation, architecture figure and check counts."""
    from surveyor.evidence.cards import assets_dir

    checker = _Checker(settings, catalog, record)
    assets = assets_dir(settings, record.paper_id)
    fields: dict[str, str] = {}
    if card is None or card.is_empty():
        note = (card.note if card is not None and card.note else "no evidence card")
        for name in FIELD_TITLES:
            fields[name] = f"Not available: {note}."
        return fields, None, None, {"cited": 0, "supported": 0, "dropped": []}

    fields["challenges"] = " ".join(checker.quotes(card.challenges)) or _absent("challenge")
    summary, gen = _advancement_summary(llm, checker, record, card.innovations[:3],
                                       settings.digest.summary_max_tokens)
    innovation = checker.quotes(card.innovations)
    if summary:
        fields["innovation"] = summary + (" " + innovation[0] if innovation and innovation[0] not in summary else "")
    else:
        fields["innovation"] = " ".join(innovation) or _absent("contribution")
    fields["math"], equation = _math_field(checker, card, assets)
    figure = _architecture_figure(card, assets)
    arch = checker.quotes(card.architecture)
    if figure is not None:
        arch.append(f"Architecture figure: Figure {figure['number']} on p.{figure['page']}."
                    if figure.get("number") else f"Architecture figure on p.{figure['page']}.")
    fields["architecture"] = " ".join(arch) or _absent("architecture")
    fields["training"] = " ".join(checker.quotes(card.training)) or _absent("training")
    fields["datasets_metrics"] = _datasets_metrics(checker, card)
    checks = {"cited": checker.cited, "supported": checker.supported, "dropped": checker.dropped}
    if llm is not None:
        checks["generated"] = gen
    return fields, equation, figure, checks
