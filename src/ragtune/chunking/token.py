from __future__ import annotations

from dataclasses import dataclass

from ragtune.chunking.protocol import CHUNKERS, make_chunks
from ragtune.chunking.tokenizer import get_counter
from ragtune.component import Component
from ragtune.documents.types import Chunk, Document
from ragtune.errors import RagtuneError


def token_windows(text: str, offsets: list[tuple[int, int]], size: int, overlap: int) -> list[str]:
    """Windows of ``size`` tokens stepping by ``size - overlap``, cut from the original text."""
    if not offsets:
        return [text] if text.strip() else []
    out, step = [], size - overlap
    for start in range(0, len(offsets), step):
        window = offsets[start:start + size]
        out.append(text[window[0][0]:window[-1][1]])
        if start + size >= len(offsets):
            break
    return out


@CHUNKERS.register("token")
@dataclass
class TokenChunker(Component):
    max_tokens: int = 200
    """Tokens per chunk, title included (all-MiniLM-L6-v2 reads at most 256 with its two specials)."""
    overlap: int = 32
    """Tokens shared by consecutive chunks."""
    tokenizer: str = "minilm"
    """Whose tokens are counted: minilm (the embedder's word pieces) or whitespace."""

    def __post_init__(self):
        if self.max_tokens < 8:
            raise RagtuneError(f"max_tokens must be at least 8, got {self.max_tokens}")
        if not 0 <= self.overlap < self.max_tokens // 2:
            raise RagtuneError(f"overlap must be in [0, max_tokens/2), got {self.overlap}")

    def split(self, doc: Document) -> list[Chunk]:
        counter = get_counter(self.tokenizer)
        budget = max(8, self.max_tokens - (counter.count(doc.title) + 1 if doc.title else 0))
        return make_chunks(doc, token_windows(doc.text, counter.offsets(doc.text), budget,
                                              min(self.overlap, budget // 2 - 1)))
