"""Search over a project's index: dense, BM25, or both fused; filters applied inside each search. The
keyword half runs inside the store's engine when the store ranks keywords itself (``stores/keywords.py``),
else on ragtune's BM25 index beside it.

A filtered dense search asks the store for an unfiltered top list large enough to hold the top n matching
chunks and keeps those the BM25 index's metadata columns allow; it asks the store to filter only when the
filter is too selective for that, or the oversampled list held too few matches. Chroma's own filtered query
cost 26x its unfiltered one at 100k chunks (bench/search_scaling: 237 ms against 9 ms for a 25% filter),
most of it spent collecting the matching ids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

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
OVERSAMPLE = 2.0
"""A filtered dense search fetches this many times the unfiltered list expected to hold the top n matches."""
MAX_POST_FILTER = 1000
"""Above this many fetched chunks the store's own filter is cheaper (a filter keeping under ~10% of 50)."""


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
        local_bm25 = mode in ("bm25", "hybrid") and self.keywords is None
        if local_bm25:
            self._ensure_bm25()
        mask = None
        if local_bm25 or (where and self.keywords is None and self.bm25.exists()):
            self.bm25.warm_up()  # once per query: the mask and the positions it is read with agree
            mask = self.bm25.filter_mask(where) if where else None
        if mode in ("dense", "hybrid"):
            rankings["dense"] = self._dense(self.embedder.embed([query])[0], n, where, mask)
        if mode in ("bm25", "hybrid") and self.keywords is not None:
            rankings["bm25"] = self.keywords.keyword_query(query, n, where)
        elif local_bm25:
            if where and mask is None:  # a condition the index's columns cannot answer as the store would
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

    def _dense(self, vector: np.ndarray, n: int, where: Sequence[Condition],
               mask: np.ndarray | None) -> list[tuple[str, float]]:
        """The top n chunks matching ``where`` by cosine, ties in chunk id order (so both ways of filtering
        agree): filtered here by ``mask`` when it is in step with the store (the index is current) and the
        filter keeps enough chunks, else by the store."""
        ranked = None
        share = float(mask.mean()) if mask is not None and len(mask) else 0.0
        if mask is not None and share * MAX_POST_FILTER >= n * OVERSAMPLE and self.bm25.is_current():
            fetch = int(np.ceil(n * OVERSAMPLE / share))
            fetched = self.store.query(vector, fetch)
            kept = self.bm25.masked(fetched, mask)
            if kept is not None and (len(kept) >= n or len(fetched) < fetch):  # enough, or every chunk fetched
                ranked = kept
        if ranked is None:
            ranked = self.store.query(vector, n, where)
        return sorted(ranked, key=lambda hit: (-hit[1], hit[0]))[:n]

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
