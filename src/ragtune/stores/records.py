"""How a chunk becomes one flat store record and back, shared by every backend so they all keep the
same crash-safety bookkeeping: the user's metadata, an ordered integer twin ``key__date`` for each
ISO date (stores compare numbers, not dates), and the document's hash and chunk count on every
chunk. A document is complete only when all chunks of one version are present."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ragtune.documents.types import RESERVED_KEYS, RESERVED_SUFFIX, Chunk, reserved_keys
from ragtune.errors import RagtuneError
from ragtune.stores.filters import date_ordinal, is_date
from ragtune.stores.protocol import DocState, Page


def chunk_counts(chunks: Sequence[Chunk]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    return counts


def to_metadata(chunks: Sequence[Chunk], doc_hashes: dict[str, str],
                doc_chunks: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """One flat metadata dict per chunk. ``doc_chunks`` gives whole-document chunk counts when the
    call holds only part of each document (a migration copies page by page)."""
    counts = doc_chunks if doc_chunks is not None else chunk_counts(chunks)
    metas = []
    for c in chunks:
        clash = reserved_keys(c.metadata)
        if clash:
            raise RagtuneError(f"document {c.doc_id!r}: metadata key(s) {clash} are reserved")
        meta: dict[str, Any] = dict(c.metadata)
        for k, v in c.metadata.items():
            if is_date(v):
                meta[k + RESERVED_SUFFIX] = date_ordinal(v)
        meta.update(doc_id=c.doc_id, doc_hash=doc_hashes[c.doc_id], doc_chunks=counts[c.doc_id],
                    chunk_index=c.index, title=c.title)
        metas.append(meta)
    return metas


def to_chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    user = {k: v for k, v in meta.items() if k not in RESERVED_KEYS and not k.endswith(RESERVED_SUFFIX)}
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], index=meta["chunk_index"], text=text,
                 title=meta.get("title", ""), metadata=user)


def to_page(ids: Sequence[str], texts: Sequence[str], metas: Sequence[dict], vectors) -> Page:
    return Page(chunks=[to_chunk(i, t, m) for i, t, m in zip(ids, texts, metas, strict=True)],
                vectors=np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1),
                doc_hashes={m["doc_id"]: m["doc_hash"] for m in metas},
                doc_chunks={m["doc_id"]: m["doc_chunks"] for m in metas})


def doc_states(metas: Iterable[dict]) -> dict[str, DocState]:
    seen: dict[str, tuple[str, str, int, int]] = {}
    for m in metas:
        h, src, want, have = seen.get(m["doc_id"], (m["doc_hash"], m.get("source", ""), m["doc_chunks"], 0))
        # chunks of two versions of a document (an interrupted update) make it incomplete
        if m["doc_hash"] != h:
            want = -1
        seen[m["doc_id"]] = (h, src, want, have + 1)
    return {d: DocState(h, src, want == have) for d, (h, src, want, have) in seen.items()}
