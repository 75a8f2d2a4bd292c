"""Ingest: discover files, load, chunk, embed, and write to the store, incrementally.

Crash safety comes from the store being the only record of what is indexed. Every chunk carries
its document's content hash and chunk count, so a document is "present" only if all its chunks of
one version are there. A process killed (or interrupted) at any point leaves documents that are
complete (kept), missing (re-added), or incomplete (replaced) on the next run: no duplicates,
nothing lost.

Small documents are written ``batch_docs`` at a time. A document longer than one section
(chunking/sections.py) is chunked section by section, then embedded and written ``batch_chunks``
chunks at a time, with progress for each: its text and chunk texts are held (about twice the
file), its vectors and store writes only a batch at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ragtune.chunking.sections import SECTION_CHARS, sections, split_section
from ragtune.documents.discover import SourceFile, discover
from ragtune.documents.loaders import Problem, loader_for
from ragtune.documents.types import Chunk, Document, MetaValue, reserved_keys
from ragtune.embedding.protocol import embed_batched
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.rag.doc_ids import DocIds, source_file
from ragtune.stores.keywords import keyword_search
from ragtune.stores.protocol import DocState
from ragtune.stores.records import chunk_counts


class Progress(Protocol):
    def __call__(self, stage: str, advance: int, total: int | None = None) -> None:
        """``advance`` items of ``stage`` done since the last call; ``total`` when it becomes known."""
        ...


def _quiet(stage: str, advance: int, total: int | None = None) -> None:
    pass


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


@dataclass
class _Files:
    """What a file ingest learnt about the files, for pruning and de-duplication."""

    roots: list[Path]
    found: set[Path] = field(default_factory=set)  # files this run's globs took
    read: set[Path] = field(default_factory=set)  # ... and loaded without a problem: all their documents seen
    duplicates: list[str] = field(default_factory=list)  # older ids of a file that has one now


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def ingest(project: Project, paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
           meta: dict[str, MetaValue] | None = None, prune: bool = False, prune_excluded: bool = False,
           batch_docs: int = 64, batch_chunks: int = 256, progress: Progress | None = None) -> IngestReport:
    """``prune`` removes indexed documents under ``paths`` whose file is gone (or, for a file of
    several documents, that the file no longer holds); ``prune_excluded`` also those whose file exists
    but this run's include/exclude globs leave out."""
    progress = progress or _quiet
    report = IngestReport()
    roots = [Path(p).resolve() for p in paths]
    missing = [str(p) for p, r in zip(paths, roots, strict=True) if not r.exists()]
    if missing:
        raise RagtuneError(f"no such file or directory: {', '.join(missing)}")
    files = _Files(roots)
    sources: list[SourceFile] = []
    for item in discover(roots, include, exclude):
        if isinstance(item, Problem):
            report.problems.append(item)
        else:
            sources.append(item)
            files.found.add(item.path)

    def documents(existing: dict[str, DocState]) -> Iterator[Document]:
        ids = DocIds(existing)
        progress("files", 0, len(sources))
        for item in sources:
            doc_id, duplicates = ids.assign(item)
            files.duplicates += duplicates
            problems = len(report.problems)
            loader = loader_for(item.path)
            assert loader is not None  # discovery keeps only files a loader reads
            for doc in loader.load(item.path, doc_id):
                if isinstance(doc, Problem):
                    report.problems.append(doc)
                    continue
                doc.metadata.update(meta or {})
                yield doc
            if len(report.problems) == problems:
                files.read.add(item.path)
            progress("files", 1)

    return _write(project, documents, report, batch_docs, batch_chunks, progress,
                  files=files, prune=prune or prune_excluded, prune_excluded=prune_excluded)


def ingest_documents(project: Project, documents: Iterable[Document], batch_docs: int = 64,
                     progress: Progress | None = None) -> IngestReport:
    """Ingest documents given as data (the API's /v1/ingest): no files, same bookkeeping as ``ingest``."""
    return _write(project, lambda existing: iter(documents), IngestReport(), batch_docs, 256, progress or _quiet,
                  files=None, prune=False, prune_excluded=False)


def remove_documents(project: Project, doc_ids: Sequence[str],
                     check: Callable[[dict[str, DocState]], None] = lambda existing: None) -> int:
    """Delete whole documents (every chunk) and rebuild BM25; returns how many were there. ``check`` sees the
    indexed documents inside the write lock and may refuse (raise) before anything is deleted."""
    with project.lock():
        project.check_index_compatible()
        existing = project.store.documents()
        check(existing)
        present = sorted(set(doc_ids) & set(existing))
        if present:
            project.bm25.mark_stale()  # before the store changes, as ingest does: a crash leaves it rebuilt
            project.store.delete(present)
            if keyword_search(project.store) is None:  # else the engine ranks keywords itself
                project.bm25.rebuild(project.store.iter_chunks())
    return len(present)


