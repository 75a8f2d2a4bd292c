"""Qdrant: a server URL at scale (sharding and replication are collection settings), or the client's
local mode in a folder. Local mode is the client's own Python re-implementation of the engine's API,
so tests through it check ragtune's translation, not the Rust server's behaviour."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from ragtune.documents.types import RESERVED_SUFFIX, Chunk
from ragtune.stores.filters import RANGE_OPS, Condition, date_ordinal, is_date
from ragtune.stores.protocol import STORES, DocState, Page, StoreBase
from ragtune.stores.records import doc_states, to_chunk, to_metadata, to_page

_RANGE = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def _point_id(chunk_id: str) -> str:
    # Qdrant ids are integers or UUIDs; the chunk id itself travels in the payload
    return str(uuid.uuid5(uuid.NAMESPACE_URL, chunk_id))


def _key(key: str) -> str:
    # user metadata lives under "m"; quoting keeps a dotted key ("source.kind") from reading as nesting
    return "m." + json.dumps(key)


def _equals(key: str, value):
    from qdrant_client import models as M

    if isinstance(value, (int, float)) and not isinstance(value, bool):  # 2 and 2.0 are equal, as in Chroma
        return M.FieldCondition(key=key, range=M.Range(gte=value, lte=value))
    return M.FieldCondition(key=key, match=M.MatchValue(value=value))


def to_filter(conditions: Sequence[Condition]):
    from qdrant_client import models as M

    if not conditions:
        return None
    must: list[Any] = []  # field conditions and nested filters
    must_not: list[Any] = []
    for c in conditions:
        if c.op in RANGE_OPS:
            key, value = (c.key + RESERVED_SUFFIX, date_ordinal(c.value)) if is_date(c.value) else (c.key, c.value)
            must.append(M.FieldCondition(key=_key(key), range=M.Range(**{_RANGE[c.op]: value})))
            continue
        any_of = [_equals(_key(c.key), v) for v in c.alternatives()]
        if c.op == "!=":  # a chunk without the key matches, as in Chroma
            must_not.extend(any_of)
        else:
            must.append(M.Filter(should=any_of))
    return M.Filter(must=must or None, must_not=must_not or None)


@STORES.register("qdrant")
@dataclass
class QdrantStore(StoreBase):
    """Qdrant behind the VectorStore protocol; filters run inside the HNSW search (pre-filtering)."""

    url: str = ""
    """Qdrant server (http://host:6333); empty for local mode in ``path``."""
    path: str = "qdrant"
    """Local-mode folder, relative to the project folder unless absolute."""
    collection: str = "chunks"
    """Collection name."""
    shards: int = 1
    """Shards of a new collection on a server cluster."""
    replicas: int = 1
    """Copies of each shard on a server cluster."""
    api_key_env: str = "QDRANT_API_KEY"
    """Environment variable holding the API key (keys never go in the config)."""
    batch_size: int = 256
    """Points per upsert request."""
    _client: Any = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)  # the collection exists
    _root: Path | None = field(default=None, init=False, repr=False)  # the folder, once bound to a project

    def bind(self, root: Path) -> Self:
        p = Path(self.path)
        self._root = p if p.is_absolute() else Path(root) / p
        return self

    def warm_up(self) -> None:
        self.client  # noqa: B018  (the property opens the client)

    @property
    def client(self):
        if self._client is None:
            from qdrant_client import QdrantClient

            if self.url:
                self._client = QdrantClient(url=self.url, api_key=os.environ.get(self.api_key_env) or None)
            else:
                self._client = QdrantClient(path=str(self._root or self.path))
        return self._client

    def _exists(self) -> bool:
        # asked again while absent: another process (an ingest beside a server) may create it
        if not self._ready:
            self._ready = self.client.collection_exists(self.collection)
        return self._ready

    def _create(self, dim: int) -> None:
        from qdrant_client import models as M

        self.client.create_collection(
            self.collection, vectors_config=M.VectorParams(size=dim, distance=M.Distance.COSINE),
            shard_number=self.shards, replication_factor=self.replicas)
        if self.url:  # a payload index makes deletes by document fast; local mode has no indexes
            self.client.create_payload_index(self.collection, _key("doc_id"), M.PayloadSchemaType.KEYWORD)
        self._ready = True

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        from qdrant_client import models as M

        if not chunks:
            return
        if not self._exists():
            self._create(int(vectors.shape[1]))
        metas = to_metadata(chunks, doc_hashes, doc_chunks)
        for i in range(0, len(chunks), self.batch_size):
            points = [M.PointStruct(id=_point_id(c.chunk_id), vector=v.tolist(),
                                    payload={"id": c.chunk_id, "text": c.text, "m": m})
                      for c, v, m in zip(chunks[i:i + self.batch_size], vectors[i:i + self.batch_size],
                                         metas[i:i + self.batch_size], strict=True)]
            self.client.upsert(self.collection, points=points, wait=True)

    def delete(self, doc_ids: Sequence[str]) -> None:
        from qdrant_client import models as M

        if not doc_ids or not self._exists():
            return
        for i in range(0, len(doc_ids), 500):
            cond = M.FieldCondition(key=_key("doc_id"), match=M.MatchAny(any=list(doc_ids[i:i + 500])))
            self.client.delete(self.collection, points_selector=M.FilterSelector(filter=M.Filter(must=[cond])),
                               wait=True)

    def query(self, vector: np.ndarray, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        if not self._exists():
            return []
        r = self.client.query_points(self.collection, query=np.asarray(vector, dtype=np.float32).tolist(),
                                     limit=k, query_filter=to_filter(where), with_payload=["id"])
        return [(p.payload["id"], float(p.score)) for p in r.points]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids or not self._exists():
            return []
        points = self.client.retrieve(self.collection, [_point_id(i) for i in chunk_ids], with_payload=True)
        by_id = {p.payload["id"]: to_chunk(p.payload["id"], p.payload["text"], p.payload["m"]) for p in points}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def _scroll(self, batch_size: int, payload, vectors: bool = False, where: Sequence[Condition] = ()):
        if not self._exists():
            return
        offset = None
        while True:
            points, offset = self.client.scroll(self.collection, scroll_filter=to_filter(where), limit=batch_size,
                                                offset=offset, with_payload=payload, with_vectors=vectors)
            if points:
                yield points
            if offset is None:
                return

    def ids_matching(self, where: Sequence[Condition]) -> set[str]:
        return {p.payload["id"] for page in self._scroll(5000, ["id"], where=where) for p in page}

    def documents(self) -> dict[str, DocState]:
        return doc_states(p.payload["m"] for page in self._scroll(5000, ["m"]) for p in page)

    def iter_chunks(self, batch_size: int = 5000) -> Iterator[list[Chunk]]:
        for page in self._scroll(batch_size, True):
            yield [to_chunk(p.payload["id"], p.payload["text"], p.payload["m"]) for p in page]

    def export(self, batch_size: int = 2000) -> Iterator[Page]:
        for page in self._scroll(batch_size, True, vectors=True):
            yield to_page([p.payload["id"] for p in page], [p.payload["text"] for p in page],
                          [p.payload["m"] for p in page], [p.vector for p in page])

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count if self._exists() else 0
