"""Digest benchmark: the six 2025 weeks with the most corpus papers, digested in date order.

For each week: picks, share of picks inside the window (bar: 100%), repeats of papers featured
by an earlier digest of this run (bar: 0), share of cited sentences passing the checker
(surveyor.grounding.check_cited, counted before unsupported ones are dropped; bar: >= 95%) and
seconds per digest. A last digest over the whole of 2025 checks that no featured paper comes back.

The home is only read (plus its evidence-card cache): digest files and the history go to a
temporary folder, so the home's own digest history is never touched.

    python bench/digest.py [--home /tmp/bench-home] [--llm none] [--n 5] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from surveyor.index.catalog import Catalog  # noqa: E402
from surveyor.settings import load_settings  # noqa: E402
from surveyor.write.digest import (  # noqa: E402
    build_digest,
    date_precision,
    first_version_day,
    record_history_of,
    week_of,
    write_digest,
)

YEAR = 2025
WEEKS = 6


def busiest_weeks(settings, year: int = YEAR, count: int = WEEKS) -> list[tuple[date, int]]:
    """(Monday, papers) of the `count` weeks of `year` with the most papers dated to the day; ties: earlier first."""
    catalog = Catalog(settings.index_dir)
    try:
        weeks: Counter = Counter()
        for record in catalog.papers():
            day = first_version_day(record)
            if day and date_precision(record) == "day" and week_of(day)[0].year == year:
                weeks[week_of(day)[0]] += 1
    finally:
        catalog.close()
    ranked = sorted(weeks.items(), key=lambda item: (-item[1], item[0]))[:count]
    return sorted(ranked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("SURVEYOR_HOME", "/tmp/bench-home"))
    parser.add_argument("--llm", default="none", help="none (default) | embedded | auto | ollama:MODEL")
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--keep", default=None, help="write the digests here instead of a temporary folder")
    args = parser.parse_args()

    settings = load_settings(args.home)
    if not (settings.index_dir / "catalog.sqlite").is_file():
        print(f"bench/digest.py: no corpus at {settings.home}", file=sys.stderr)
        return 2
    weeks = busiest_weeks(settings)
    if not weeks:
        print(f"bench/digest.py: no {YEAR} papers dated to the day in {settings.home}", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="surveyor-digest-bench-")
    out = Path(args.keep) if args.keep else Path(tmp.name) / "digests"
    history = out / "history.json"
    print(f"home {settings.home}; llm {args.llm}; n {args.n}; output {out}")
    print(f"weeks ({YEAR}, most corpus papers): " + ", ".join(f"{w} ({c})" for w, c in weeks))
    print()
    header = f"{'week':<12}{'corpus':>7}{'picks':>6}{'inside':>8}{'repeats':>8}{'cited':>7}{'passed':>7}{'share':>8}{'sec':>7}"
    print(header)
    featured: set[str] = set()
    totals = Counter()
    seconds: list[float] = []
    rows = [(w, w + timedelta(days=6), str(w), c) for w, c in weeks]
    rows.append((date(YEAR, 1, 1), date(YEAR, 12, 31), f"all {YEAR}", None))
    for since, until, label, corpus_count in rows:
        started = time.perf_counter()
        result = build_digest(settings, since, until, n=args.n, llm_spec=args.llm, history_path=history)
        write_digest(settings, result, out_dir=out, command="bench/digest.py")
        record_history_of(result)
        elapsed = time.perf_counter() - started
        ids = [p.arxiv_id for p in result.picks]
        inside = sum(1 for p in result.picks
                     if date_precision(p.record) == "day" and since <= first_version_day(p.record) <= until)
        repeats = sum(1 for i in ids if i in featured)
        featured.update(ids)
        cited, passed = result.cited_checks()
        share = f"{passed / cited:.1%}" if cited else "-"
        inside_share = f"{inside / len(ids):.0%}" if ids else "-"
        print(f"{label:<12}{corpus_count if corpus_count is not None else '':>7}{len(ids):>6}{inside_share:>8}"
              f"{repeats:>8}{cited:>7}{passed:>7}{share:>8}{elapsed:>7.1f}")
        totals.update(picks=len(ids), inside=inside, repeats=repeats, cited=cited, passed=passed)
        if corpus_count is not None:
            seconds.append(elapsed)
        for pick in result.picks:
            print(f"    {pick.arxiv_id:<12} {pick.record.meta.published[:10]}  {pick.topic.name:<14} "
                  f"{(pick.record.meta.title or '')[:60]}")
        if not result.picks or len(result.picks) < args.n:
            print(f"    message: {result.message}")
    print()
    inside_share = totals["inside"] / totals["picks"] if totals["picks"] else 1.0
    cited_share = totals["passed"] / totals["cited"] if totals["cited"] else 0.0
    print(f"picks                      {totals['picks']}")
    print(f"inside window              {inside_share:.1%}  (bar: 100%)")
    print(f"repeats                    {totals['repeats']}  (bar: 0)")
    print(f"cited sentences passing    {cited_share:.1%} of {totals['cited']}  (bar: >= 95%)")
    print(f"seconds per weekly digest  mean {sum(seconds) / len(seconds):.1f}, first {seconds[0]:.1f}, "
          f"max {max(seconds):.1f}")
    ok = inside_share == 1.0 and totals["repeats"] == 0 and cited_share >= 0.95
    print("PASS" if ok else "FAIL")
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
