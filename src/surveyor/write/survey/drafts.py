"""Drafting: the writer that drafts paragraphs with the LLM (or extractively) and checks every cited
sentence, the cache of finished drafts, and the theme and next-steps paragraphs.

Every cited sentence is checked against its cited page (surveyor.grounding.check_cited, or
verbatim presence for quotes); unsupported generated sentences are replaced by the closest
verbatim evidence quote, or dropped. Drafts are cached under <root>/<topic>/.cache/drafts by the
hash of their evidence, the prompt file, the model and the writer version.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from surveyor import versions
from surveyor.files import atomic_write_json, read_json
from surveyor.grounding import Citation, PageTexts, check_cited, format_citation, parse_citations, strip_citations
from surveyor.index.catalog import Catalog
from surveyor.render.html import md_escape
from surveyor.settings import Settings
from surveyor.textnorm import collapse, content_words, split_sentences
from surveyor.topics import Topic
from surveyor.write.survey.select import Entry, Say
from surveyor.write.survey.themes import Theme

NEXT_STEPS_PAPERS = 4
PROMPT_WORDS = 45        # longer evidence lines are cut (marked …) in prompts: prompt time is ~1 s per 80 tokens
PARAGRAPH_MAX_SENTENCES = 3
QUOTE_WORDS = 60         # longer quotes are cut at a word boundary (marked …)
PROMPTS = ("survey_section", "survey_next_steps", "survey_era")


# --------------------------------------------------------------------------- claims


@dataclass
class Claim:
    """One cited sentence of the survey and the checker's verdict on it."""

    section: str
    text: str
    paper_id: str
    page: int
    origin: str                 # quote | generated | rewritten | equation
    supported: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    action: str = "kept"        # kept | rewritten | dropped
    original: str | None = None  # the writer's sentence, when it was rewritten or dropped

    @property
    def shipped(self) -> bool:
        return self.action != "dropped"


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def trim_words(text: str, limit: int) -> tuple[str, bool]:
    """The first `limit` words of `text` (verbatim), and whether anything was cut."""
    words = collapse(text).split(" ")
    if len(words) <= limit:
        return collapse(text), False
    return " ".join(words[:limit]).rstrip(",;:"), True


def tag(cite_id: str, page: int, eq: str | None = None) -> str:
    return format_citation(cite_id, page, eq)


def _short_title(title: str) -> str:
    head = title.split(":")[0].strip()
    if 3 <= len(head) <= 60:
        return head
    short, cut = trim_words(title, 8)
    return short + ("…" if cut else "")


def support_summary(claims: list[dict]) -> dict[str, Any]:
    shipped = [c for c in claims if c["action"] != "dropped" and c["origin"] != "equation"]
    generated = [c for c in claims if c["origin"] in ("generated", "rewritten")]
    supported = sum(1 for c in shipped if c["supported"])
    return {
        "cited": len(shipped),
        "supported": supported,
        "supported_share": round(supported / len(shipped), 4) if shipped else 1.0,
        "quotes": sum(1 for c in shipped if c["origin"] == "quote"),
        "generated": len(generated),
        "generated_supported_as_written": sum(1 for c in generated if c["origin"] == "generated" and c["supported"]),
        "rewritten": sum(1 for c in claims if c["action"] == "rewritten"),
        "dropped": sum(1 for c in claims if c["action"] == "dropped"),
        "equations": sum(1 for c in claims if c["origin"] == "equation"),
    }


# --------------------------------------------------------------------------- drafts


