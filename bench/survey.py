"""Benchmark `surveyor survey` against the issue's quality bars, per topic.

Usage: python bench/survey.py [--home /tmp/bench-home] [--llm none|embedded|...] [--topics a,b]
                              [--out DIR] [--regen TOPIC] [--threads 2]

For each topic (default: all six) it writes a survey under --out (a temporary folder by
default: the home is only read) and prints:

  ok          the survey completed
  s           wall seconds (bar: ≤ 600 with the embedded model on 2 cores)
  papers      papers surveyed (traditional / recent)
  outside     references or citations to papers outside the corpus (bar: 0)
  nopage      citations of pages that do not exist (bar: 0)
  cited       cited sentences re-checked from survey.md, independently of support.json
  pass        share of them that the checker accepts (bar: ≥ 95%)
  eq          equations shown with their crop image (bar for distillation: ≥ 3)
  arch        architecture figures shown (bar for distillation: ≥ 1)
  era_bad     papers in the wrong era by arXiv date (bar: 0)
  topic       papers in the topic (catalog, topic score ≥ threshold) / appear: of them, those whose id appears
              in survey.md (bar: all)
  cells       results-table values cited [id p.N Table k] / vcell: share re-verified on their page from
              survey.md (the value on the page, independently of run.json)
  edges       lineage edges used (recent→traditional, recent→recent, traditional→traditional)
  families    the approach families and their names (a second line per topic)

--regen TOPIC measures regeneration: in a copy of the home it removes the corpus's 5 newest
papers (--regen-in-topic: the topic's 5 newest), runs a full survey with cold cards and
drafts, ingests the 5 papers again and runs the survey again; the bar is regeneration
≤ 25% of the full run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from surveyor.grounding import Citation, PageTexts, check_cited, cited_claims, quote_on_page, table_cells  # noqa: E402
from surveyor.index.catalog import Catalog  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402
from surveyor.topics import all_topics  # noqa: E402
from surveyor.write.survey import SurveyOptions, build_survey  # noqa: E402


def _fail(message: str) -> None:
    print(f"bench/survey.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def _cpu() -> float:
    """CPU seconds of this process (user + system): on a shared machine, wall time alone misleads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(settings, result, embedder) -> dict:
    out = result.dir
    md = (out / "survey.md").read_text(encoding="utf-8")
    catalog = Catalog(settings.index_dir)
    try:
        corpus_ids = {p.paper_id for p in catalog.papers()} | {p.arxiv_id for p in catalog.papers() if p.arxiv_id}
        cited_ids = {m.group(1) for m in re.finditer(r"\[([\w.\-/]+) p\.\d+", md)}
        outside = len({r["arxiv_id"] for r in result.references} - corpus_ids) + len(cited_ids - corpus_ids)
        claims = cited_claims(md)
        pages = PageTexts(catalog)
        passed = nopage = 0
        for text, pid, page in claims:
            if catalog.page_text(pid, page) is None:
                nopage += 1
                continue
            passed += check_cited(text, Citation(pid, page), pages, embedder).supported
        cells = table_cells(md)
        verified = sum(1 for value, c in cells if quote_on_page(value, catalog.page_text(c.paper_id, c.page)))
        threshold = settings.topics.threshold
        topic_ids = [p.arxiv_id or p.paper_id for p in catalog.papers()
                     if p.topics.get(result.topic, 0.0) >= threshold]
        appear = sum(1 for pid in topic_ids if f"({pid}," in md or f"[{pid} p." in md)
        era_bad = 0
        for era, ids in result.eras.items():
            for pid in ids:
                published = catalog.paper(pid).meta.published or ""
                era_bad += (published < "2024-01-01") != (era == "traditional")
    finally:
        catalog.close()
    images = re.findall(r"!\[([^\]]*)\]\((assets/[^)\s]+)", md)  # the path, not its "[id p.N]" title
    eq = sum(1 for alt, rel in images if alt.startswith(("Equation", "Unnumbered")) and (out / rel).is_file())
    arch = sum(1 for alt, rel in images if alt.startswith(("Figure", "Architecture")) and (out / rel).is_file())
    return {"outside": outside, "nopage": nopage, "cited": len(claims),
            "pass": passed / len(claims) if claims else 1.0, "eq": eq, "arch": arch, "era_bad": era_bad,
            "topic": len(topic_ids), "appear": appear, "cells": len(cells),
            "vcell": verified / len(cells) if cells else 1.0}


