"""Qdrant: a server URL at scale (sharding and replication are collection settings), or the client's
local mode in a folder. Local mode is the client's own Python re-implementation of the engine's API,
so tests through it check ragtune's translation, not the Rust server's behaviour.

Keyword search runs in Qdrant too, local mode included: each chunk's indexed text, in ragtune's own
words (``stores/tokenizer.py``), becomes a sparse vector of BM25's term-frequency part, and the
collection's IDF modifier supplies the rest from the collection's own statistics at query time, so no
BM25 index is held beside the engine. A stored vector cannot follow the corpus's average chunk length,
so lengths are normalised against ``keyword_avg_len`` (as Qdrant's own BM25 normalises against a set
average); with the corpus's true average the scores equal ragtune's BM25."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from ragtune.documents.types import RESERVED_SUFFIX, Chunk
from ragtune.stores.filters import RANGE_OPS, Condition, date_ordinal, is_date
from ragtune.stores.keywords import K1, KEYWORD_SEARCH, B, made_before_keywords
from ragtune.stores.protocol import STORES, DocState, Page, StoreBase
from ragtune.stores.records import doc_states, to_chunk, to_metadata, to_page
from ragtune.stores.tokenizer import tokenize

_RANGE = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
KEYWORDS = "keywords"  # the sparse vector's name; the dense vector is the unnamed one
DENSE = ""


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


def _term(token: str) -> int:
    # a sparse vector's dimensions are 32-bit integers: a stable hash of the word, as Qdrant's own BM25
    # hashes words (two words sharing a hash count as one, rare in a vocabulary well below 2^32)
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "big")


def term_counts(texts: list[str]) -> list[Counter[int]]:
    """Each text's words (repeats counted) as sparse-vector dimensions."""
    tokenized = tokenize(texts)
    words = {i: _term(t) for t, i in tokenized.vocab.items()}
    return [Counter(words[i] for i in ids) for ids in tokenized.ids]


def document_vector(counts: Counter[int], avg_len: float):
    """BM25's term-frequency part (bm25s's, Lucene's variant) of each word of a chunk; the collection's
    IDF modifier multiplies in each word's IDF at query time."""
    from qdrant_client import models as M

    norm = K1 * (1 - B + B * sum(counts.values()) / avg_len)
    terms = sorted(counts)
    return M.SparseVector(indices=terms, values=[counts[t] / (counts[t] + norm) for t in terms])


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


@KEYWORD_SEARCH.register("qdrant")
@STORES.register("qdrant")
@dataclass
class QdrantStore(StoreBase):
    """Qdrant behind the VectorStore protocol; filters run inside the HNSW search (pre-filtering) and
    the keyword search."""

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
    keyword_avg_len: float = 80.0
    """Words (stop words left out) in an average chunk, which keyword search normalises a chunk's
    length against: 79 in SciFact's abstracts cut by the ``token`` chunker. Read as chunks are
    written: a change reaches the chunks written after it."""
    _client: Any = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)  # the collection exists
    _keywords: bool = field(default=False, init=False, repr=False)  # it has the keyword vector
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
        if not self._ready and self.client.collection_exists(self.collection):
            sparse = self.client.get_collection(self.collection).config.params.sparse_vectors or {}
            self._keywords = KEYWORDS in sparse
            self._ready = True
        return self._ready

    def _create(self, dim: int) -> None:
        from qdrant_client import models as M

        self.client.create_collection(
            self.collection, vectors_config=M.VectorParams(size=dim, distance=M.Distance.COSINE),
            sparse_vectors_config={KEYWORDS: M.SparseVectorParams(modifier=M.Modifier.IDF)},
            shard_number=self.shards, replication_factor=self.replicas)
        if self.url:  # a payload index makes deletes by document fast; local mode has no indexes
            self.client.create_payload_index(self.collection, _key("doc_id"), M.PayloadSchemaType.KEYWORD)
        self._ready = self._keywords = True

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        from qdrant_client import models as M

        if not chunks:
            return
        if not self._exists():
            self._create(int(vectors.shape[1]))
        metas = to_metadata(chunks, doc_hashes, doc_chunks)
        for i in range(0, len(chunks), self.batch_size):
            batch = chunks[i:i + self.batch_size]
            # a collection from before keyword search has only the dense vector
            words = term_counts([c.indexed_text for c in batch]) if self._keywords else [None] * len(batch)
            points = [M.PointStruct(id=_point_id(c.chunk_id), payload={"id": c.chunk_id, "text": c.text, "m": m},
                                    vector=v.tolist() if w is None else
                                    {DENSE: v.tolist(), KEYWORDS: document_vector(w, self.keyword_avg_len)})
                      for c, v, m, w in zip(batch, vectors[i:i + self.batch_size], metas[i:i + self.batch_size], words,
                                            strict=True)]
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

    def keyword_query(self, query: str, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        from qdrant_client import models as M

        if not self._exists() or k <= 0:
            return []
        if not self._keywords:
            raise made_before_keywords("Qdrant", self.collection)
        words = term_counts([query])[0]  # a repeated word counts again, as in ragtune's BM25
        if not words:
            return []
        terms = sorted(words)
        r = self.client.query_points(self.collection, query=M.SparseVector(indices=terms, values=[words[t] for t in terms]),
                                     using=KEYWORDS, limit=k, query_filter=to_filter(where), with_payload=["id"])
        return [(p.payload["id"], float(p.score)) for p in r.points]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids or not self._exists():
            return []
        points = self.client.retrieve(self.collection, [_point_id(i) for i in chunk_ids], with_payload=True)
        by_id = {p.payload["id"]: to_chunk(p.payload["id"], p.payload["text"], p.payload["m"]) for p in points}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def _scroll(self, batch_size: int, payload, vectors: bool | list[str] = False, where: Sequence[Condition] = ()):
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
        for page in self._scroll(batch_size, True, vectors=[DENSE]):
            yield to_page([p.payload["id"] for p in page], [p.payload["text"] for p in page],
                          [p.payload["m"] for p in page], [p.vector for p in page])

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count if self._exists() else 0
