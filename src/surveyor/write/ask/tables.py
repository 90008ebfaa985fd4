"""Tables in a question's evidence: a flattened table's rows as quotes, and the row a superlative asks for.

PDF text flattens a table into one long "sentence" ("... Clipping, ε = 0.1 0.76 Clipping, ε = 0.2 0.82
Clipping, ε = 0.3 0.70 ..."). Its rows are short verbatim quotes of one fact each, and "which setting
gave the best score?" is answered by the row with the extreme value, which no similarity can find:
every row of the table is equally similar to the question.
"""
from __future__ import annotations

import re

from surveyor.index.bm25 import tokenize
from surveyor.textnorm import numbers_in

# A long "sentence" with this many numbers is a flattened table; its rows become quotes of their own.
TABLE_MIN_NUMBERS = 6
TABLE_ROW_MIN_CHARS = 12
ROW_MAX_CHARS = 400
_TABLE_ROW_BREAK = re.compile(r"(?<=\d)\s+(?=[A-Z][A-Za-z])")
_LAST_NUMBER = re.compile(r"([-−]?\d+(?:\.\d+)?)%?\s*$")

_HIGHEST = re.compile(r"\b(?:best|highest|largest|greatest|most|maximum|top|strongest)\b", re.IGNORECASE)
_LOWEST = re.compile(r"\b(?:lowest|smallest|least|fewest|minimum|worst)\b", re.IGNORECASE)
# Metrics where the best value is the lowest one.
_LOWER_IS_BETTER = re.compile(r"\b(?:error|errors|wer|cer|loss|perplexity|ppl|latency|fid|rmse|mae)\b",
                              re.IGNORECASE)


def table_row_quotes(text: str) -> list[str]:
    """The rows of a table that PDF text flattened into one long "sentence", as short verbatim quotes.

    "... Reflexion (Shinn et al., 2023) GPT-3.5 68.1 LATS (ours) GPT-3.5 83.8 ..." → "LATS (ours) GPT-3.5 83.8":
    a row ends at a number and the next starts with a capital. Offered only for questions that ask
    for a number: tables answer them, and a whole flattened table is no quote of any one fact.
    """
    if len(numbers_in(text)) < TABLE_MIN_NUMBERS:
        return []
    rows = [r.strip(" ,;") for r in _TABLE_ROW_BREAK.split(text)]
    return [r for r in rows if TABLE_ROW_MIN_CHARS <= len(r) <= ROW_MAX_CHARS and numbers_in(r)
            and re.search(r"[A-Za-z]{2}", r)]


def superlative(question: str) -> int:
    """+1 when the question asks for the highest value, -1 for the lowest, 0 for neither.
    'Best' is the lowest where the question's metric is an error, a loss or a latency."""
    if _LOWEST.search(question):
        return -1
    if _HIGHEST.search(question):
        return -1 if _LOWER_IS_BETTER.search(question) and re.search(r"\bbest\b", question, re.I) else 1
    return 0


def extreme_row(question: str, rows: list[str]) -> str | None:
    """The row of one table a superlative question asks for: among the rows sharing a word with the
    question ("Clipping, ε = 0.2 0.82" shares 'clipping'), the one whose last value is highest (or
    lowest). None when the question has no superlative or fewer than two rows end in a value."""
    direction = superlative(question)
    if not direction:
        return None
    words = set(tokenize(question))
    valued = [(row, float(m.group(1).replace("−", "-"))) for row in rows if (m := _LAST_NUMBER.search(row))]
    if len(valued) < 2:
        return None
    # Rows about what the question names ("Clipping, ε = ..." for 'clipping'), when some are.
    pool = [(row, value) for row, value in valued if words & set(tokenize(row))] or valued
    return max(pool, key=lambda rv: direction * rv[1])[0]