def run_topics(args, settings) -> int:
    from surveyor.index.embedder import get_embedder

    embedder = get_embedder(settings.embedding)
    topics = args.topics.split(",") if args.topics else [t.name for t in all_topics()]
    out_root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-survey-"))
    print(f"home {settings.home}  llm {args.llm}  out {out_root}")
    header = (f"{'topic':<14} {'ok':>3} {'s':>7} {'papers':>9} {'outside':>7} {'nopage':>6} {'cited':>5} "
              f"{'pass':>6} {'eq':>3} {'arch':>4} {'era_bad':>7} {'topic':>5} {'appear':>6} {'cells':>5} {'vcell':>6} "
              f"{'edges':>8}  bars")
    print(header)
    failures = 0
    for name in topics:
        started = time.perf_counter()
        cpu_started = _cpu()
        try:
            result = build_survey(settings, name, SurveyOptions(llm=args.llm, out=out_root, max_papers=args.max_papers))
        except Exception as exc:  # noqa: BLE001 - a failed topic is a row, not the end of the benchmark
            print(f"{name:<14} {'no':>3} {time.perf_counter() - started:7.1f}  {type(exc).__name__}: {exc}")
            failures += 1
            continue
        seconds = time.perf_counter() - started
        cpu = _cpu() - cpu_started
        m = measure(settings, result, embedder)
        budget = 60 if args.llm == "none" else 600
        bars = [m["outside"] == 0, m["nopage"] == 0, m["pass"] >= 0.95, m["era_bad"] == 0, seconds <= budget,
                m["appear"] == m["topic"], m["vcell"] == 1.0]
        if name == "distillation":
            bars += [m["eq"] >= 3, m["arch"] >= 1]
        ok = all(bars)
        failures += not ok
        papers = f"{len(result.papers)} ({len(result.eras['traditional'])}/{len(result.eras['recent'])})"
        print(f"{name:<14} {'yes':>3} {seconds:7.1f} {papers:>9} {m['outside']:>7} {m['nopage']:>6} {m['cited']:>5} "
              f"{m['pass']:>6.1%} {m['eq']:>3} {m['arch']:>4} {m['era_bad']:>7} {m['topic']:>5} {m['appear']:>6} "
              f"{m['cells']:>5} {m['vcell']:>6.0%} {'/'.join(str(v) for v in result.summary['lineage'].values()):>8}"
              f"  {'PASS' if ok else 'FAIL'}"
              f"   [generated {result.summary['support']['generated']}"
              f", rewritten {result.summary['support']['rewritten']}, dropped {result.summary['support']['dropped']};"
              f" cpu {cpu:.0f} s; timings {json.dumps(result.summary['timings'])}]")
        print(f"{'':<14} families: " + "; ".join(f"{i}. {n}" for i, n in enumerate(result.summary["themes"], 1))
              + f"  | results benchmarks: {', '.join(result.summary['results']['benchmarks']) or 'none'}"
              + f", conflicts flagged {result.summary['results']['conflicts']}")
        sys.stdout.flush()
    return failures


