"""The rest of a bulleted list whose head a quote states.

"... consists of two types of rewards: • Accuracy rewards: The accuracy reward model evaluates whether
the response is correct." quotes the list's head and first item; the second item ("• Format rewards:
...") comes three sentences later, after the first item's examples. A reader asked "which rewards?"
needs every item, so each following item's first sentence becomes a quote of its own.
"""
from __future__ import annotations

import re

from surveyor.textnorm import collapse, split_sentences

BULLET = "•"
ITEMS_MAX = 4        # items quoted after the head
ITEM_GAP_CHARS = 1200  # a bullet further than this from the previous one belongs to another list
ITEM_MAX_CHARS = 400   # an item's first sentence longer than this is not a quotable line
_BULLET = re.compile(rf"{BULLET}\s*")


def opens_list(quote: str) -> bool:
    """True when the quote is a list's head or one of its items: it holds a bullet or ends on a colon."""
    text = quote.rstrip()
    return BULLET in text or text.endswith(":")


def following_items(quote: str, chunk_texts: list[str]) -> list[str]:
    """First sentences of the list items that follow `quote` on its page (the page's chunk texts, in
    reading order), each verbatim from the page; [] when the quote opens no list or is not found."""
    if not opens_list(quote):
        return []
    page = collapse(" ".join(chunk_texts))
    start = page.find(collapse(quote))
    if start < 0:
        return []
    position = start + len(collapse(quote))
    items: list[str] = []
    for match in _BULLET.finditer(page, position):
        if match.start() - position > ITEM_GAP_CHARS or len(items) >= ITEMS_MAX:
            break
        sentences = split_sentences(page[match.start():])
        if not sentences:
            break
        first = sentences[0]
        # The item's first sentence, cut at the next bullet when the item is a single phrase.
        nxt = first.find(BULLET, 1)
        item = (first[:nxt] if nxt > 0 else first).strip()
        if len(item) <= ITEM_MAX_CHARS and len(item) > len(BULLET) + 3:
            items.append(item)
        position = match.start() + max(1, len(item))
    return items
