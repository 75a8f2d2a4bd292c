"""Hard negatives from the project's own retriever: the passages it ranks highest for a query that are
not judged relevant. A candidate scoring within ``margin`` of the positive (cosine of the stored vectors,
the project's embedder) is skipped as a likely relevant passage nobody judged (a false negative), as
sentence-transformers' ``mine_hard_negatives`` does with its margins; rows short of negatives are filled
with random passages of other documents, since the loss needs the same number on every row."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from ragtune.documents.types import Chunk
from ragtune.errors import RagtuneError
from ragtune.finetune.retriever.pairs import Pair, Query
from ragtune.retrieval.retriever import Retriever
from ragtune.stores.protocol import VectorStore


def doc_of(chunk_id: str) -> str:
    return chunk_id.rsplit("#", 1)[0]  # chunk ids are "<doc id>#<n>"


def mine_pairs(queries: Sequence[Query], retriever: Retriever, negatives: int = 4, margin: float = 0.05,
               depth: int = 30, mode: str = "hybrid", seed: int = 0,
               progress: Callable[[int], None] = lambda n: None) -> list[Pair]:
    """One pair per query and relevant document that is in the index, each with ``negatives`` negatives."""
    store = retriever.store
    docs = sorted(store.documents())
    if len(docs) < negatives + 2:
        raise RagtuneError(f"the index holds {len(docs)} document(s): too few to mine {negatives} hard negatives per "
                           f"query (at least {negatives + 2} documents are needed); ingest more of the corpus")
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for q in queries:
        ranked = [cid for cid, _, _ in retriever.rank(q.text, depth, mode)]
        ranked_chunks = {c.chunk_id: c for c in store.get(ranked)}
        qvec = retriever.embedder.embed([q.text])[0]
        # the stored vectors' cosines (no passage embedded again); a chunk beyond the dense list scores at most its last
        dense = dict(store.query(qvec, 3 * depth))
        ceiling = min(dense.values()) if len(dense) == 3 * depth else -1.0
        for doc, positive in _positives(q, ranked, ranked_chunks, store):
            pos_text = q.positive_text if q.positive_text is not None else positive.indexed_text
            pos_score = (dense[positive.chunk_id] if q.positive_text is None and positive.chunk_id in dense
                         else float(retriever.embedder.embed([pos_text])[0] @ qvec))
            chosen = [ranked_chunks[c].indexed_text for c in ranked if c in ranked_chunks and doc_of(c) not in q.relevant
                      and dense.get(c, ceiling) < pos_score - margin]
            chosen = list(dict.fromkeys(chosen))[:negatives]  # a passage indexed twice is one negative
            chosen += _random_negatives(rng, store, docs, set(q.relevant), set(chosen), negatives - len(chosen))
            if len(chosen) < negatives:
                raise RagtuneError(f"too few documents besides the ones judged relevant to {q.query_id!r} to give it "
                                   f"{negatives} negatives; ingest more of the corpus or ask for fewer (--negatives)")
            pairs.append(Pair(query_id=q.query_id, query=q.text, positive=pos_text, positive_doc=doc,
                              negatives=chosen, source=q.source, relevant=q.relevant))
        progress(1)
    return pairs


def _positives(q: Query, ranked: list[str], chunks: dict[str, Chunk], store: VectorStore) -> list[tuple[str, Chunk]]:
    """The query's own chunk when it has one; else per relevant document its best-ranked chunk, or its
    first when the retriever missed it (a positive the base model cannot find is the one worth learning)."""
    if q.chunk_id:
        return [(doc_of(q.chunk_id), c) for c in store.get([q.chunk_id])]
    out = []
    for doc in sorted(q.relevant):
        best = next((c for c in ranked if doc_of(c) == doc and c in chunks), None)
        found = [chunks[best]] if best else store.get([f"{doc}#0"])
        out += [(doc, c) for c in found]
    return out


def _random_negatives(rng: random.Random, store: VectorStore, docs: list[str], relevant: set[str],
                      taken: set[str], n: int) -> list[str]:
    out: list[str] = []
    for doc in rng.sample(docs, len(docs)):
        if len(out) >= n:
            break
        if doc in relevant:
            continue
        for c in store.get([f"{doc}#0"]):
            if c.indexed_text not in taken:
                out.append(c.indexed_text)
                taken.add(c.indexed_text)
    return out
