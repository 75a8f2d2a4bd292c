"""Pinecone through its official SDK. It cannot be reached from the machine this was built on: the
tests check the requests the SDK sends (offline, against a loopback capture) and the filter
translation, not Pinecone's answers."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragtune.documents.types import RESERVED_SUFFIX, Chunk
from ragtune.errors import RagtuneError
from ragtune.stores.filters import RANGE_OPS, Condition, date_ordinal, is_date
from ragtune.stores.protocol import STORES, DocState, Page, StoreBase
from ragtune.stores.records import doc_states, to_chunk, to_metadata, to_page

TEXT_KEY = "_text"  # Pinecone keeps no document text of its own: the chunk's text rides in its metadata
_OPS = {"=": "$eq", "!=": "$ne", ">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}
_ALL = {"doc_id": {"$exists": True}}  # Pinecone rejects an empty filter; every chunk has a doc_id


def _one(clauses: list[dict], joiner: str) -> dict:
    return clauses[0] if len(clauses) == 1 else {joiner: clauses}


def to_filter(conditions: Sequence[Condition]) -> dict | None:
    clauses: list[dict] = []
    for c in conditions:
        if c.op in RANGE_OPS:
            key, value = (c.key + RESERVED_SUFFIX, date_ordinal(c.value)) if is_date(c.value) else (c.key, c.value)
            clauses.append({key: {_OPS[c.op]: value}})
        elif c.op == "!=":  # a chunk without the key matches, as in Chroma
            clauses.append({"$or": [{c.key: {"$exists": False}},
                                    _one([{c.key: {"$ne": v}} for v in c.alternatives()], "$and")]})
        else:
            clauses.append(_one([{c.key: {"$eq": v}} for v in c.alternatives()], "$or"))
    return _one(clauses, "$and") if clauses else None


def _chunk(chunk_id: str, meta: dict) -> Chunk:
    meta = dict(meta)
    return to_chunk(chunk_id, meta.pop(TEXT_KEY, ""), meta)


@STORES.register("pinecone")
@dataclass
class PineconeStore(StoreBase):
    """A Pinecone index (created beforehand with metric cosine and the embedder's dimension)."""

    index: str = ""
    """Index name; looked up through the control plane unless ``host`` is given."""
    host: str = ""
    """Index host (https://NAME-PROJECT.svc.REGION.pinecone.io); skips the name lookup."""
    namespace: str = ""
    """Namespace within the index."""
    api_key_env: str = "PINECONE_API_KEY"
    """Environment variable holding the API key (keys never go in the config)."""
    batch_size: int = 100
    """Vectors per upsert request (Pinecone caps requests at 1000 vectors and 2 MB)."""
    _index: Any = field(default=None, init=False, repr=False)

    def warm_up(self) -> None:
        self.idx  # noqa: B018  (the property opens the index)

    @property
    def idx(self):
        if self._index is None:
            from pinecone import Pinecone

            if not (self.index or self.host):
                raise RagtuneError("the pinecone store needs an index name or host")
            key = os.environ.get(self.api_key_env)
            if not key:
                raise RagtuneError(f"set {self.api_key_env} to your Pinecone API key")
            self._index = Pinecone(api_key=key).Index(name=self.index, host=self.host)
        return self._index

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        if not chunks:
            return
        metas = to_metadata(chunks, doc_hashes, doc_chunks)
        items = [{"id": c.chunk_id, "values": np.asarray(v, dtype=np.float32).tolist(),
                  "metadata": {**m, TEXT_KEY: c.text}} for c, v, m in zip(chunks, vectors, metas, strict=True)]
        for i in range(0, len(items), self.batch_size):
            self.idx.upsert(vectors=items[i:i + self.batch_size], namespace=self.namespace)

    def delete(self, doc_ids: Sequence[str]) -> None:
        for i in range(0, len(doc_ids), 500):
            self.idx.delete(filter={"doc_id": {"$in": list(doc_ids[i:i + 500])}}, namespace=self.namespace)

    def query(self, vector: np.ndarray, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        r = self.idx.query(top_k=k, vector=np.asarray(vector, dtype=np.float32).tolist(),
                           filter=to_filter(where), namespace=self.namespace)
        return [(m.id, float(m.score)) for m in r.matches]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        found = self.idx.fetch(ids=list(chunk_ids), namespace=self.namespace).vectors
        return [_chunk(i, found[i].metadata) for i in chunk_ids if i in found]

    def _pages(self, where: dict, batch_size: int) -> Iterator[dict]:
        token = None
        while True:
            r = self.idx.fetch_by_metadata(filter=where, namespace=self.namespace, limit=batch_size,
                                           pagination_token=token)
            if r.vectors:
                yield r.vectors
            token = r.pagination.next if r.pagination else None
            if not token:
                return

    def ids_matching(self, where: Sequence[Condition]) -> set[str]:
        return {i for page in self._pages(to_filter(where) or _ALL, 1000) for i in page}

    def documents(self) -> dict[str, DocState]:
        return doc_states(v.metadata for page in self._pages(_ALL, 1000) for v in page.values())

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[list[Chunk]]:
        for page in self._pages(_ALL, min(batch_size, 1000)):
            yield [_chunk(i, v.metadata) for i, v in page.items()]

    def export(self, batch_size: int = 1000) -> Iterator[Page]:
        for page in self._pages(_ALL, min(batch_size, 1000)):
            metas = [dict(v.metadata) for v in page.values()]
            texts = [m.pop(TEXT_KEY, "") for m in metas]
            yield to_page(list(page), texts, metas, [v.values for v in page.values()])

    def count(self) -> int:
        """From the index's statistics, which Pinecone updates a few seconds after a write."""
        spaces = self.idx.describe_index_stats().namespaces
        ns = spaces.get(self.namespace) or (spaces.get("__default__") if not self.namespace else None)
        return ns.vector_count if ns else 0
