"""Milvus: a cluster URI at scale (shards at collection creation, replicas at load), or Milvus Lite on
a local ``.db`` file, which is what the tests use. Milvus Lite 2.x runs Milvus's own C++ engine; 3.x
is a pure-Python rewrite whose ``!=`` drops chunks without the key, so the ``milvus`` extra pins 2.x.

Keyword search runs in Milvus too (Lite 2.5 included): its BM25 function turns each chunk's indexed
text, through the English analyzer (stemmer and stop words, as ragtune's BM25), into a sparse vector
that a BM25 index ranks, so no BM25 index is held beside the engine."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from ragtune.documents.types import RESERVED_SUFFIX, Chunk
from ragtune.errors import RagtuneError
from ragtune.stores.filters import RANGE_OPS, Condition, date_ordinal, is_date
from ragtune.stores.keywords import K1, KEYWORD_SEARCH, B, made_before_keywords
from ragtune.stores.protocol import STORES, DocState, Page, StoreBase
from ragtune.stores.records import doc_states, to_chunk, to_metadata, to_page

MAX_TEXT = 65535  # Milvus's VARCHAR limit, in bytes
MAX_ID = 2048


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _field(key: str) -> str:
    # metadata lives in one JSON field; bracket access takes any key, dotted or not
    return f"meta[{json.dumps(key, ensure_ascii=False)}]"


def to_expr(conditions: Sequence[Condition]) -> str:
    """Milvus boolean expression; empty string for no filter."""
    parts = []
    for c in conditions:
        if c.op in RANGE_OPS:
            key, value = (c.key + RESERVED_SUFFIX, date_ordinal(c.value)) if is_date(c.value) else (c.key, c.value)
            parts.append(f"{_field(key)} {c.op} {_literal(value)}")
            continue
        f = _field(c.key)
        if c.op == "!=":  # the engine lets a chunk without the key through !=, as Chroma does
            parts.append("(" + " and ".join(f"{f} != {_literal(v)}" for v in c.alternatives()) + ")")
        else:
            parts.append("(" + " or ".join(f"{f} == {_literal(v)}" for v in c.alternatives()) + ")")
    return " and ".join(parts)


def _ids_expr(field_name: str, ids: Sequence[str]) -> str:
    return f"{field_name} in {json.dumps(list(ids), ensure_ascii=False)}"


def _forget_if_deleted(target: Path) -> None:
    """milvus-lite keeps one server per database file for the life of the process, and it does not notice the
    file being deleted: a store opened again at that path would talk to a server whose database is gone (every
    upsert fails with "internal error"). With the file gone, that server is stopped so a new one starts."""
    from milvus_lite.server_manager import server_manager_instance as servers

    path = str(target.absolute().resolve())
    if not target.exists() and path in servers._servers:  # release_server warns about a path it never served
        servers.release_server(path)


@KEYWORD_SEARCH.register("milvus")
@STORES.register("milvus")
@dataclass
class MilvusStore(StoreBase):
    """Milvus behind the VectorStore protocol; filters are evaluated inside the vector search and the
    keyword search."""

    uri: str = "milvus.db"
    """http(s)://host:19530 for a server or cluster; otherwise a Milvus Lite file, relative to the
    project folder unless absolute."""
    collection: str = "chunks"
    """Collection name."""
    shards: int = 1
    """Shards of a new collection on a cluster."""
    replicas: int = 1
    """In-memory replicas the collection is loaded with on a cluster."""
    index_type: str = "AUTOINDEX"
    """Vector index (AUTOINDEX, HNSW, IVF_FLAT, FLAT...)."""
    token_env: str = "MILVUS_TOKEN"
    """Environment variable holding the token (user:password or API key); never in the config."""
    batch_size: int = 1000
    """Rows per upsert request."""
    _client: Any = field(default=None, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)  # the collection exists and is loaded
    _keywords: bool = field(default=False, init=False, repr=False)  # it has the BM25 field
    _file: str = field(default="", init=False, repr=False)  # the Milvus Lite file, once bound to a project

    def bind(self, root: Path) -> Self:
        if not self._remote:
            p = Path(self.uri)
            self._file = str(p if p.is_absolute() else Path(root) / p)
        return self

    def warm_up(self) -> None:
        self._exists()

    @property
    def _remote(self) -> bool:
        return self.uri.startswith(("http://", "https://", "tcp://"))

    @property
    def client(self):
        if self._client is None:
            from pymilvus import MilvusClient

            if self._remote:
                self._client = MilvusClient(uri=self.uri, token=os.environ.get(self.token_env, ""))
            else:
                target = Path(self._file or self.uri)
                target.parent.mkdir(parents=True, exist_ok=True)
                _forget_if_deleted(target)
                # Lite starts its server in-process: on a busy machine that outlasts the default 10 s
                self._client = MilvusClient(str(target), timeout=120)
        return self._client

    def _load_collection(self) -> None:
        if self._remote and self.replicas > 1:
            self._client.load_collection(self.collection, replica_number=self.replicas)
        else:
            self._client.load_collection(self.collection)
        fields = self._client.describe_collection(self.collection)["fields"]
        self._keywords = any(f["name"] == "keywords" for f in fields)
        self._ready = True

    def _exists(self) -> bool:
        # asked again while absent: another process (an ingest beside a server) may create it
        if not self._ready and self.client.has_collection(self.collection):
            self._load_collection()
        return self._ready

    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
        # what BM25 reads: the title with the text, as ragtune's BM25 indexes it
        schema.add_field("indexed", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True,
                         analyzer_params={"type": "english"})
        schema.add_field("keywords", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("meta", DataType.JSON)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["indexed"],
                                     output_field_names=["keywords"]))
        index = c.prepare_index_params()
        index.add_index("vector", index_type=self.index_type, metric_type="COSINE")
        index.add_index("keywords", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": K1, "bm25_b": B})
        # Strong consistency: ingest reads back what it just wrote to decide what is complete
        c.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong",
                            num_shards=self.shards)
        self._load_collection()

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        if not chunks:
            return
        for c in chunks:
            if len(c.indexed_text.encode("utf-8")) > MAX_TEXT:
                raise RagtuneError(f"chunk {c.chunk_id!r} holds more than Milvus's {MAX_TEXT} bytes of text; "
                                   "use a smaller chunk size")
        if not self._exists():
            self._create(int(vectors.shape[1]))
        metas = to_metadata(chunks, doc_hashes, doc_chunks)
        # a collection from before keyword search has no field for the indexed text
        rows = [{"id": c.chunk_id, "doc_id": c.doc_id, "text": c.text, "meta": m, "vector": v,
                 **({"indexed": c.indexed_text} if self._keywords else {})}
                for c, m, v in zip(chunks, metas, np.asarray(vectors, dtype=np.float32), strict=True)]
        for i in range(0, len(rows), self.batch_size):
            self.client.upsert(self.collection, rows[i:i + self.batch_size])

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids or not self._exists():
            return
        for i in range(0, len(doc_ids), 500):
            self.client.delete(self.collection, filter=_ids_expr("doc_id", doc_ids[i:i + 500]))

    def query(self, vector: np.ndarray, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        if not self._exists():
            return []
        r = self.client.search(self.collection, data=[np.asarray(vector, dtype=np.float32).tolist()], limit=k,
                               filter=to_expr(where), output_fields=["id"], anns_field="vector",
                               search_params={"metric_type": "COSINE"})
        return [(h["id"], float(h["distance"])) for h in r[0]]

    def keyword_query(self, query: str, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        if not self._exists() or k <= 0:
            return []
        if not self._keywords:
            raise made_before_keywords("Milvus", self.collection)
        r = self.client.search(self.collection, data=[query], limit=k, filter=to_expr(where), output_fields=["id"],
                               anns_field="keywords", search_params={"metric_type": "BM25"})
        # Milvus keeps classic BM25's (k1 + 1) factor, which bm25s leaves out: a constant, taken out so
        # the scores are ragtune's BM25's on every engine
        return [(h["id"], float(h["distance"]) / (K1 + 1)) for h in r[0]]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids or not self._exists():
            return []
        rows = self.client.query(self.collection, filter=_ids_expr("id", chunk_ids), output_fields=["text", "meta"])
        by_id = {r["id"]: to_chunk(r["id"], r["text"], r["meta"]) for r in rows}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def _rows(self, fields: list[str], batch_size: int, where: Sequence[Condition] = ()) -> Iterator[list[dict]]:
        if not self._exists():
            return
        # an iterator, because a plain query is capped at 16384 rows
        it = self.client.query_iterator(self.collection, batch_size=min(batch_size, 16384),
                                        filter=to_expr(where), output_fields=fields)
        try:
            while rows := it.next():
                yield rows
        finally:
            it.close()

    def ids_matching(self, where: Sequence[Condition]) -> set[str]:
        return {r["id"] for rows in self._rows(["id"], 10000, where) for r in rows}

    def documents(self) -> dict[str, DocState]:
        return doc_states(r["meta"] for rows in self._rows(["meta"], 10000) for r in rows)

    def iter_chunks(self, batch_size: int = 5000) -> Iterator[list[Chunk]]:
        for rows in self._rows(["text", "meta"], batch_size):
            yield [to_chunk(r["id"], r["text"], r["meta"]) for r in rows]

    def export(self, batch_size: int = 2000) -> Iterator[Page]:
        for rows in self._rows(["text", "meta", "vector"], batch_size):
            yield to_page([r["id"] for r in rows], [r["text"] for r in rows], [r["meta"] for r in rows],
                          [r["vector"] for r in rows])

    def count(self) -> int:
        if not self._exists():
            return 0
        return int(self.client.query(self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])
