"""Benchmark the growing corpus against the loopback arXiv (tests/arxiv_replay.py) on real corpus PDFs.

Usage: python bench/grow.py [--workdir DIR] [--topic distillation] [--part update|expand|all]

update: a fresh home; a few of the topic's corpus papers appear on the replay as submitted during the
        last days. Prints the transcript of `update --dry-run`, `update --max-per-topic 2` and a second
        `update`, with the seconds each took (the second must be <= 5 s).
expand: the topic's labelled citing papers (../shared/eval/dev_citations.jsonl, topic codes from the
        corpus manifest) are ingested; the corpus papers they cite are held back (the replay still
        serves them). Prints `expand --dry-run`, then runs `expand` and scores what was fetched:
        precision = fetched papers the labels say are cited by >= K of the home's topic papers;
        recall = such held-back papers that were fetched.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from arxiv_replay import DEFAULT_CORPUS, ArxivReplay  # noqa: E402

EVAL = DEFAULT_CORPUS.parent / "eval" / "dev_citations.jsonl"


def cli(home: Path, env: dict, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "surveyor", "--home", str(home), *args], capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                          "PYTHONPATH": str(REPO / "src"), **env})
    return done, time.monotonic() - started


def show(title: str, done: subprocess.CompletedProcess, seconds: float) -> None:
    print(f"$ surveyor {title}    # exit {done.returncode}, {seconds:.1f} s")
    print(done.stdout.rstrip())
    errors = [line for line in done.stderr.splitlines() if line.startswith(("surveyor:", "failed", "Traceback"))]
    if errors:
        print("\n".join(errors))
    print()


def new_home(path: Path, tries: int = 30) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / "surveyor.toml").write_text(f"[arxiv]\ndelay_s = 0.05\n[update]\nexpand_tries = {tries}\n")
    return path


def part_update(work: Path, topic: str) -> None:
    home = new_home(work / "update-home")
    fresh = ["1910.01108", "2412.19048", "2301.12726", "2212.00193", "1707.06347", "2309.10537"]
    with ArxivReplay(DEFAULT_CORPUS) as server:
        now = datetime.now(timezone.utc)
        for days, arxiv_id in enumerate(fresh, start=1):
            record = next(r for r in server.records if r["arxiv_id"] == arxiv_id)
            stamp = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
            server.add_paper({k: v for k, v in record.items() if not k.startswith("_")} | {"published": stamp},
                             pdf=DEFAULT_CORPUS / "pdf" / record["file"])
        env = {"SURVEYOR_ARXIV_URL": server.api_url}
        print(f"== update: {len(fresh)} corpus papers re-dated into the last week on the replay: {' '.join(fresh)}\n")
        show(f"update --topic {topic} --dry-run", *cli(home, env, "update", "--topic", topic, "--dry-run"))
        show(f"update --topic {topic} --max-per-topic 2",
             *cli(home, env, "update", "--topic", topic, "--max-per-topic", "2"))
        done, seconds = cli(home, env, "update", "--topic", topic)
        show(f"update --topic {topic}", done, seconds)
        print(f"second update: {seconds:.2f} s (limit 5 s); PDF requests in all: "
              f"{sum(1 for r in server.requests if r.startswith('/pdf/'))}\n")
        show("status", *cli(home, env, "status"))


def labelled(topic_code: str) -> tuple[list[str], dict[str, set[str]]]:
    manifest = {r["arxiv_id"]: r for r in csv.DictReader(open(DEFAULT_CORPUS / "manifest.tsv"), delimiter="\t")}
    cites = {}
    for line in EVAL.read_text().splitlines():
        row = json.loads(line)
        if row["cites"] and topic_code in manifest.get(row["arxiv_id"], {}).get("topics", "").split(";"):
            cites[row["arxiv_id"]] = set(row["cites"])
    return sorted(cites), cites


def part_expand(work: Path, topic_name: str, k: int, max_n: int) -> None:
    from surveyor.index.catalog import Catalog
    from surveyor.index.ingest import Ingestor
    from surveyor.settings import load_settings
    from surveyor.topics import resolve_topic

    topic = resolve_topic(topic_name)
    citing, cites = labelled(topic.code)
    held_back = set().union(*cites.values()) - set(citing)
    citing = [c for c in citing if c not in held_back]
    home = new_home(work / "expand-home", tries=5000)
    pdfs = Path(tempfile.mkdtemp(dir=work))
    for arxiv_id in citing:
        shutil.copy(DEFAULT_CORPUS / "pdf" / f"{arxiv_id}.pdf", pdfs / f"{arxiv_id}.pdf")
    shutil.copy(DEFAULT_CORPUS / "pdf" / "metadata.jsonl", pdfs / "metadata.jsonl")
    settings = load_settings(home)
    started = time.monotonic()
    Ingestor(settings, arxiv_lookup=False, progress=False).run([pdfs])
    catalog = Catalog(settings.index_dir)
    members = {p.paper_id for p in catalog.papers() if p.topics.get(topic.name, 0) >= settings.topics.threshold}
    catalog.close()
    print(f"== expand: home of {len(citing)} labelled citing papers of {topic.name} ({' '.join(citing)}; "
          f"ingested in {time.monotonic() - started:.0f} s), {len(members)} of them in the topic by score; "
          f"held back: {' '.join(sorted(held_back))}\n")
    truth = {c for c in held_back if sum(1 for m in members if c in cites.get(m, set())) >= k}
    with ArxivReplay(DEFAULT_CORPUS) as server:
        env = {"SURVEYOR_ARXIV_URL": server.api_url}
        dry, seconds = cli(home, env, "expand", "--topic", topic.name, "--min-cited", str(k), "--max", str(max_n),
                           "--dry-run")
        lines = dry.stdout.splitlines()
        keep = [i for i, line in enumerate(lines) if "->" in line or "already" in line]
        print(f"$ surveyor expand --topic {topic.name} --min-cited {k} --max {max_n} --dry-run    "
              f"# exit {dry.returncode}, {seconds:.1f} s; first 12 lines and the resolved ones:")
        print("\n".join(lines[:12]))
        print("  ...")
        print("\n".join(f"{lines[i - 1]}\n{lines[i]}" for i in keep if i >= 12))
        print("\n".join(lines[-1:]), "\n")
        done, seconds = cli(home, env, "expand", "--topic", topic.name, "--min-cited", str(k), "--max", str(max_n),
                            "--json")
    report = json.loads(done.stdout)
    fetched = set(report["added"])
    right = {f for f in fetched if sum(1 for m in members if f in cites.get(m, set())) >= k}
    print(f"expand --min-cited {k} --max {max_n}: exit {done.returncode}, {seconds:.1f} s; "
          f"fetched {sorted(fetched)}")
    print(f"held back and cited by >= {k} topic papers (labels): {sorted(truth)}")
    precision = len(right) / len(fetched) if fetched else float("nan")
    recall = len(fetched & truth) / len(truth) if truth else float("nan")
    print(f"precision {len(right)}/{len(fetched)} = {precision:.0%}   recall {len(fetched & truth)}/{len(truth)} = "
          f"{recall:.0%}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--topic", default="distillation")
    parser.add_argument("--part", choices=["update", "expand", "all"], default="all")
    parser.add_argument("--min-cited", type=int, default=1)
    parser.add_argument("--max", type=int, default=10)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-grow-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min); work dir {work}\n")
    if args.part in ("update", "all"):
        part_update(work, args.topic)
    if args.part in ("expand", "all"):
        part_expand(work, args.topic, args.min_cited, args.max)


if __name__ == "__main__":
    main()
