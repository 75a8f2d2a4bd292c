"""Retrieval evaluation on BEIR-format data against the project's index. Chunks are ranked, then
collapsed to documents (a document ranks where its best chunk does), as BEIR judges documents."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ragtune.errors import RagtuneError
from ragtune.evaluation.retrieval_metrics import mrr_at_k, ndcg_at_k, recall_at_k
from ragtune.retrieval.retriever import Retriever


def doc_ranking(retriever: Retriever, query: str, mode: str, depth: int) -> list[str]:
    """Documents best first. With a re-ranker, the candidates it reads come first in its order, then the
    rest of the retriever's ranking (as deep as the metrics look)."""
    chunk_ids = [cid for cid, _, _ in retriever.rank(query, max(depth * 2, retriever.candidates), mode)]
    if retriever.reranker is not None:
        top = [h.chunk.chunk_id for h in retriever.search(query, retriever.candidates, mode)]
        reread = set(top)
        chunk_ids = top + [c for c in chunk_ids if c not in reread]
    ranked: dict[str, None] = {}
    for chunk_id in chunk_ids:
        ranked.setdefault(chunk_id.rsplit("#", 1)[0], None)  # chunk ids are "<doc id>#<n>"
    return list(ranked)[:depth]


def evaluate_retrieval(retriever: Retriever, queries: dict[str, str], qrels: dict[str, dict[str, int]],
                       mode: str = "hybrid", k: int = 10, depth: int = 100,
                       progress: Callable[[int], None] | None = None) -> dict:
    judged = {d for qid in queries if qid in qrels for d, rel in qrels[qid].items() if rel > 0}
    indexed = set(retriever.store.documents())
    missing = judged - indexed
    if judged and not judged & indexed:
        raise RagtuneError(f"none of the {len(judged)} documents the qrels judge relevant is in the index "
                           f"(e.g. {min(missing)!r}); ingest the corpus the qrels refer to")
    warnings = []
    if len(missing) * 2 > len(judged):
        warnings.append(f"{len(missing)} of the {len(judged)} documents the qrels judge relevant are not in the "
                        f"index (e.g. {min(missing)!r}): the scores count them as never retrieved")
    per_query = {}
    for qid, text in queries.items():
        if qid not in qrels:
            continue
        ranked = doc_ranking(retriever, text, mode, depth)
        rel = qrels[qid]
        per_query[qid] = {f"ndcg@{k}": ndcg_at_k(ranked, rel, k), f"recall@{k}": recall_at_k(ranked, rel, k),
                          f"recall@{depth}": recall_at_k(ranked, rel, depth), f"mrr@{k}": mrr_at_k(ranked, rel, k)}
        if progress:
            progress(1)
    names = [f"ndcg@{k}", f"recall@{k}", f"recall@{depth}", f"mrr@{k}"]
    summary = {n: float(np.mean([m[n] for m in per_query.values()])) if per_query else 0.0 for n in names}
    return {"mode": mode, "queries": len(per_query), **summary, "judged_docs": len(judged),
            "judged_docs_not_indexed": len(missing), "warnings": warnings, "per_query": per_query}