class DraftCache:
    """Finished section drafts (Markdown + checked claims) by the hash of everything they depend on."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.reused: list[str] = []
        self.made: list[str] = []

    def get_or_make(self, section: str, inputs: dict, make: Callable[[], dict]) -> dict:
        key = _hash({"writer": versions.SURVEY_WRITER, **inputs})
        path = self.folder / key[:2] / f"{key}.json"
        cached = read_json(path)
        if isinstance(cached, dict) and cached.get("key") == key:
            self.reused.append(section)
            return cached
        draft = make()
        draft["key"] = key
        atomic_write_json(path, draft)
        self.made.append(section)
        return draft


# --------------------------------------------------------------------------- writing


class _Writer:
    """Drafts sections from cards; every cited sentence it emits has been checked."""

    def __init__(self, settings: Settings, catalog: Catalog, llm: Any | None, topic: Topic,
                 entries: dict[str, Entry], cache: DraftCache, max_tokens: int, say: Say):
        self.settings = settings
        self.catalog = catalog
        self.llm = llm
        self.topic = topic
        self.entries = entries
        self.cache = cache
        self.max_tokens = max_tokens
        self.say = say
        self.pages = PageTexts(self.catalog)
        self._embedder = None
        self.prompts = {}
        if llm is not None:
            from surveyor.write.prompts import load_prompt

            self.prompts = {name: load_prompt(name) for name in PROMPTS}

    @property
    def embedder(self):
        if self._embedder is None:
            from surveyor.index.embedder import get_embedder

            self._embedder = get_embedder(self.settings.embedding)
        return self._embedder

    @property
    def model_name(self) -> str:
        return getattr(self.llm, "name", "none") if self.llm is not None else "none"

    # ---- quotes ---------------------------------------------------------------
    def quote(self, section: str, entry: Entry, text: str, page: int, claims: list[dict],
              words: int = QUOTE_WORDS) -> str | None:
        """“verbatim quote” [id p.N], or None when the quote is not on its page."""
        from surveyor.grounding import quote_on_page

        shown, cut = trim_words(text, words)
        page_text = self._page(entry.pid, page)
        if not quote_on_page(shown, page_text):
            claims.append(asdict(Claim(section, shown, entry.cite_id, page, "quote", False, 0.0,
                                       ["quote not found on the cited page"], "dropped")))
            return None
        claims.append(asdict(Claim(section, shown, entry.cite_id, page, "quote", True, 1.0,
                                   ["verbatim on the cited page"])))
        return f"“{md_escape(shown)}{'…' if cut else ''}” {tag(entry.cite_id, page)}"

    def _page(self, pid: str, page: int) -> str | None:
        return self.pages.text(pid, page)

    # ---- paragraphs --------------------------------------------------------------
    def paragraph(self, section: str, prompt_name: str, heading: str, evidence: list[tuple[Entry, str, int]],
                  extractive: Callable[[], str], max_tokens: int | None = None,
                  max_sentences: int = PARAGRAPH_MAX_SENTENCES) -> dict:
        """A few sentences from evidence lines (entry, quote, page), written, checked and cached."""
        max_tokens = min(max_tokens or self.max_tokens, self.max_tokens)
        lines = [(e.cite_id, page, shown + ("…" if cut else ""))
                 for e, text, page in evidence for shown, cut in [trim_words(text, PROMPT_WORDS)]]
        if self.llm is None or not lines:
            inputs = {"kind": "paragraph", "section": section, "model": "none", "heading": heading,
                      "evidence": lines, "extractive": extractive()}
            return self.cache.get_or_make(section, inputs, lambda: {"md": inputs["extractive"], "claims": [],
                                                                    "raw": None})
        prompt = self.prompts[prompt_name]
        evidence_text = "\n".join(f"{tag(cid, page)} {text}" for cid, page, text in lines)
        system, user = prompt.render(topic=self.topic.title, heading=heading, evidence=evidence_text,
                                     max_sentences=max_sentences)
        inputs = {"kind": "paragraph", "section": section, "model": self.model_name, "prompt": prompt.sha256,
                  "max_tokens": max_tokens, "system": system, "user": user, "checker": _checker_version()}

        def make() -> dict:
            self.say(f"  writing {section} ({self.model_name})")
            started, cpu = time.perf_counter(), time.process_time()
            raw = self.llm.chat(system, user, max_tokens=max_tokens, stop=["\n\n", "Evidence:", "Theme:", "Paper:"])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            md, claims = self.check_paragraph(section, raw, evidence, heading)
            return {"md": md, "claims": claims, "raw": raw, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}

        return self.cache.get_or_make(section, inputs, make)

    def check_paragraph(self, section: str, raw: str, evidence: list[tuple[Entry, str, int]],
                        heading: str = "") -> tuple[str, list[dict]]:
        """Check each sentence of the writer's paragraph against its cited page; rewrite or drop failures.

        A sentence is kept when some page it cites (or the page of the evidence line closest to it)
        supports it; otherwise it is replaced by the closest verbatim evidence quote not used yet,
        or dropped. Echoes of the topic or theme name and a last sentence cut off by max_tokens
        are not claims and are left out.
        """
        from surveyor.grounding import best_quote

        text = re.sub(r"^\s*(?:Paragraph|Sentences|Answer|Summary)\s*:\s*", "", raw.strip(), flags=re.I)
        text = " ".join(line.strip().lstrip("-*# ").strip() for line in text.splitlines() if line.strip())
        by_cite = {e.cite_id: e for e, _, _ in evidence}
        echo_words = set(content_words(f"{self.topic.title} {heading} theme survey paragraph"))
        claims: list[dict] = []
        shipped: list[str] = []
        seen: set[str] = set()
        used_quotes: set[str] = set()
        sentences = split_sentences(text)
        if sentences and re.search(r"\s\[[^\[\]]*$", sentences[-1]):  # cut inside its tag: the claim is whole
            sentences[-1] = re.sub(r"\s*\[[^\[\]]*$", "", sentences[-1]).rstrip(" ,;:") + "."
        if sentences and not re.search(r"[.!?\]”\"')]\s*$", sentences[-1]):
            cut = strip_citations(sentences.pop())
            claims.append(asdict(Claim(section, cut, "", 0, "generated", False, 0.0,
                                       ["cut off by the token limit"], "dropped", cut)))
        evidence_text = "\n".join(t for _, t, _ in evidence)
        for sentence in sentences:
            claim_text = strip_citations(sentence)
            claim_text = collapse(re.sub(r"\[[^\[\]]*(?=\[|$)", " ", claim_text))  # broken tags ("[2301.1 p")
            claim_text = re.sub(r"\s+([.,;:!?])", r"\1", claim_text).rstrip(" .;,")
            words = content_words(claim_text)
            if len(words) < 3 or len(set(words) - echo_words) <= 1:
                continue
            if _repeats_itself(claim_text):
                claims.append(asdict(Claim(section, claim_text, "", 0, "generated", False, 0.0,
                                           ["the writer repeated itself"], "dropped", claim_text)))
                continue
            cited = [(c.paper_id, c.page) for c in parse_citations(sentence, loose=True)]
            valid = []
            for cid, page in cited:
                if cid not in by_cite:
                    continue
                pages = [p for e, _, p in evidence if e.cite_id == cid]
                valid.append((cid, page if page in pages or self._page(by_cite[cid].pid, page) else pages[0]))
            # The evidence line closest to the sentence is a candidate too: small writers misattribute.
            closest, _ = best_quote(claim_text, evidence_text)
            line = next(((e, p) for e, t, p in evidence if closest and closest in collapse(t)), None)
            candidates = list(dict.fromkeys(valid + ([(line[0].cite_id, line[1])] if line else [])))
            supported_tags = []
            best = (0.0, ["no citation to evidence the writer was given"])
            for cid, page in candidates:
                verdict = check_cited(claim_text, Citation(by_cite[cid].pid, page), self.pages, self.embedder)
                ok, score, reasons = verdict.supported, verdict.score, verdict.reasons
                if ok:
                    supported_tags.append((cid, page, score, reasons or [f"supported by the cited page ({score:.2f})"]))
                elif score >= best[0]:
                    best = (score, reasons)
            key = claim_text.lower()
            if supported_tags:
                if key in seen:
                    continue
                seen.add(key)
                # Tags the writer chose come first; the closest line only when none of them holds.
                chosen = [t for t in supported_tags if (t[0], t[1]) in valid] or supported_tags[:1]
                cid, page, score, reasons = chosen[0]
                claims.append(asdict(Claim(section, claim_text, cid, page, "generated", True, score, reasons)))
                shipped.append(f"{md_escape(claim_text)} {' '.join(tag(c, p) for c, p, _, _ in chosen)}.")
                continue
            # Unsupported: the verbatim evidence quote closest to it, if not already used; else drop.
            pool = [(e, t, p) for e, t, p in evidence if not valid or e.cite_id in {c for c, _ in valid}]
            quote, _ = best_quote(claim_text, "\n".join(t for _, t, _ in pool)) if pool else (None, 0.0)
            source = next(((e, t, p) for e, t, p in pool if quote and quote in collapse(t)), None)
            cid0, page0 = valid[0] if valid else (candidates[0] if candidates else ("", 0))
            if source and quote not in used_quotes and quote.lower().rstrip(". ") not in seen:
                e, _, p = source
                rendered = self.quote(section, e, quote, p, claims)
                if rendered:
                    used_quotes.add(quote)
                    seen.add(quote.lower().rstrip(". "))
                    claims[-1].update(origin="rewritten", action="rewritten", original=claim_text)
                    claims[-1]["reasons"] = best[1] + ["replaced by the verbatim evidence quote"]
                    shipped.append(rendered)
                    continue
            claims.append(asdict(Claim(section, claim_text, cid0, page0, "generated", False, best[0], best[1],
                                       "dropped", claim_text)))
        return " ".join(shipped), claims


def _repeats_itself(text: str, span: int = 6) -> bool:
    """True when a run of `span` words occurs twice: a small writer looping, not a claim."""
    words = text.lower().split()
    seen: set[tuple[str, ...]] = set()
    for i in range(len(words) - span + 1):
        gram = tuple(words[i:i + span])
        if gram in seen:
            return True
        seen.add(gram)
    return False


def _checker_version() -> list:
    from surveyor.grounding import support as verify

    return [getattr(verify, n, None) for n in ("MIN_COVERAGE", "MIN_COVERAGE_WITHOUT_EMBEDDER", "MIN_SIMILARITY")]


# --------------------------------------------------------------------------- paragraphs


def theme_paragraph(writer: _Writer, theme: Theme, by_pid: dict[str, Entry]) -> dict:
    """What the theme's papers have in common (counted), then one or two written sentences per paper.

    The writer gets one paper's challenge and innovation at a time: a short prompt, and a draft that
    stays valid while that paper's card does, so a regeneration writes only for new papers.
    """
    members = sorted((by_pid[p] for p in theme.papers), key=lambda e: (e.record.meta.published or "9999", e.pid))
    years = sorted({e.year for e in members if e.year})
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "undated")
    listing = "; ".join(f"{md_escape(_short_title(e.record.title))} ({e.cite_id}, {e.year or 'n.d.'})"
                        for e in members)
    intro = (f"This family groups {len(members)} key paper{'s' if len(members) != 1 else ''} ({span}), "
             f"named by the phrase *{md_escape(theme.name)}* that its papers use: {listing}.")
    parts, claims = [intro], []
    if writer.llm is not None:
        for e in members:
            evidence = [(e, getattr(e.card, name)[0].text, getattr(e.card, name)[0].page)
                        for name in ("challenges", "innovations") if getattr(e.card, name)]
            if not evidence:
                continue
            draft = writer.paragraph(f"theme:{theme.index}:{e.pid}", "survey_section", e.record.title, evidence,
                                     lambda: "", max_tokens=writer.settings.survey.paper_max_tokens, max_sentences=2)
            if draft.get("md"):
                parts.append(draft["md"])
            claims += draft.get("claims", [])
    return {"md": " ".join(parts), "claims": claims}


def next_steps_paragraph(writer: _Writer, entries: list[Entry], warnings: list[str]) -> dict:
    # The most relevant papers' own words; by topic score, so a new marginal paper leaves the draft alone.
    ranked = sorted(entries, key=lambda e: (-e.score, e.pid))
    evidence: list[tuple[Entry, str, int]] = []
    for e in ranked:
        for name in ("limitations", "future_work"):
            quotes = getattr(e.card, name)
            if quotes:
                evidence.append((e, quotes[0].text, quotes[0].page))
        if len({x.pid for x, _, _ in evidence}) >= NEXT_STEPS_PAPERS:
            break
    if evidence:  # the extractive survey lists these quotes under the paragraph anyway
        return writer.paragraph("next-steps", "survey_next_steps", "open challenges and next steps", evidence,
                                lambda: "")
    # No card states a limitation: look for them in the papers' text (retrieval), and quote what is found.
    evidence = retrieved_limitations(writer, entries, warnings)
    if writer.llm is not None and evidence:
        return writer.paragraph("next-steps", "survey_next_steps", "open challenges and next steps", evidence,
                                lambda: "")
    claims: list[dict] = []
    quotes = [writer.quote("next-steps", e, text, page, claims) for e, text, page in evidence]
    found = " ".join(q for q in quotes if q)
    return {"md": f"Stated in the papers' text (found by retrieval): {found}" if found else "", "claims": claims}


def retrieved_limitations(writer: _Writer, entries: list[Entry], warnings: list[str]) -> list[tuple[Entry, str, int]]:
    """When no card states limitations, look for them in the papers' chunks (retrieval)."""
    from surveyor.grounding import quote_on_page
    from surveyor.retrieve.retriever import Retriever

    by_pid = {e.pid: e for e in entries}
    out: list[tuple[Entry, str, int]] = []
    try:
        retriever = Retriever(writer.settings, writer.catalog)
        passages = retriever.search("limitations future work open problems remain challenge", k=6,
                                    papers=list(by_pid))
    except Exception as exc:  # noqa: BLE001 - retrieval is a fallback; its failure is a warning
        warnings.append(f"retrieval for next steps failed: {exc}")
        return out
    cue = re.compile(r"limitation|future work|future research|remain|open (?:problem|question)|challeng|"
                     r"we leave|left for", re.I)
    for passage in passages:
        entry = by_pid.get(passage.paper_id)
        if entry is None:
            continue
        for sentence in split_sentences(passage.text):
            if cue.search(sentence) and len(sentence.split()) >= 6 and \
                    quote_on_page(sentence, writer._page(entry.pid, passage.page)):
                out.append((entry, sentence, passage.page))
                break
    return out
