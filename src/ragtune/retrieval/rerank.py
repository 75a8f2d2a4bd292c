"""Re-rankers reorder retrieved hits. None ships offline (no cross-encoder is packaged), so the
default is off; any sentence-transformers cross-encoder folder can be configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ragtune.component import Component
from ragtune.documents.types import Hit
from ragtune.registry import Registry


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...

    def warm_up(self) -> None:
        """Load the model now rather than on the first query (idempotent)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


RERANKERS: Registry[Reranker] = Registry("reranker")


@RERANKERS.register("cross-encoder")
@dataclass
class CrossEncoderReranker(Component):
    model: str = ""
    """A sentence-transformers cross-encoder folder (or hub name, which needs network)."""
    batch_size: int = 32
    """Pairs per forward pass."""
    _model: Any = field(default=None, init=False, repr=False)

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model, device="cpu")

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        self.warm_up()
        scores = self._model.predict([(query, h.chunk.indexed_text) for h in hits], batch_size=self.batch_size)
        for h, s in zip(hits, scores, strict=True):
            h.scores["rerank"] = float(s)
            h.score = float(s)
        return sorted(hits, key=lambda h: -h.score)


@RERANKERS.register("overlap")
@dataclass
class OverlapReranker(Component):
    """Deterministic fake: orders by the share of query words a chunk contains. For tests."""

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        words = set(query.lower().split())
        for h in hits:
            h.score = len(words & set(h.chunk.indexed_text.lower().split())) / max(1, len(words))
            h.scores["rerank"] = h.score
        return sorted(hits, key=lambda h: -h.score)
