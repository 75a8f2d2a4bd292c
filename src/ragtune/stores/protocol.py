"""The vector-store contract. Every backend (embedded Chroma, Chroma/Qdrant/Milvus servers, pgvector,
Pinecone) implements the same methods and passes one conformance suite (``ragtune.testing``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np

from ragtune.component import Component
from ragtune.documents.types import Chunk
from ragtune.registry import Registry
from ragtune.stores.filters import Condition


@dataclass(frozen=True)
class DocState:
    """What the store holds of one document: enough for incremental ingest to decide its fate."""

    content_hash: str
    source: str
    complete: bool  # every chunk the document was split into is present


@dataclass
class Page:
    """A slice of a store exported with its vectors and bookkeeping: what a migration copies."""

    chunks: list[Chunk]
    vectors: np.ndarray
    doc_hashes: dict[str, str]
    doc_chunks: dict[str, int]  # whole-document chunk counts, which a page may only partly hold


class VectorStore(Protocol):
    def bind(self, root: Path) -> Self:
        """Resolve the store's relative folders against the project folder ``root``; returns the store."""
        ...

    def warm_up(self) -> None:
        """Open the client or connection now rather than on first use (idempotent)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hashes: dict[str, str],
               doc_chunks: dict[str, int] | None = None) -> None:
        """Write chunks with their vectors. Each document's chunk count is taken from this call
        unless ``doc_chunks`` gives it (a migration writes documents across pages)."""
        ...

    def delete(self, doc_ids: Sequence[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int, where: Sequence[Condition] = ()) -> list[tuple[str, float]]:
        """Chunk ids and cosine similarities of the top k among chunks matching every condition
        (filtered before ranking). Ids only: the retriever fetches the few chunks it returns."""
        ...

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...

    def ids_matching(self, where: Sequence[Condition]) -> set[str]: ...

    def documents(self) -> dict[str, DocState]: ...

    def iter_chunks(self, batch_size: int = 5000) -> Iterator[list[Chunk]]: ...

    def export(self, batch_size: int = 2000) -> Iterator[Page]:
        """Every chunk with its stored vector, page by page: a copy needs no re-embedding."""
        ...

    def count(self) -> int: ...


class StoreBase(Component):
    """What a backend inherits besides ``Component``: a store that keeps nothing in a local folder
    (a server, a hosted index) has nothing to bind."""

    def bind(self, root: Path) -> Self:
        return self


STORES: Registry[VectorStore] = Registry("store")