def _removable(existing: dict[str, DocState], seen: set[str], files: _Files, excluded_too: bool) -> list[str]:
    gone = []
    for doc_id, state in existing.items():
        if doc_id in seen:
            continue
        path = source_file(state.source)
        if path is None:  # the file is gone (or the document came as data: then it is not under a root)
            if Path(state.source).is_absolute() and _under(Path(state.source).resolve(), files.roots):
                gone.append(doc_id)
        elif _under(path, files.roots) and (path in files.read or (excluded_too and path not in files.found)):
            gone.append(doc_id)
    return gone


def _write(project: Project, make_documents: Callable[[dict[str, DocState]], Iterator[Document]],
           report: IngestReport, batch_docs: int, batch_chunks: int, progress: Progress,
           files: _Files | None, prune: bool, prune_excluded: bool) -> IngestReport:
    started = time.perf_counter()
    with project.lock():
        project.check_index_compatible()
        project.record_index_spec()
        store, chunker, embedder = project.store, project.chunker, project.embedder
        existing = store.documents()
        # a file moved or renamed: its old record (file gone, same content) is replaced by the new one
        gone_by_hash: dict[str, list[str]] = {}
        for doc_id, state in existing.items() if files is not None else ():
            if Path(state.source).is_absolute() and source_file(state.source) is None:
                gone_by_hash.setdefault(state.content_hash, []).append(doc_id)
        seen: set[str] = set()
        superseded: list[str] = []
        pending: list[Document] = []
        changed = False

        def start_changing() -> None:
            nonlocal changed
            if not changed:
                project.bm25.mark_stale()
                changed = True

        def write(chunks: list[Chunk], doc_hashes: dict[str, str], doc_chunks: dict[str, int] | None) -> None:
            vectors = embed_batched(embedder, [c.indexed_text for c in chunks], batch_size=batch_chunks)
            store.upsert(chunks, vectors, doc_hashes, doc_chunks)
            report.chunks += len(chunks)
            progress("chunks", len(chunks))

        def flush() -> None:
            if not pending:
                return
            start_changing()
            stale = [d.doc_id for d in pending if d.doc_id in existing]
            if stale:
                store.delete(stale)
            chunks = [c for d in pending for c in chunker.split(d)]
            hashes, counts = {d.doc_id: d.content_hash for d in pending}, chunk_counts(chunks)
            for i in range(0, len(chunks), batch_chunks):
                write(chunks[i:i + batch_chunks], hashes, counts)
            pending.clear()

        def write_large(doc: Document) -> None:
            """Chunked section by section (a sign of life, and Ctrl-C lands between sections), then
            embedded and written a batch at a time: every chunk records the document's chunk count,
            so the count must be known before the first write."""
            name = Path(doc.source).name
            progress(f"chunking {name} (characters)", 0, len(doc.text))
            chunks: list[Chunk] = []
            for part in sections(doc.text):
                chunks += split_section(chunker, doc, part, len(chunks))
                progress(f"chunking {name} (characters)", len(part))
            start_changing()
            if doc.doc_id in existing:
                store.delete([doc.doc_id])
            progress(f"embedding {name}", 0, len(chunks))
            for i in range(0, len(chunks), batch_chunks):
                batch = chunks[i:i + batch_chunks]
                write(batch, {doc.doc_id: doc.content_hash}, {doc.doc_id: len(chunks)})
                progress(f"embedding {name}", len(batch))

        for doc in make_documents(existing):
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
            moved_from = [d for d in gone_by_hash.get(doc.content_hash, []) if d != doc.doc_id and d not in seen]
            superseded += moved_from
            if state or moved_from:
                report.updated += 1
            else:
                report.added += 1
            if len(doc.text) > SECTION_CHARS:
                flush()
                write_large(doc)
            else:
                pending.append(doc)
                if len(pending) >= batch_docs:
                    flush()
        flush()
        remove = [d for d in superseded if d in existing]
        if files is not None:
            remove += [d for d in files.duplicates if d not in seen]
            if prune:
                remove += _removable(existing, seen | set(remove), files, prune_excluded)
        if remove:
            start_changing()
            store.delete(sorted(set(remove)))
            report.removed = len(set(remove) - set(superseded))
        if keyword_search(store) is None and (changed or not project.bm25.is_current()):
            project.bm25.rebuild(store.iter_chunks(), progress=lambda n: progress("bm25", n))
    report.seconds = time.perf_counter() - started
    return report

