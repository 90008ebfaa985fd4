"""Is this quote on this page? One answer for cards, answers, surveys and digests, and one page cache.

PDF text differs from what a reader (or a model) types in ligatures, spacing and line-end
hyphens. A line-end hyphen is ambiguous ("log-\\nmagnitude" is "log-magnitude",
"representa-\\ntion" is "representation"), so a second comparison ignores hyphens on both sides.
"""
from __future__ import annotations

import weakref

from surveyor.index.catalog import Catalog
from surveyor.textnorm import acronym, match_key


def quote_on_page(quote: str, page_text: str | None) -> bool:
    """True when the quote is on the page verbatim, up to case, spacing, ligatures and line-end hyphens."""
    if not quote or not quote.strip() or not page_text:
        return False
    quote_key, page_key = match_key(quote), match_key(page_text)
    return quote_key in page_key or quote_key.replace("-", "") in page_key.replace("-", "")


class PageTexts:
    """Page texts and a paper's own names, read once from the catalog (a check reads a page many times)."""

    _shared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, catalog: Catalog) -> "PageTexts":
        """The one cache of this catalog (writers pass the catalog around; the cache follows it)."""
        if catalog not in cls._shared:
            cls._shared[catalog] = cls(catalog)
        return cls._shared[catalog]

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._pages: dict[tuple[str, int], str | None] = {}
        self._names: dict[str, str] = {}

    def text(self, paper_id: str, page: int) -> str | None:
        """The page's text, or None when the paper or the page is not in the corpus."""
        key = (paper_id, page)
        if key not in self._pages:
            self._pages[key] = self.catalog.page_text(paper_id, page) if self.catalog.paper(paper_id) else None
        return self._pages[key]

    def names(self, paper_id: str) -> str:
        """Where a claim's names may come from besides the page: the paper's title, its initials, its abstract."""
        if paper_id not in self._names:
            record = self.catalog.paper(paper_id)
            title = (record.meta.title or record.title or "") if record else ""
            abstract = (record.meta.abstract or "") if record else ""
            self._names[paper_id] = f"{title} {acronym(title)} {abstract}"
        return self._names[paper_id]
