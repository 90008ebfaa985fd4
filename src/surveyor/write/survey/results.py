"""Results side by side: the topic papers' harvested result rows (surveyor.evidence.tables) on the benchmarks
that at least two topic papers report, each value cited `[id p.N Table k]` and checked on that page.

    benchmark   a row's benchmark with sizes, splits and metric words dropped ("SST-2 (67k) acc" → SST-2),
                compared by the one cross-paper key, evidence.table_labels.benchmark_key ("GSM-8K" = "gsm8k");
                headers that name no benchmark (Size, Params, Avg) are left out.
    cells       per paper and benchmark: the paper's own rows (its method) when it marks any, else its first
                rows; a value is shown only when it is on its cited page (grounding.quote_on_page, its numbers
                among the page's) and, where the row's text was kept, inside that row
    conflicts   the same method (name normalised) and metric on one benchmark with different values in
                different papers or tables: every such cell is flagged ⚠ with the other values and their tags
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict

from surveyor.evidence.table_labels import benchmark_key
from surveyor.grounding import format_citation, quote_on_page
from surveyor.render.html import md_escape, md_table
from surveyor.textnorm import collapse, numbers_in
from surveyor.write.survey.drafts import Claim, _short_title, _Writer
from surveyor.write.survey.select import Entry

MAX_BENCHMARKS = 6
MAX_ROWS = 12            # rows per benchmark
ROWS_PER_PAPER = 3       # a paper's rows per benchmark when it marks none as its own
_METRIC_WORDS = re.compile(
    r"\b(?:acc(?:uracy)?|f1|em|mcc|bleu|rouge(?:-\w+)?|wer|cer|pass@\d+|cons@\d+|top-?[15](?:\s*acc)?|"
    r"pear(?:son)?|spea(?:rman)?|r@\d+|mdr|score|avg|average|dev|val|test|validation)\b\.?", re.I)
_NOT_BENCHMARKS = frozenset(
    "size params parameters param resolution samples input data train test val dev all overall average avg "
    "model method methods ours baseline teacher student throughput latency macs flops memory speed time "
    "layers heads classes steps epochs batch lr tokens length inf full type setting answer evaluation "
    "methodology other total mean std low high medium small large base eval".split())


def benchmark_of(header: str) -> tuple[str, str] | None:
    """(key, display name) of the benchmark a column header names, or None when it names none: sizes,
    splits and metric words are dropped first ("SST-2 (67k) acc" → SST-2), then the one cross-paper key."""
    text = collapse(re.sub(r"\([^()]*\)", " ", header.replace("↑", " ").replace("↓", " ")))
    text = collapse(_METRIC_WORDS.sub(" ", text)).strip(" .,:;/|-")
    if not text or len(text.split()) > 3 or not re.search(r"[A-Za-z]", text) or re.search(r"[#%=|]", text):
        return None
    if text.lower() in _NOT_BENCHMARKS or re.fullmatch(r"[\d.\s]+\w?", text):
        return None
    key = benchmark_key(text)[0]
    return (key, text) if len(key) >= 3 else None


def _method_key(method: str) -> str:
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\(ours\)|[†‡*∗§]", "", method.lower()))


def _value_number(value: str) -> str:
    found = re.search(r"\d+(?:\.\d+)?", value.replace(",", ""))
    return found.group(0) if found else value


def _verified(row, page_text: str | None) -> bool:
    if not page_text or not quote_on_page(row.value, page_text):
        return False
    if not numbers_in(row.value) <= numbers_in(page_text):
        return False
    if row.row_text:
        return quote_on_page(row.row_text, page_text) and quote_on_page(row.value, row.row_text)
    return True


def results_section(writer: _Writer, entries: list[Entry], tables_of) -> dict:
    """The "Results side by side" section: {"md", "claims", "cells", "verified", "benchmarks"}.

    `tables_of(entry)` gives the paper's evidence.tables.PaperTables (cached per PDF)."""
    by_benchmark: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for e in entries:
        for row in tables_of(e).rows:
            found = benchmark_of(row.benchmark)
            if found is None or not re.search(r"[A-Za-z]{3,}", row.method):  # "109M 22.5B 1.0x" names no method
                continue
            by_benchmark[found[0]][e.pid].append(row)
            names.setdefault(found[0], found[1])
    # A column named like the stem of a method some table lists as a row ("Whisper" over "Whisper-large-v3")
    # compares systems, not benchmarks (a benchmark listed as a row itself, "GSM8K", is still a benchmark).
    methods = {_method_key(r.method) for papers in by_benchmark.values() for rows in papers.values() for r in rows}
    shared = sorted((k for k, papers in by_benchmark.items()
                     if len(papers) >= 2 and not any(m.startswith(k) and m != k for m in methods)),
                    key=lambda k: (-len(by_benchmark[k]), -sum(len(r) for r in by_benchmark[k].values()), k))
    by_pid = {e.pid: e for e in entries}
    claims: list[dict] = []
    blocks: list[tuple[str, list[dict]]] = []
    cells = verified = 0
    for key in shared:
        if len(blocks) >= MAX_BENCHMARKS:
            break
        picked: list[dict] = []
        for pid, rows in sorted(by_benchmark[key].items(), key=lambda item: (by_pid[item[0]].record.meta.published
                                                                            or "9999", item[0])):
            entry = by_pid[pid]
            own = [r for r in rows if r.own]
            chosen, seen = [], set()
            for r in own or rows:
                mk = (_method_key(r.method), (r.metric or "").lower())
                if mk in seen:
                    continue
                seen.add(mk)
                chosen.append(r)
                if len(chosen) >= ROWS_PER_PAPER:
                    break
            for r in chosen:
                cells += 1
                ok = _verified(r, writer._page(pid, r.page))
                verified += ok
                text = f"{r.method}: {names[key]} {r.metric} {r.value}".strip()
                claims.append(asdict(Claim("results", text, entry.cite_id, r.page, "table", ok, 1.0 if ok else 0.0,
                                           [f"value on the cited page (Table {r.table})" if ok
                                            else "value not found on the cited page"],
                                           "kept" if ok else "dropped")))
                if ok:
                    picked.append({"entry": entry, "row": r})
        if len({c["entry"].pid for c in picked}) >= 2:
            blocks.append((key, picked[:MAX_ROWS]))
    lines = ["## 5. Results side by side", ""]
    if not blocks:
        lines.append("*No benchmark is reported in the result tables of two or more topic papers (as harvested "
                     "from their text layer).*")
    conflicts = 0
    table_rows = []
    for key, picked in blocks:
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for c in picked:
            groups[(_method_key(c["row"].method), (c["row"].metric or "").lower())].append(c)
        for c in picked:
            r, e = c["row"], c["entry"]
            cell = f"{md_escape(r.value)} {format_citation(e.cite_id, r.page, table=r.table)}"
            others = [o for o in groups[(_method_key(r.method), (r.metric or "").lower())]
                      if _value_number(o["row"].value) != _value_number(r.value)]
            if others:
                conflicts += 1
                cell += " ⚠ also reported as " + ", ".join(
                    f"{md_escape(o['row'].value)} {format_citation(o['entry'].cite_id, o['row'].page, table=o['row'].table)}"
                    for o in others[:2])
            table_rows.append([md_escape(names[key]), md_escape(r.metric or "—"), md_escape(r.method), cell,
                               f"{md_escape(_short_title(e.record.title))} ({e.cite_id}, {e.year or 'n.d.'})"])
    if blocks:
        lines += [f"Benchmarks that {'at least two' if blocks else 'two'} topic papers report in their result tables, "
                  f"with each value as printed and the table it comes from ({len(table_rows)} values; "
                  f"{conflicts} flagged ⚠ where the same method and metric have different values).", "",
                  md_table(["Benchmark", "Metric", "Method", "Value", "Reported by"], table_rows)]
    return {"md": "\n".join(lines), "claims": claims, "cells": cells, "verified": verified,
            "shown": len(table_rows), "conflicts": conflicts, "benchmarks": [names[k] for k, _ in blocks]}
