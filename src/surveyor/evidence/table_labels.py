"""What a result table's numbers are: method, benchmark, metric and setting of each value, and which
tables are results at all. Shared benchmarks across papers for the survey's side-by-side results.

Used by `evidence.tables` (which reads the cells off the page); pure functions over text and
positions, no PDF here.

- `column_labels(header_rows, x0, x1, columns)`: the header labels over a value, top row first. A
  header cell spanning several value columns ("MSR-VTT" over "R@1 R@5") is a level of its own; a
  multi-word cell set with narrow gaps whose words sit over most of the columns it spans
  ("WVMOS↑ CER↓ SSIM↑") gives only the word over the value.
- `split_labels(labels, caption)` → (benchmark, metric, setting): labels that are metric names
  (Acc, F1, R@1, pass@1) give the metric, shot counts and decoding modes ("5-shot", "CoT") the
  setting, the rest the benchmark (upper levels first); a missing benchmark or metric comes from
  the caption ("... on the GLUE benchmark").
- `transposed(row_labels, column_labels, own)`: True when the methods are the columns: most row
  labels name a metric, or a column (not a row) names the paper's own method or "Ours", or
  most of two or more distinct lowest column labels are model sizes ("7B", "13b") while rows are not.
- `non_result(caption, labels, values, text_cells)` → the reason a table is not a result table,
  or "": its caption's first sentence names statistics, hyper-parameters, prompts, examples,
  lengths or data sizes and no result word; or it is only a noun phrase naming datasets; or most
  of its column labels are sizes/counts/hours with no metric among them nor a result word in the
  caption; or fewer than half its
  cells after the row label are numbers (prompt examples, text tables); or every value is a
  bare integer and neither caption nor header names a metric (counts, not scores).
- `own_names(title, abstract)`: the paper's method names (the title's "Name:" head, words with two
  capitals, "we propose/introduce NAME" in the abstract).
- `benchmark_key(name)` → (key, setting): "MMLU (5-shot)" → ("mmlu", "5-shot"), "GSM-8K" → ("gsm8k",
  ""), "HumanEval+" → ("humaneval+", ""); case, spaces, dashes, dots and underscores do not count.
- `shared_benchmarks(rows_by_paper: Mapping[str, Iterable[ResultRow]], min_papers: int = 2)
  -> list[BenchmarkGroup]`: rows of several papers grouped by (benchmark key, metric key), only
  groups with rows from at least `min_papers` papers, most papers first. Each `BenchmarkGroup` has
  `key`, `benchmark` (the name as most rows print it), `metric`, `papers` (ids, sorted) and `rows`
  (list of (paper_id, ResultRow)); rows without a benchmark are left out.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from surveyor.textnorm import collapse

if TYPE_CHECKING:  # ResultRow lives in evidence.tables, which imports this module
    from surveyor.evidence.tables import ResultRow

METRIC = re.compile(r"\b(?:acc(?:uracy)?|f1|em|bleu|rouge(?:-\w+)?|wer|cer|fid|psnr|ssim|lpips|mos|\w*mos|"
                    r"spider|cider|map|map@\d+|recall(?:@\d+)?|r@\d+|precision|auc|score|perplexity|ppl|"
                    r"pass@\d+|win rate|success(?: rate)?|latency|rtf|error|loss|corr\.?|spearman|pearson|"
                    r"avg|average|exact match|top-?[15]|mdr|medr|meteor|bertscore|elo|wr|"
                    r"maj@\d+|avg@\d+|mean@\d+|em@\d+|hit@\d+|ndcg(?:@\d+)?|mrr)\b", re.IGNORECASE)
_SETTING = re.compile(r"\b(?:\d+-shot|zero-shot|few-shot|one-shot|0-shot|cot|w/o cot|greedy|sampling|"
                      r"maj@\d+|pass@\d+|avg@\d+|\d+k?\s*tokens?)\b", re.IGNORECASE)
_SIZE = re.compile(r"^(?:\d+(?:\.\d+)?\s*[KMBT]|#\s*\w+|size|params?\.?|#?params|hours?|\(h\)|\w+ \[h\]|"
                   r"tokens?|samples?|examples?|#?\s*(?:train|dev|test|val)|length|license|source|lang(?:uage)?)$",
                   re.IGNORECASE)
_MODEL_SIZE = re.compile(r"\b\d+(?:\.\d+)?\s*[BM]\b", re.IGNORECASE)
_NOT_RESULTS = re.compile(
    r"\b(?:statistics|stats|hyper-?parameters?|hyperparams?|configurations?|prompts?|templates?|examples?|"
    r"instructions?|notations?|annotations?|lengths?|data ?sizes?|amount of|number of|details|overview|summary|"
    r"licen[cs]es?|training data|training (?:settings|setup)|composition|distribution|breakdown of (?:the )?data)\b",
    re.IGNORECASE)
_RESULTS = re.compile(r"\b(?:results?|performance|accuracy|comparisons?|compar\w+|evaluat\w+|scores?|win ?rates?|"
                      r"ablations?|outperform\w*|improve\w*|error|wer|bleu|f1|pass@\d+|effect|impact)\b",
                      re.IGNORECASE)
_DATA_PHRASE = re.compile(r"^[\w\s,&/-]{0,60}\b(?:datasets?|corpora|data)$", re.IGNORECASE)
_OURS = re.compile(r"\bours\b|\(our\b|\bour (?:method|model|approach)\b", re.IGNORECASE)


# =========================================================================== header → labels


def column_labels(header_rows: list[list[tuple]], x0: float, x1: float,
                  columns: list[tuple[float, float]]) -> list[str]:
    """The labels over a value at x0..x1, one per header row, top row first. Header cells are
    (x0, x1, text, bold, words); `columns` are the table's value columns (x0, x1)."""
    centre = (x0 + x1) / 2
    out: list[str] = []
    for row in header_rows:
        over = [h for h in row if min(x1, h[1]) - max(x0, h[0]) > -2]
        if not over:
            near = min(row, key=lambda h: abs((h[0] + h[1]) / 2 - centre), default=None)
            over = [near] if near is not None and abs((near[0] + near[1]) / 2 - centre) <= 30 else []
        if not over:
            continue
        cell = max(over, key=lambda h: min(x1, h[1]) - max(x0, h[0]))
        words = cell[4]
        spanned = [c for c in columns if min(c[1], cell[1]) - max(c[0], cell[0]) > -2]
        aligned = sum(any(c[0] - 3 <= (w[0] + w[1]) / 2 <= c[1] + 3 for w in words) for c in spanned)
        if len(words) > 1 and len(spanned) > 1 and aligned * 5 >= len(spanned) * 3:
            out.append(min(words, key=lambda w: abs((w[0] + w[1]) / 2 - centre))[2])  # packed headers
        else:
            out.append(cell[2])
    return [label for i, label in enumerate(out) if label and label not in out[:i]]


