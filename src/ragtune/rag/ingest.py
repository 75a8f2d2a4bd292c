"""Ingest: discover files, load, chunk, embed, and write to the store, incrementally.

Crash safety comes from the store being the only record of what is indexed. Every chunk carries
its document's content hash and chunk count, so a document is "present" only if all its chunks of
one version are there. A process killed at any point leaves documents that are complete (kept),
missing (re-added), or incomplete (replaced) on the next run: no duplicates, nothing lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragtune.documents.discover import SourceFile, discover
from ragtune.documents.loaders import Problem, loader_for
from ragtune.documents.types import Document, MetaValue, reserved_keys
from ragtune.embedding.protocol import embed_batched
from ragtune.project import Project

Progress = Callable[[str, int], None]  # (stage, items done since last call)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed, "chunks": self.chunks, "seconds": round(self.seconds, 3),
                "skipped": [str(p) for p in self.problems]}


def _under(source: str, roots: Sequence[Path]) -> bool:
    p = Path(source)
    return any(p == r or r in p.parents for r in roots)


def ingest(project: Project, paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
           meta: dict[str, MetaValue] | None = None, prune: bool = False, batch_docs: int = 64,
           progress: Progress | None = None) -> IngestReport:
    report = IngestReport()
    roots = [Path(p).resolve() for p in paths]

    def documents() -> Iterator[Document]:
        for item in discover(roots, include, exclude):
            if isinstance(item, Problem):
                report.problems.append(item)
                continue
            assert isinstance(item, SourceFile)
            loader = loader_for(item.path)
            assert loader is not None  # discover yields only files a loader reads
            for doc in loader.load(item.path, item.doc_id):
                if isinstance(doc, Problem):
                    report.problems.append(doc)
                    continue
                doc.metadata.update(meta or {})
                yield doc

    return _write(project, documents(), report, batch_docs, progress, prune_roots=roots if prune else None)


def ingest_documents(project: Project, documents: Iterable[Document], batch_docs: int = 64,
                     progress: Progress | None = None) -> IngestReport:
    """Ingest documents given as data (the API's /v1/ingest): no files, same bookkeeping as ``ingest``."""
    return _write(project, iter(documents), IngestReport(), batch_docs, progress, prune_roots=None)


def _write(project: Project, documents: Iterator[Document], report: IngestReport, batch_docs: int,
           progress: Progress | None, prune_roots: Sequence[Path] | None) -> IngestReport:
    started = time.perf_counter()
    progress = progress or (lambda stage, n: None)
    with project.lock():
        project.check_index_compatible()
        project.record_index_spec()
        store, chunker, embedder = project.store, project.chunker, project.embedder
        existing = store.documents()
        seen: set[str] = set()
        pending: list[Document] = []
        changed = False

        def flush() -> None:
            nonlocal changed
            if not pending:
                return
            if not changed:
                project.bm25.mark_stale()
                changed = True
            chunks = [c for d in pending for c in chunker.split(d)]
            vectors = embed_batched(embedder, [c.indexed_text for c in chunks],
                                    progress=lambda n: progress("embed", n))
            stale = [d.doc_id for d in pending if d.doc_id in existing]
            if stale:
                store.delete(stale)
            store.upsert(chunks, vectors, {d.doc_id: d.content_hash for d in pending})
            report.chunks += len(chunks)
            pending.clear()

        for doc in documents:
            if doc.doc_id in seen:
                report.problems.append(Problem(doc.source, f"duplicate document id {doc.doc_id!r}, skipped"))
                continue
            seen.add(doc.doc_id)
            clash = reserved_keys(doc.metadata)
            if clash:
                report.problems.append(Problem(doc.source, f"document {doc.doc_id!r}: metadata key(s) "
                                                           f"{', '.join(clash)} are reserved, skipped"))
                continue
            progress("docs", 1)
            state = existing.get(doc.doc_id)
            # a moved file keeps its id but must be re-recorded under its new source path
            if state and state.complete and state.content_hash == doc.content_hash and state.source == doc.source:
                report.unchanged += 1
                continue
            if state:
                report.updated += 1
            else:
                report.added += 1
            pending.append(doc)
            if len(pending) >= batch_docs:
                flush()
        flush()
        if prune_roots is not None:
            gone = [d for d, s in existing.items() if d not in seen and _under(s.source, prune_roots)]
            if gone:
                if not changed:
                    project.bm25.mark_stale()
                    changed = True
                store.delete(gone)
                report.removed = len(gone)
        if changed or not project.bm25.is_current():
            project.bm25.rebuild(store.iter_chunks(), progress=lambda n: progress("bm25", n))
    report.seconds = time.perf_counter() - started
    return report
