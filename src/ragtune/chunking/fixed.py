from __future__ import annotations

from dataclasses import dataclass

from ragtune.chunking.protocol import CHUNKERS, make_chunks
from ragtune.component import Component
from ragtune.documents.types import Chunk, Document
from ragtune.errors import RagtuneError


@CHUNKERS.register("fixed")
@dataclass
class FixedChunker(Component):
    size: int = 800
    """Characters per chunk (about 200 word pieces of English prose)."""
    overlap: int = 100
    """Characters shared by consecutive chunks."""

    def __post_init__(self):
        if self.size < 16:
            raise RagtuneError(f"size must be at least 16 characters, got {self.size}")
        if not 0 <= self.overlap < self.size // 2:
            raise RagtuneError(f"overlap must be in [0, size/2), got {self.overlap}")

    def split(self, doc: Document) -> list[Chunk]:
        text, pieces, start = doc.text, [], 0
        while start < len(text):
            end = min(len(text), start + self.size)
            if end < len(text):  # end on a word boundary when there is one in the last fifth
                cut = text.rfind(" ", start + self.size * 4 // 5, end)
                end = cut if cut > start else end
            pieces.append(text[start:end].strip())
            if end >= len(text):
                break
            start = max(end - self.overlap, start + 1)
        return make_chunks(doc, pieces)