def _clean(label: str) -> str:
    return collapse(re.sub(r"[↑↓⇑⇓]|\((?:↑|↓|higher|lower)[^)]*\)", " ", label)).strip(" .:")


def is_metric(label: str) -> bool:
    """A label that is only metric names: "Acc", "Top-1 Accuracy (%)", "R@1", "Exact Match"."""
    words = _clean(re.sub(r"\(%\)|%|\(ø\)", " ", label)).split()
    return bool(words) and all(METRIC.fullmatch(w) or w.lower() in {"mean", "acc.", "avg.", "match"} for w in words)


def _metric_like(label: str) -> bool:
    """A row label that names a metric among a few words ("Exact 5-best Match %", "Pairwise acc."), for
    telling a table whose rows are metrics."""
    return bool(METRIC.search(label)) and len(label.split()) <= 5


def split_labels(labels: list[str], caption: str) -> tuple[str, str, str]:
    """(benchmark, metric, setting) from a value's header labels (top first) and its table's caption."""
    bench, metric, setting = [], "", []
    for raw in labels:
        label = _clean(raw)
        paren = re.search(r"\(([^()]*)\)\s*$", label)
        if paren:
            inner = paren.group(1).strip()
            if is_metric(inner):
                metric, label = inner, label[: paren.start()].strip()
            elif _SETTING.search(inner):
                setting.append(inner)
                label = label[: paren.start()].strip()
        if not label:
            continue
        if is_metric(label):
            metric = label
        elif _SETTING.fullmatch(label):
            setting.append(label)
        else:
            bench.append(label)
    benchmark = " ".join(bench) or caption_benchmark(caption)
    if not metric:
        found = METRIC.search(caption)
        metric = found.group(0) if found else ""
    return benchmark, metric, ", ".join(dict.fromkeys(setting))


def caption_benchmark(caption: str) -> str:
    """The benchmark a caption names: "... on the dev sets of the GLUE benchmark" → GLUE."""
    for pattern in (r"(?:the|on|of)\s+([A-Z][\w\-.]*[A-Z0-9][\w\-.]*)\s+(?:benchmark|dataset|test|dev|validation)",
                    r"\bon\s+(?:the\s+)?(?:[a-z-]+\s+){0,3}(?:sets?|splits?|subsets?)\s+of\s+(?:the\s+)?"
                    r"([A-Z][\w\-.]*[A-Z0-9][\w\-.]*)",
                    r"\b(?:of|on)\s+([A-Z][\w\-.]*[A-Z0-9][\w\-.]*)\s+(?:results|performance|scores?|evaluation)",
                    r"\bon\s+(?:the\s+)?([A-Z][\w\-.]*[A-Z0-9][\w\-.]*)"):
        found = re.search(pattern, caption)
        if found:
            return found.group(1).rstrip(".")
    return ""


# =========================================================================== orientation, kind, own method


def names_own(text: str, own: list[str]) -> bool:
    return bool(_OURS.search(text)) or any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in own)


