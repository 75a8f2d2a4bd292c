"""Copy an index between store backends with its stored vectors (no re-embedding), then prove the
copy: same chunk count, same records, same vectors."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ragtune.errors import RagtuneError
from ragtune.stores.protocol import DocState, Page, VectorStore


def _canon(value):
    # engines differ in number types (Pinecone keeps every number as a float): 2 and 2.0 digest alike
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


@dataclass
class Fingerprint:
    """An order-independent summary of a store's contents, computed in one streaming pass. Records are
    digested exactly; vectors, which an engine may round-trip with float error (Qdrant re-normalises
    them), go into a random projection keyed by chunk id and are compared with a tolerance, so a
    vector stored under the wrong id still shows."""

    count: int = 0
    digest: int = 0
    projection: np.ndarray | None = None
    vectors: bool = True
    """False: records only (a re-embedded copy's vectors differ from its source's by design)."""

    def add(self, page: Page) -> None:
        for chunk, vector in zip(page.chunks, page.vectors, strict=True):
            record = [chunk.chunk_id, chunk.doc_id, chunk.index, chunk.title, chunk.text,
                      sorted((k, _canon(v)) for k, v in chunk.metadata.items()),
                      page.doc_hashes[chunk.doc_id], page.doc_chunks[chunk.doc_id]]
            h = hashlib.sha256(json.dumps(record, ensure_ascii=False).encode("utf-8")).digest()
            self.digest = (self.digest + int.from_bytes(h, "big")) % (1 << 256)  # a sum: any order
            self.count += 1
            if not self.vectors:
                continue
            weight = int.from_bytes(hashlib.sha256(chunk.chunk_id.encode("utf-8")).digest()[:8], "big") / 2**63 - 1
            contribution = weight * np.asarray(vector, dtype=np.float64)
            self.projection = contribution if self.projection is None else self.projection + contribution

    @property
    def checksum(self) -> str:
        return f"{self.digest:064x}"

    def mismatch(self, other: Fingerprint) -> str | None:
        if self.count != other.count:
            return f"{other.count} chunks where the source has {self.count}"
        if self.digest != other.digest:
            return "chunk texts, metadata or bookkeeping differ (record checksums do not match)"
        if self.projection is not None and other.projection is not None:  # both hold chunks (counts are equal)
            gap = float(np.max(np.abs(self.projection - other.projection)))
            if gap > 1e-5 * np.sqrt(self.count) + 1e-6:  # float32 round-trip error grows like sqrt(n)
                return f"vectors differ (projection gap {gap:.2e})"
        return None


def fingerprint(store: VectorStore, batch_size: int = 2000, vectors: bool = True) -> Fingerprint:
    fp = Fingerprint(vectors=vectors)
    for page in store.export(batch_size):
        fp.add(page)
    return fp


@dataclass
class MigrateReport:
    chunks: int = 0
    documents: int = 0
    seconds: float = 0.0
    checksum: str = ""
    verified: bool = False
    source: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"chunks": self.chunks, "documents": self.documents, "seconds": round(self.seconds, 3),
                "checksum": self.checksum, "verified": self.verified, "from": self.source, "to": self.target}


def migrate(source: VectorStore, target: VectorStore, batch_size: int = 2000,
            progress: Callable[[str, int], None] | None = None) -> MigrateReport:
    """Copy every chunk of ``source`` into the empty ``target`` and verify the copy. The source is only
    read; a target that already holds chunks is refused rather than merged into."""
    started = time.perf_counter()
    states = source.documents()
    refuse_half_written(states, "migrate")
    if target.count():
        raise RagtuneError(f"the target store already holds {target.count()} chunks; migrate into an empty one")
    want = copy_pages(source.export(batch_size), target, progress)
    problem = want.mismatch(fingerprint(target, batch_size))
    if problem:
        raise RagtuneError(f"the copy does not match its source: {problem}; the source is unchanged")
    check_complete(target, states)
    return MigrateReport(chunks=want.count, documents=len(states), seconds=time.perf_counter() - started,
                         checksum=want.checksum, verified=True, source=source.to_dict(), target=target.to_dict())


def refuse_half_written(states: dict[str, DocState], then: str) -> None:
    broken = sorted(d for d, s in states.items() if not s.complete)
    if broken:
        raise RagtuneError(f"{len(broken)} document(s) in the source are half-written (an interrupted ingest), "
                           f"e.g. {broken[0]!r}; run ingest again to repair them, then {then}")


def copy_pages(pages: Iterable[Page], target: VectorStore,
               progress: Callable[[str, int], None] | None = None) -> Fingerprint:
    """Write every page into ``target`` as it is (chunks, vectors, bookkeeping); returns what was written."""
    written = Fingerprint()
    for page in pages:
        target.upsert(page.chunks, page.vectors, page.doc_hashes, doc_chunks=page.doc_chunks)
        written.add(page)
        if progress:
            progress("copy", len(page.chunks))
    return written


def check_complete(target: VectorStore, states: dict[str, DocState]) -> None:
    """Every source document is in ``target``, whole."""
    moved = target.documents()
    if len(moved) != len(states) or not all(s.complete for s in moved.values()):
        raise RagtuneError("the copy does not hold every document complete; the source is unchanged")
