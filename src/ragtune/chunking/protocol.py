"""The chunker contract and the helper every chunker shares to turn text pieces into chunks."""

from __future__ import annotations

from typing import Protocol

from ragtune.documents.types import Chunk, Document
from ragtune.registry import Registry


class Chunker(Protocol):
    def split(self, doc: Document) -> list[Chunk]: ...


CHUNKERS: Registry[Chunker] = Registry("chunker")


def make_chunks(doc: Document, pieces: list[str]) -> list[Chunk]:
    meta = {**doc.metadata, "source": doc.source}
    return [Chunk(chunk_id=f"{doc.doc_id}#{i}", doc_id=doc.doc_id, index=i, text=p, title=doc.title,
                  metadata=dict(meta)) for i, p in enumerate(p for p in pieces if p.strip())]
