"""Search over a project's index: dense, BM25, or both fused; filters applied inside each search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from ragtune.documents.types import Hit
from ragtune.embedding.protocol import Embedder
from ragtune.errors import RagtuneError
from ragtune.retrieval.bm25 import BM25Index
from ragtune.retrieval.fusion import reciprocal_rank_fusion
from ragtune.retrieval.rerank import Reranker
from ragtune.stores.filters import Condition
from ragtune.stores.protocol import VectorStore

MODES = ("dense", "bm25", "hybrid")


@dataclass
class Retriever:
    store: VectorStore
    bm25: BM25Index
    embedder: Embedder
    candidates: int = 50
    rrf_k: int = 60
    reranker: Reranker | None = None
    write_lock: Callable[[], AbstractContextManager] = nullcontext
    """The project's writer lock: a stale BM25 index is rebuilt only while holding it."""

    def _ensure_bm25(self) -> None:
        if self.bm25.is_current():
            return
        try:
            with self.write_lock():
                if not self.bm25.is_current():  # after an interrupted ingest
                    self.bm25.rebuild(self.store.iter_chunks())
        except RagtuneError:
            # An ingest is running and rebuilds BM25 when it ends; until then the last index serves.
            if not self.bm25.exists():
                raise

    def _dense(self, query: str, n: int, where: Sequence[Condition]) -> list[Hit]:
        return self.store.query(self.embedder.embed([query])[0], n, where)

    def _bm25(self, query: str, n: int, where: Sequence[Condition]) -> list[Hit]:
        self._ensure_bm25()
        allowed = self.store.ids_matching(where) if where else None
        ranked = self.bm25.search(query, n, allowed)
        chunks = {c.chunk_id: c for c in self.store.get([cid for cid, _ in ranked])}
        return [Hit(chunks[cid], s, {"bm25": s}) for cid, s in ranked if cid in chunks]

    def search(self, query: str, k: int = 5, mode: str = "hybrid", where: Sequence[Condition] = ()) -> list[Hit]:
        if mode not in MODES:
            raise RagtuneError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if not query.strip():
            raise RagtuneError("empty query")
        n = max(k, self.candidates)
        if mode == "dense":
            hits = self._dense(query, n, where)
        elif mode == "bm25":
            hits = self._bm25(query, n, where)
        else:
            dense, sparse = self._dense(query, n, where), self._bm25(query, n, where)
            by_id = {h.chunk.chunk_id: h for h in sparse}
            for h in dense:  # keep both scores on the fused hit
                if h.chunk.chunk_id in by_id:
                    by_id[h.chunk.chunk_id].scores.update(h.scores)
                else:
                    by_id[h.chunk.chunk_id] = h
            fused = reciprocal_rank_fusion([[h.chunk.chunk_id for h in dense], [h.chunk.chunk_id for h in sparse]],
                                           k=self.rrf_k)
            hits = []
            for cid, score in fused:
                h = by_id[cid]
                h.scores["rrf"] = score
                hits.append(Hit(h.chunk, score, h.scores))
        if self.reranker is not None:
            hits = self.reranker.rerank(query, hits)
        return hits[:k]
