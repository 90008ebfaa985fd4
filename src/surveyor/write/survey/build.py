"""`surveyor survey`, orchestrated: SurveyOptions in, SurveyResult out; every step lives in its own module.

    build_survey(settings, "distillation")
      1. papers      every topic paper (topic score ≥ settings.topics.threshold), optionally since a year;
                     the key ones (at most max_papers, by the key score: in-topic citations, topic
                     score, recency; both eras kept) get full entries, the rest compact ones [lineage]
      2. cards       one evidence card per paper (cached by surveyor.evidence.cards); empty cards
                     are skipped with a note                                                     [select]
      3. eras        Traditional SOTA = first arXiv version before 2024-01-01, Recent = on or after:
                     decided by the metadata date, never by a model                              [select]
      4. themes      agglomerative (Ward) clustering of the cards' text embeddings into a few
                     themes, each named by its most distinctive shared terms (counted, not generated).
                     Themes are sticky: a regeneration keeps old papers where they were and
                     places new ones at the nearest theme, so unchanged themes keep their drafts [themes]
      5. sections    per paper: verbatim quotes (challenge, innovation, training, ...), the key
                     equations as crops + LaTeX/text, the architecture figure [assemble]; per theme and
                     for next steps one short paragraph by the writer (or extractive with --llm none) [drafts]
      6. checking    every cited sentence is checked against its cited page (grounding.check_cited,
                     or verbatim presence for quotes); unsupported generated sentences are replaced
                     by the closest verbatim evidence quote, or dropped                          [drafts]
      6b. lineage    what recent papers cite among the traditional ones, the most-cited foundations
                     and a timeline figure (assets/lineage.png)                  [lineage, render.timeline]
      7. output      survey.md [assemble], survey.html, references.bib, assets/, support.json, run.json in
                     <root>/<topic>/<UTC stamp>/, published atomically; <root>/<topic>/latest    [here]

Section drafts (per-paper sections, theme and next-steps paragraphs, after checking) are
cached under <root>/<topic>/.cache/drafts by the hash of their evidence, the prompt file,
the model and the writer version [drafts]: a regeneration redoes only what changed, and writes
"What changed since <previous>" (new papers, sections added or rewritten, claims whose
support changed) [changes].
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from surveyor import versions
from surveyor.errors import LLMError
from surveyor.files import atomic_write_json, atomic_write_text
from surveyor.index.catalog import Catalog, PaperRecord
from surveyor.render.html import render_html
from surveyor.render.pageview import AssetPageViews
from surveyor.render.runinfo import Timer, check_writable, publish_dir, run_record
from surveyor.render.timeline import timeline_png
from surveyor.settings import Settings
from surveyor.sources.identity import safe_key
from surveyor.topics import resolve_topic
from surveyor.write.survey.assemble import body_sections, paper_section, survey_markdown
from surveyor.write.survey.changes import previous_run, what_changed
from surveyor.write.survey.drafts import (
    DraftCache,
    _hash,
    _Writer,
    next_steps_paragraph,
    support_summary,
    theme_paragraph,
)
from surveyor.write.survey.families import background_df
from surveyor.write.survey.lineage import FIGURE, SCORE_TEXT, Graph, key_scores, lineage_section, timeline_data
from surveyor.write.survey.narrative import era_narrative, family_challenges
from surveyor.write.survey.results import results_section
from surveyor.write.survey.select import (
    ERA_SPLIT,
    THIN_CORPUS,
    Say,
    TopicCorpusEmpty,
    load_entries,
    no_papers_message,
    select_papers,
    topic_records,
)
from surveyor.write.survey.themes import assign_themes, card_text, name_themes, place_compact


@dataclass
class SurveyOptions:
    llm: str | None = None              # None = settings.llm.backend
    since: int | None = None            # only papers first published in or after this year
    formats: tuple[str, ...] = ("md", "html")
    out: Path | None = None             # root instead of <home>/surveys
    max_papers: int | None = None       # None = settings.survey.max_papers
    max_tokens: int | None = None       # None = settings.survey.paragraph_max_tokens


@dataclass
class SurveyResult:
    dir: Path
    topic: str
    papers: list[str]
    eras: dict[str, list[str]]
    references: list[dict]
    equations: int
    figures: int
    supported_share: float
    seconds: float
    changed_since: str | None
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "papers": self.papers, "eras": self.eras, "references": self.references,
                "equations": self.equations, "figures": self.figures, "supported_share": self.supported_share,
                "seconds": round(self.seconds, 2), "changed_since": self.changed_since}


# --------------------------------------------------------------------------- the survey


class SurveyBuilder:
    def __init__(self, settings: Settings, topic: str, options: SurveyOptions | None = None, say: Say | None = None):
        self.settings = settings
        self.topic = resolve_topic(topic)
        options = options or SurveyOptions()
        self.options = dataclasses.replace(
            options, max_papers=options.max_papers or settings.survey.max_papers,
            max_tokens=options.max_tokens or settings.survey.paragraph_max_tokens)
        self.say = say or (lambda msg: None)
        self.root = Path(self.options.out).expanduser() if self.options.out else settings.surveys_dir
        self.topic_dir = self.root / self.topic.name
        self.timer = Timer()
        self.warnings: list[str] = []

    def _no_papers_message(self, found: int, total: int) -> str:
        return no_papers_message(self.settings, self.topic, self.options.since, found, total)

    def _make_llm(self):
        from surveyor.write.llm import OllamaLLM, make_llm, ollama_serves

        llm = make_llm(self.options.llm, self.settings.llm)
        if isinstance(llm, OllamaLLM) and not ollama_serves(llm.host, llm.model, max(2.0, self.settings.llm.probe_timeout_s)):
            raise LLMError(f"ollama at {llm.host} is unreachable or does not serve '{llm.model}'; "
                           "start it (and `ollama pull` the model), or use --llm none")
        return llm

    # ---- main -----------------------------------------------------------------------
    def run(self) -> SurveyResult:
        started = time.perf_counter()
        check_writable(self.topic_dir)
        catalog = Catalog(self.settings.index_dir)
        try:
            records, total = topic_records(catalog, self.topic, self.options.since, self.settings.topics.threshold)
            if total == 0:
                raise TopicCorpusEmpty(self._no_papers_message(0, 0).replace(
                    " among 0 in the corpus", " (the corpus is empty)"))
            if not records:
                raise TopicCorpusEmpty(self._no_papers_message(0, total))
            if len(records) < THIN_CORPUS:
                self.warnings.append(self._no_papers_message(len(records), total).replace(
                    "found", "thin corpus: found", 1))
            llm = self._make_llm()
            return self._build(catalog, records, llm, started)
        finally:
            catalog.close()

    def _build(self, catalog: Catalog, records: list[PaperRecord], llm, started: float) -> SurveyResult:
        from surveyor.render.bibtex import citation_keys, read_keys, write_bib

        topic = self.topic
        graph = Graph.of(catalog.citations_among(r.paper_id for r in records))
        scores = key_scores(records, topic, graph)
        key_ids = {r.paper_id for r in select_papers(records, topic, self.options.max_papers, scores)}
        every = sorted(records, key=lambda r: (r.meta.published or "9999", r.paper_id))
        self.say(f"survey {topic.name}: {len(records)} topic papers, {len(key_ids)} in full")
        with self.timer("cards"):
            entries, skipped, card_stats = load_entries(self.settings, catalog, topic, every, self.say)
        if not entries:
            raise TopicCorpusEmpty(f"found {len(records)} paper(s) for topic '{topic.name}' but no evidence could "
                                   f"be extracted from any of them: " + "; ".join(
                                       f"{s['paper_id']}: {s['note']}" for s in skipped))
        for e in entries:
            e.full = e.pid in key_ids
        if not any(e.full for e in entries):  # every key paper was skipped: the best remaining ones are key
            for e in sorted(entries, key=lambda e: (-scores[e.pid], e.pid))[:self.options.max_papers]:
                e.full = True
        full = [e for e in entries if e.full]
        prev_dir, prev_run, prev_support = previous_run(self.topic_dir)
        keys = citation_keys([e.record for e in entries], read_keys(prev_dir / "references.bib") if prev_dir else None)
        for e in entries:
            e.key = keys[e.pid]
        with self.timer("themes"):
            from surveyor.index.embedder import get_embedder

            vectors = get_embedder(self.settings.embedding).embed([card_text(e) for e in entries])
            key_rows = [i for i, e in enumerate(entries) if e.full]
            themes, reclustered = assign_themes(full, vectors[key_rows], (prev_run or {}).get("themes"))
            place_compact(entries, vectors, themes)
        by_pid = {e.pid: e for e in full}
        cache = DraftCache(self.topic_dir / ".cache" / "drafts")
        with self.timer("families"):
            name_themes(themes, entries, background_df(catalog.papers()), llm, topic, cache)
        writer = _Writer(self.settings, catalog, llm, topic, by_pid, cache, self.options.max_tokens, self.say)
        sections: dict[str, dict] = {}
        assets: set[tuple[str, str]] = set()
        with self.timer("sections"):
            for e in full:
                sections[f"paper:{e.pid}"] = paper_section(writer, e, assets)
            for theme in themes:
                sections[f"theme:{theme.index}"] = theme_paragraph(writer, theme, by_pid)
        with self.timer("synthesis"):
            for era in ("traditional", "recent"):
                sections[f"narrative:{era}"] = era_narrative(writer, era, entries, themes, graph)
            for theme in themes:
                sections[f"challenges:{theme.index}"] = family_challenges(writer, theme, entries)
            if not any(sections[f"challenges:{t.index}"]["claims"] for t in themes):
                sections["next-steps"] = next_steps_paragraph(writer, full, self.warnings)
        with self.timer("results"):
            from surveyor.evidence.tables import paper_tables

            sections["results"] = results_section(writer, entries, lambda e: paper_tables(self.settings, e.record))
        with self.timer("assemble"):
            sections.update(body_sections(entries, themes, sections, writer, self.options.since, graph))
            sections["lineage"] = lineage_section(writer, entries, graph, figure=True)
            claims = [c for s in sections.values() for c in s.get("claims", [])]
            summary = support_summary(claims)
            changes = what_changed(prev_dir, prev_run, prev_support, entries, sections, claims)
        # Everything below writes the output folder; an interruption leaves no half-written survey.
        with publish_dir(self.topic_dir) as out:
            md_text = survey_markdown(self.topic, self.options.since, self.options.max_papers, self.warnings, out.name,
                                      catalog, records, entries, skipped, sections, summary, changes, llm, writer)
            with self.timer("write"):
                nodes, edges = timeline_data(entries, graph, {t.index: t.name for t in themes})
                timeline_png(nodes, edges, out.path / FIGURE, f"{topic.title}: lineage in the corpus", ERA_SPLIT)
                for pid, image in sorted(assets):
                    source = _assets_dir(self.settings, pid) / image
                    target = out.path / "assets" / safe_key(pid) / image
                    if source.is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, target)
                write_bib([e.record for e in entries], out.path / "references.bib", keys=keys)
                if "md" in self.options.formats:
                    atomic_write_text(out.path / "survey.md", md_text)
                if "html" in self.options.formats:
                    pages = AssetPageViews(self.settings, out.path)  # citations open their page, quote highlighted
                    try:
                        atomic_write_text(out.path / "survey.html",
                                          render_html(md_text, out.path, f"Survey: {topic.title}", cite_link=pages))
                    finally:
                        pages.close()
                atomic_write_json(out.path / "support.json", {"summary": summary, "claims": claims})
            seconds = time.perf_counter() - started
            eras = {era: [e.cite_id for e in entries if e.era == era] for era in ("traditional", "recent")}
            undated = [e.cite_id for e in entries if e.era == "undated"]
            equations = sum(1 for c in claims if c["origin"] == "equation" and c["supported"])
            figures = sum(1 for _, image in assets if not _is_equation_image(image))
            extra = {
                "topic": topic.name, "stamp": out.name, "options": {
                    "llm": self.options.llm, "since": self.options.since, "formats": list(self.options.formats),
                    "max_papers": self.options.max_papers, "max_tokens": self.options.max_tokens},
                "writer_version": versions.SURVEY_WRITER, "extractor_version": versions.CARDS,
                "eras": eras, "undated": undated, "skipped": skipped,
                "themes": [asdict(t) for t in themes], "themes_reclustered": reclustered,
                "citation_keys": keys, "cards": card_stats,
                "selection": {"formula": SCORE_TEXT, "full": sorted(e.cite_id for e in full),
                              "compact": sorted(e.cite_id for e in entries if not e.full),
                              "scores": {e.cite_id: scores[e.pid] for e in entries}},
                "results": {k: sections["results"][k] for k in ("cells", "verified", "shown", "conflicts",
                                                                 "benchmarks")},
                "lineage": {"edges_used": sections["lineage"]["edges"],
                            "graph_edges": sections["lineage"]["graph_edges"]},
                "drafts": {"reused": cache.reused, "made": cache.made},
                "sections": {sid: _hash(s.get("md", "")) for sid, s in sections.items()},
                "support": summary, "changed_since": changes["since"] if changes else None,
                "changes": changes, "warnings": self.warnings,
                "previous": prev_dir.name if prev_dir else None,
                "seconds": round(seconds, 2),
            }
            prompt_hashes = {name: p.sha256 for name, p in writer.prompts.items()}
            record = run_record(command="survey", settings=self.settings, catalog=catalog,
                                papers=[e.record for e in entries], llm=llm, prompts=prompt_hashes,
                                timings={**self.timer.seconds, "total": seconds}, extra=extra)
            atomic_write_json(out.path / "run.json", record)
        references = [{"arxiv_id": e.cite_id, "title": e.record.title, "year": e.year} for e in
                      sorted(entries, key=lambda e: e.key)]
        return SurveyResult(dir=out.final, topic=topic.name, papers=[e.cite_id for e in entries], eras=eras,
                            references=references, equations=equations, figures=figures,
                            supported_share=summary["supported_share"], seconds=time.perf_counter() - started,
                            changed_since=changes["since"] if changes else None, summary={
                                "support": summary, "drafts": {"reused": len(cache.reused), "made": len(cache.made)},
                                "cards": {k: len(v) for k, v in card_stats.items()}, "skipped": skipped,
                                "themes": [t.name for t in themes], "llm": writer.model_name,
                                "results": {k: sections["results"][k] for k in ("cells", "verified", "shown",
                                                                                 "conflicts", "benchmarks")},
                                "lineage": sections["lineage"]["edges"],
                                "timings": {k: round(v, 2) for k, v in self.timer.seconds.items()}},
                            warnings=self.warnings)


def _is_equation_image(name: str) -> bool:
    return name.startswith("eq")


def _assets_dir(settings: Settings, pid: str) -> Path:
    from surveyor.evidence.cards import assets_dir

    return assets_dir(settings, pid)



def build_survey(settings: Settings, topic: str, options: SurveyOptions | None = None,
                 say: Say | None = None) -> SurveyResult:
    """Write a survey of `topic` (name or alias) and return where it went and what it holds."""
    return SurveyBuilder(settings, topic, options, say).run()
