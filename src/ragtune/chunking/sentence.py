from __future__ import annotations

from dataclasses import dataclass, field

import pysbd

from ragtune.chunking.protocol import CHUNKERS, make_chunks
from ragtune.chunking.token import token_windows
from ragtune.chunking.tokenizer import get_counter
from ragtune.component import Component
from ragtune.documents.types import Chunk, Document
from ragtune.errors import RagtuneError


@CHUNKERS.register("sentence")
@dataclass
class SentenceChunker(Component):
    """Whole sentences packed up to a token budget: the guide's pick for prose. A sentence longer
    than the budget alone is cut into token windows rather than silently truncated by the embedder."""

    max_tokens: int = 200
    """Tokens per chunk, title included (all-MiniLM-L6-v2 reads at most 256 with its two specials)."""
    overlap_sentences: int = 1
    """Sentences repeated at the start of the next chunk, so a fact at a border is whole in one."""
    tokenizer: str = "minilm"
    """Whose tokens are counted: minilm (the embedder's word pieces) or whitespace."""
    _segmenter: pysbd.Segmenter | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.max_tokens < 8:
            raise RagtuneError(f"max_tokens must be at least 8, got {self.max_tokens}")
        if self.overlap_sentences < 0:
            raise RagtuneError(f"overlap_sentences must be >= 0, got {self.overlap_sentences}")

    def sentences(self, text: str) -> list[str]:
        if self._segmenter is None:
            self._segmenter = pysbd.Segmenter(language="en", clean=False)
        out = []
        for block in text.split("\n\n"):  # paragraphs and list items never merge across blank lines
            out += [s.strip() for s in self._segmenter.segment(block) if s.strip()]
        return out

    def split(self, doc: Document) -> list[Chunk]:
        counter = get_counter(self.tokenizer)
        budget = max(8, self.max_tokens - (counter.count(doc.title) + 1 if doc.title else 0))
        units: list[tuple[str, int]] = []
        for s in self.sentences(doc.text):
            n = counter.count(s)
            if n <= budget:
                units.append((s, n))
            else:
                units += [(w, counter.count(w)) for w in token_windows(s, counter.offsets(s), budget, 0)]
        pieces: list[str] = []
        current: list[tuple[str, int]] = []
        for unit in units:
            # +1 per join: the newline/space between sentences can cost a token
            if current and sum(n + 1 for _, n in current) + unit[1] > budget:
                pieces.append(" ".join(s for s, _ in current))
                keep = current[-self.overlap_sentences:] if self.overlap_sentences else []
                while keep and sum(n + 1 for _, n in keep) + unit[1] > budget:
                    keep = keep[1:]
                current = keep
            current.append(unit)
        if current:
            pieces.append(" ".join(s for s, _ in current))
        return make_chunks(doc, pieces)
