"""Search over a project's index: dense, BM25, or both fused; filters applied inside each search. The
keyword half runs inside the store's engine when the store ranks keywords itself (``stores/keywords.py``),
else on ragtune's BM25 index beside it."""

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
from ragtune.stores.keywords import KeywordSearch
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
    rerank_fusion: float = 0.0
    """Weight of the first-stage order beside the re-ranker's (1) when the two are fused by reciprocal rank
    fusion; 0 keeps the re-ranker's order. A re-ranker trained on a few hundred queries can know less than the
    hybrid it reorders: fusing keeps what both know."""
    write_lock: Callable[[], AbstractContextManager] = nullcontext
    """The project's writer lock: a stale BM25 index is rebuilt only while holding it."""
    keywords: KeywordSearch | None = None
    """The store's own keyword ranking, used instead of ``bm25`` when the store has one."""

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

    def rank(self, query: str, n: int, mode: str, where: Sequence[Condition] = ()) -> list[tuple[str, float, dict]]:
        """(chunk id, score, every retriever's score) best first, without fetching any text."""
        rankings: dict[str, list[tuple[str, float]]] = {}
        if mode in ("dense", "hybrid"):
            rankings["dense"] = self.store.query(self.embedder.embed([query])[0], n, where)
        if mode in ("bm25", "hybrid") and self.keywords is not None:
            rankings["bm25"] = self.keywords.keyword_query(query, n, where)
        elif mode in ("bm25", "hybrid"):
            self._ensure_bm25()
            mask = None
            if where:
                mask = self.bm25.filter_mask(where)
                if mask is None:  # a condition the index's columns cannot answer as the store would
                    mask = self.bm25.ids_mask(self.store.ids_matching(where))
            rankings["bm25"] = self.bm25.search(query, n, mask)
        scores: dict[str, dict] = {}
        for name, ranked in rankings.items():
            for cid, score in ranked:
                scores.setdefault(cid, {})[name] = score
        if mode == "hybrid":
            order = reciprocal_rank_fusion([[cid for cid, _ in r] for r in rankings.values()], k=self.rrf_k)
            for cid, score in order:
                scores[cid]["rrf"] = score
        else:
            order = rankings[mode]
        return [(cid, score, scores[cid]) for cid, score in order]

    def search(self, query: str, k: int = 5, mode: str = "hybrid", where: Sequence[Condition] = ()) -> list[Hit]:
        if mode not in MODES:
            raise RagtuneError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if not query.strip():
            raise RagtuneError("empty query")
        n = max(k, self.candidates)
        ranked = self.rank(query, n, mode, where)
        keep = ranked[:n] if self.reranker is not None else ranked[:k]  # a re-ranker reads the top candidates
        chunks = {c.chunk_id: c for c in self.store.get([cid for cid, _, _ in keep])}
        hits = [Hit(chunks[cid], score, scores) for cid, score, scores in keep if cid in chunks]
        if self.reranker is not None:
            first_stage = [h.chunk.chunk_id for h in hits]  # before rerank(), which may reorder in place
            hits = self.reranker.rerank(query, hits)
            if self.rerank_fusion > 0:
                hits = self._fuse(first_stage, hits)
        return hits[:k]

    def _fuse(self, first_stage: list[str], reranked: list[Hit]) -> list[Hit]:
        by_id = {h.chunk.chunk_id: h for h in reranked}  # a re-ranker may also drop candidates: they stay dropped
        fused = reciprocal_rank_fusion([list(by_id), [c for c in first_stage if c in by_id]], k=self.rrf_k,
                                       weights=[1.0, self.rerank_fusion])
        for cid, score in fused:
            by_id[cid].scores["rerank_fused"] = by_id[cid].score = score
        return [by_id[cid] for cid, _ in fused]