def regen(args, settings) -> int:
    """Full run on the home minus the topic's 5 newest papers, then again after they are ingested."""
    from surveyor.index.ingest import Ingestor
    from surveyor.topics import resolve_topic

    topic = resolve_topic(args.regen)
    work = Path(tempfile.mkdtemp(prefix="bench-regen-"))
    home = work / "home"
    print(f"copying {settings.home} to {home} ...")
    shutil.copytree(settings.home, home, symlinks=True, ignore=shutil.ignore_patterns("surveys", "cards", "assets"))
    s = load_settings(home)
    catalog = Catalog(s.index_dir)
    # The papers that arrive are the newest ones: remove the corpus's 5 newest (any topic), or with
    # --regen-in-topic the topic's 5 newest (the worst case: every new paper lands in the survey).
    records = catalog.papers()
    threshold = s.topics.threshold
    if args.regen_in_topic:
        records = [r for r in records if r.topics.get(topic.name, 0.0) >= threshold]
    newest = sorted(records, key=lambda r: r.meta.published or "", reverse=True)[:5]
    in_topic = [r.paper_id for r in newest if r.topics.get(topic.name, 0.0) >= threshold]
    new_dir = work / "new"
    new_dir.mkdir()
    lines = []
    for r in newest:
        shutil.copy(home / r.file, new_dir / Path(r.file).name)
        lines.append(json.dumps({"file": Path(r.file).name, "arxiv_id": r.arxiv_id, "title": r.meta.title,
                                 "authors": r.meta.authors, "published": r.meta.published,
                                 "categories": r.meta.categories, "abstract": r.meta.abstract}))
    (new_dir / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    catalog.close()
    db = sqlite3.connect(s.index_dir / "catalog.sqlite")
    with db:
        for r in newest:
            for table in ("papers", "pages", "chunks", "files"):
                db.execute(f"DELETE FROM {table} WHERE paper_id = ?", (r.paper_id,))
    db.close()
    print(f"removed {len(newest)} papers: {', '.join(r.paper_id for r in newest)} "
          f"({len(in_topic)} of them in topic {topic.name})")
    out = work / "out"
    started, cpu0 = time.perf_counter(), _cpu()
    first = build_survey(s, topic.name, SurveyOptions(llm=args.llm, out=out, max_papers=args.max_papers))
    full, full_cpu = time.perf_counter() - started, _cpu() - cpu0
    print(f"full run: {full:.1f} s, cpu {full_cpu:.0f} s ({len(first.papers)} papers; timings {first.summary['timings']})")
    Ingestor(load_settings(home), arxiv_lookup=False, progress=False).run([new_dir])
    started, cpu0 = time.perf_counter(), _cpu()
    second = build_survey(load_settings(home), topic.name, SurveyOptions(llm=args.llm, out=out,
                                                                         max_papers=args.max_papers))
    again, again_cpu = time.perf_counter() - started, _cpu() - cpu0
    run = json.loads((second.dir / "run.json").read_text())
    ratio = again / full if full else 0.0
    print(f"regeneration: {again:.1f} s = {ratio:.0%} of the full run (cpu {again_cpu:.0f} s = "
          f"{again_cpu / full_cpu if full_cpu else 0:.0%}) "
          f"(cards built {run['cards']['built']}, drafts made {run['drafts']['made']}, "
          f"reused {len(run['drafts']['reused'])}; timings {second.summary['timings']})  "
          f"{'PASS' if ratio <= 0.25 else 'FAIL'}")
    shutil.rmtree(work, ignore_errors=True)
    return int(ratio > 0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default="/tmp/bench-home")
    parser.add_argument("--llm", default="none")
    parser.add_argument("--topics", default=None, help="comma-separated topic names (default: all six)")
    parser.add_argument("--out", default=None, help="where surveys are written (default: a temporary folder)")
    parser.add_argument("--max-papers", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the embedded model")
    parser.add_argument("--regen", default=None, metavar="TOPIC", help="measure regeneration for TOPIC instead")
    parser.add_argument("--regen-in-topic", action="store_true",
                        help="with --regen: the 5 added papers are the topic's newest (worst case)")
    args = parser.parse_args()
    home = Path(args.home)
    if not (home / "index" / "catalog.sqlite").is_file():
        _fail(f"no ingested home at {home} (ingest ../shared/corpus/pdf there first)")
    settings = load_settings(home)
    settings.llm.threads = args.threads
    settings.embedding.threads = args.threads
    failures = regen(args, settings) if args.regen else run_topics(args, settings)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
