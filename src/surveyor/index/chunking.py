"""Split a parsed paper into chunks that the embedder reads whole.

A chunk never crosses a page (citations point at pages) or a section, and never
exceeds `max_tokens` word pieces, which with its section label stays under the
embedder's 256-token limit, so no text is lost to truncation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveyor.textnorm import split_sentences

if TYPE_CHECKING:  # a type only: chunking must not load PyMuPDF
    from surveyor.index.pdfparse import ParsedPdf

SECTION_LABEL_CHARS = 80


@dataclass
class Chunk:
    text: str
    page: int
    section: str
    kind: str

    def embedding_text(self) -> str:
        return embedding_text(self.section, self.text)


def embedding_text(section: str, text: str) -> str:
    """What gets embedded: the section label gives a passage its context."""
    return f"{section[:SECTION_LABEL_CHARS]}: {text}"


def _groups(parsed: ParsedPdf):
    """Consecutive non-heading blocks of one page sharing section and kind."""
    for page in parsed.pages:
        current: list[str] = []
        key = None
        for block in page.blocks:
            if block.is_heading:
                continue
            block_key = (block.section, block.kind if block.kind != "caption" else f"caption:{id(block)}")
            if key is not None and block_key != key and current:
                yield page.number, key[0], key[1].split(":")[0], current
                current = []
            key = block_key
            current.append(block.text)
        if current and key is not None:
            yield page.number, key[0], key[1].split(":")[0], current


def _split_long(sentence: str, limit: int, count: Callable[[list[str]], list[int]]) -> list[str]:
    """A 'sentence' longer than the limit (a table row dump, a list) is cut at word boundaries."""
    words = sentence.split()
    pieces, current = [], []
    for word in words:
        current.append(word)
        if len(current) % 16 == 0 and count([" ".join(current)])[0] > limit:
            current.pop()
            pieces.append(" ".join(current))
            current = [word]
    if current:
        pieces.append(" ".join(current))
    # The 16-word stride can overshoot; halve anything still too long.
    out = []
    for piece in pieces:
        while count([piece])[0] > limit:
            half = piece.split()
            cut = len(half) // 2
            out.append(" ".join(half[:cut]))
            piece = " ".join(half[cut:])
        out.append(piece)
    return out


def chunk_paper(parsed: ParsedPdf, count: Callable[[list[str]], list[int]], max_tokens: int = 200,
                min_tokens: int = 24) -> list[Chunk]:
    chunks: list[Chunk] = []
    for page_no, section, kind, texts in _groups(parsed):
        sentences = [s for text in texts for s in split_sentences(text)]
        if not sentences:
            continue
        sizes = count(sentences)
        pieces: list[tuple[str, int]] = []
        for sentence, size in zip(sentences, sizes):
            if size > max_tokens:
                pieces.extend((p, n) for p in _split_long(sentence, max_tokens, count) for n in count([p]))
            else:
                pieces.append((sentence, size))
        current: list[str] = []
        used = 0
        group_chunks: list[tuple[str, int]] = []
        for text, size in pieces:
            if current and used + size + 1 > max_tokens:
                group_chunks.append((" ".join(current), used))
                current, used = [], 0
            current.append(text)
            used += size + 1
        if current:
            if group_chunks and used < min_tokens and group_chunks[-1][1] + used <= max_tokens:
                prev_text, prev_used = group_chunks.pop()
                group_chunks.append((f"{prev_text} {' '.join(current)}", prev_used + used))
            else:
                group_chunks.append((" ".join(current), used))
        chunks.extend(Chunk(text, page_no, section, kind) for text, _ in group_chunks)
    return chunks