def transposed(row_labels: list[str], col_labels: list[list[str]], own: list[str]) -> bool:
    rows = list(dict.fromkeys(row_labels))
    cols = list(dict.fromkeys(" ".join(c) for c in col_labels))
    lowest = list(dict.fromkeys(c[-1] for c in col_labels if c))
    if not rows or not cols:
        return False
    if sum(_metric_like(r) for r in rows) * 2 >= len(rows) and not any(is_metric(c) for c in cols):
        return True
    if any(names_own(c, own) for c in cols) and not any(names_own(r, own) for r in rows):
        return True
    sized = lambda labels: sum(bool(_MODEL_SIZE.search(x)) for x in labels) * 2 >= len(labels)  # noqa: E731
    return len(lowest) >= 2 and sized(lowest) and not sized(rows)


def non_result(caption: str, labels: list[str], values: list[str], text_cells: int) -> str:
    """Why the table is not a result table ("" when it is one)."""
    body = re.sub(r"^\s*Table\s+[A-Z]?\d+\s*[:.|]\s*", "", caption, flags=re.IGNORECASE)
    first = re.split(r"(?<=[a-z0-9)])\.\s", body, maxsplit=1)[0].strip(" .")
    if _NOT_RESULTS.search(first) and not _RESULTS.search(first):
        return "caption names statistics, settings, prompts or examples"
    if first and _DATA_PHRASE.fullmatch(first) and not _RESULTS.search(first):
        return "caption names datasets"
    distinct = list(dict.fromkeys(_clean(x) for x in labels if x))
    if distinct and not any(is_metric(x) for x in distinct) and not _RESULTS.search(first) \
            and sum(bool(_SIZE.match(x)) for x in distinct) * 2 > len(distinct):
        return "header names sizes or counts"
    if values and text_cells > len(values):
        return "mostly text cells"
    metric_named = METRIC.search(caption) or any(is_metric(x) or METRIC.search(x) for x in distinct)
    if values and all(re.fullmatch(r"[\d,]+", v.strip()) for v in values) and not metric_named \
            and not _RESULTS.search(caption):
        return "bare counts"
    return ""


def own_names(title: str, abstract: str = "") -> list[str]:
    """The paper's declared names: "DistilBERT, a distilled ..." → DistilBERT; "LATS: ..." → LATS;
    "we propose ReFT" in the abstract → ReFT."""
    head = re.split(r"[:,]", title, maxsplit=1)[0].strip() if re.search(r"[:,]", title) else ""
    names = [head] if head and len(head.split()) <= 2 else []
    names += [w for w in re.findall(r"\b[\w-]+\b", title) if sum(c.isupper() for c in w) >= 2 and len(w) >= 3]
    names += re.findall(r"\b(?:propose|introduce|present|call|name|dub|term)[sd]?\s+(?:it\s+|a\s+|an\s+|the\s+)?"
                        r"(?:[\w-]+\s+){0,5}?(?:called\s+|named\s+|dubbed\s+|termed\s+)?\(?([A-Z][\w-]*[A-Z0-9][\w-]*)",
                        abstract or "")
    return list(dict.fromkeys(n for n in names if n and len(n) >= 3 and not METRIC.fullmatch(n)))


# =========================================================================== across papers


def benchmark_key(name: str) -> tuple[str, str]:
    """(key, setting): the benchmark as compared across papers, and the setting its name carried."""
    name = collapse(name)
    settings = [m.group(0) for m in _SETTING.finditer(name)]
    base = _SETTING.sub(" ", name)
    base = re.sub(r"\(\s*[,;/]*\s*\)|\[\d+\]", " ", base)  # emptied brackets, citation marks
    key = re.sub(r"[\s\-_.,:;()\[\]'\"’]+", "", base.lower())
    return key, ", ".join(s.lower() for s in settings)


def metric_key(metric: str) -> str:
    key = re.sub(r"[\s\-_.()%]+", "", collapse(metric).lower())
    return {"acc": "accuracy", "avg": "average", "top1": "top1accuracy", "top1acc": "top1accuracy",
            "exactmatch": "em"}.get(key, key)


@dataclass
class BenchmarkGroup:
    key: str
    benchmark: str
    metric: str
    papers: list[str] = field(default_factory=list)
    rows: list[tuple[str, ResultRow]] = field(default_factory=list)


def shared_benchmarks(rows_by_paper: Mapping[str, Iterable[ResultRow]], min_papers: int = 2) -> list[BenchmarkGroup]:
    """The benchmarks (with metric) that at least `min_papers` papers report, each with every paper's rows."""
    groups: dict[tuple[str, str], list[tuple[str, ResultRow]]] = {}
    for paper, rows in rows_by_paper.items():
        for row in rows:
            key, _setting = benchmark_key(row.benchmark)
            if key:
                groups.setdefault((key, metric_key(row.metric)), []).append((paper, row))
    out = []
    for (key, _metric), members in groups.items():
        papers = sorted({p for p, _ in members})
        if len(papers) >= min_papers:
            name = Counter(r.benchmark for _, r in members).most_common(1)[0][0]
            metric = Counter(r.metric for _, r in members).most_common(1)[0][0]
            out.append(BenchmarkGroup(key, name, metric, papers, members))
    return sorted(out, key=lambda g: (-len(g.papers), g.key))
