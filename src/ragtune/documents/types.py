"""The records that flow through ingest and retrieval."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

MetaValue = str | int | float | bool

# Metadata keys the index uses for its own bookkeeping; a document may not set them.
RESERVED_KEYS = frozenset({"doc_id", "doc_hash", "doc_chunks", "chunk_index", "title"})
RESERVED_SUFFIX = "__date"


def reserved_keys(metadata: dict) -> list[str]:
    return sorted(k for k in metadata if k in RESERVED_KEYS or k.endswith(RESERVED_SUFFIX))


@dataclass
class Document:
    """One source document, before chunking."""

    doc_id: str
    text: str
    source: str
    title: str = ""
    metadata: dict[str, MetaValue] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Decides new / changed / unchanged on re-ingest; covers everything that ends up indexed."""
        h = hashlib.sha256()
        for part in (self.title, self.text, repr(sorted(self.metadata.items()))):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.hexdigest()


@dataclass
class Chunk:
    """A piece of a document small enough for the embedder's token limit."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    title: str = ""
    metadata: dict[str, MetaValue] = field(default_factory=dict)

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the title gives each chunk its document's context."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass
class Hit:
    """A retrieved chunk with its score under the retriever that found it."""

    chunk: Chunk
    score: float
    scores: dict[str, Any] = field(default_factory=dict)
