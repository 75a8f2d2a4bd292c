"""Switch the project's embedder without a re-ingest: every chunk of the current index is embedded again
into a new generation beside it, then config.json switches embedder and store together in one rename.

Crash safety: the journal (reembed.json) is written before anything else and removed last. Until the
switch, config.json names the old embedder and the old generation, so every query embeds with the model
that built the vectors it searches; after it, the new pair. The new generation is the journal of the
copy itself: a document is kept on resume only when all its chunks of the source's version are there
(the bookkeeping ingest relies on), so a killed run resumes where it stopped. Chunks are read from the
store (no re-chunking: same ids, texts and metadata), so BM25, built from the texts, is unchanged.
Ingest and deletions are refused while a journal exists: the copy must see the index it copies."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ragtune.config import ComponentSpec
from ragtune.embedding.protocol import Embedder
from ragtune.errors import RagtuneError
from ragtune.project import Project, write_atomic
from ragtune.stores.chroma import ChromaStore
from ragtune.stores.migrate import check_complete, copy_pages, fingerprint, refuse_half_written
from ragtune.stores.protocol import Page, VectorStore

SAMPLE = 64
"""Chunks whose stored vector is checked against a fresh embedding before the switch."""


class Journal(BaseModel):
    """reembed.json: what is being switched to, from what."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    label: str
    """What the new embedder is, for messages (e.g. "job 3f2a's embedder")."""
    embedder: ComponentSpec
    store: ComponentSpec
    """The new generation."""
    old_store: ComponentSpec
    """Removed once the switch is done."""


@dataclass
class ReembedReport:
    chunks: int
    """Chunks in the index."""
    embedded: int
    """Chunks embedded by this run (fewer than ``chunks`` when it resumed an interrupted one)."""
    checksum: str
    """Record checksum of the index (the same before and after: only vectors change)."""
    store: str
    """Where the index now lives."""


def journal(project: Project) -> Journal | None:
    path = project.reembed_path
    return Journal.model_validate_json(path.read_text()) if path.exists() else None


def _canonical(spec: ComponentSpec) -> dict:
    from ragtune.embedding import EMBEDDERS

    return EMBEDDERS.from_dict(spec.model_dump()).to_dict()  # defaults filled in: a spelled-out default is equal


def start(project: Project, embedder: ComponentSpec, label: str) -> Journal:
    """Record a switch to ``embedder`` (or return the pending one when it is to the same embedder, so
    running it again resumes); refuses a second, different switch."""
    pending = journal(project)
    if pending is not None:
        if _canonical(pending.embedder) == _canonical(embedder):
            return pending
        raise RagtuneError(f"the index of {project.root} is being re-embedded for {pending.label}; wait for it or "
                           "finish it with 'ragtune tune reembed' before switching to another embedder")
    if project.index_spec() is None:
        raise RagtuneError(f"{project.root} has no index to re-embed")
    new = _canonical(embedder)
    if new == project.embedder.to_dict():
        raise RagtuneError(f"{label} is already the embedder of {project.root}")
    old = project.config.store
    if old.type != "chroma" or ChromaStore(**old.params).url:
        raise RagtuneError(f"re-embedding in place needs the embedded chroma store, not {old.type} "
                           f"{old.params}; make a new project with the embedder and ingest there")
    digest = hashlib.sha256(json.dumps(new, sort_keys=True).encode()).hexdigest()[:12]
    store = ComponentSpec(type="chroma", params={**old.params, "path": f"store-{digest}"})
    entry = Journal(label=label, embedder=embedder, store=store, old_store=old)
    write_atomic(project.reembed_path, entry.model_dump_json(indent=2))
    return entry


def run(project: Project, batch_size: int = 256, progress: Callable[[str, int], None] | None = None) -> ReembedReport:
    """Carry out (or resume) the pending switch: copy, verify, switch, remove the old generation."""
    from ragtune.embedding import EMBEDDERS

    entry = journal(project)
    if entry is None:
        raise RagtuneError(f"no re-embed is pending in {project.root}")
    with ExitStack() as held:
        try:
            held.enter_context(project.lock())
        except RagtuneError:
            raise RagtuneError(f"another ragtune process is writing {project.root} (the re-embed for {entry.label}, "
                               "or an ingest); wait for it to finish") from None
        switched = project.config.store == entry.store and project.config.embedder == entry.embedder
        report = None if switched else _copy_and_switch(project, entry, EMBEDDERS.from_dict(entry.embedder.model_dump()),
                                                        ChromaStore(**entry.store.params).bind(project.root),
                                                        batch_size, progress)
        project.record_index_spec(replace=True)  # after a crash between the switch and here, again
        shutil.rmtree(_folder(project, entry.old_store), ignore_errors=True)
        project.reembed_path.unlink()
    if report is None:  # resumed after the switch: the new generation is already verified
        report = ReembedReport(project.store.count(), 0, fingerprint(project.store, vectors=False).checksum,
                               entry.store.params["path"])
    return report


def _copy_and_switch(project: Project, entry: Journal, embedder: Embedder, target: VectorStore, batch_size: int,
                     progress: Callable[[str, int], None] | None) -> ReembedReport:
    tell = progress or (lambda stage, n: None)
    source = project.store
    states = source.documents()
    refuse_half_written(states, "switch the embedder")
    have = target.documents()
    done = {d for d, s in have.items() if s.complete and d in states and s.content_hash == states[d].content_hash}
    if stale := sorted(set(have) - done):  # cut short by a kill: written again whole
        target.delete(stale)
    written = copy_pages(_embedded(source.export(batch_size), embedder, skip=done), target, progress)
    want = fingerprint(source, batch_size, vectors=False)
    got = fingerprint(target, batch_size, vectors=False)
    if problem := want.mismatch(got):
        raise RagtuneError(f"the re-embedded index does not match the current one: {problem}; the project still "
                           f"uses its current embedder")
    check_complete(target, states)
    _check_vectors(target, embedder, batch_size)
    tell("verified", want.count)
    project.switch_index(entry.embedder, entry.store)  # one rename: queries use the new embedder with the new vectors
    tell("switched", want.count)
    return ReembedReport(want.count, written.count, want.checksum, entry.store.params["path"])


def _embedded(pages: Iterator[Page], embedder: Embedder, skip: set[str]) -> Iterator[Page]:
    """The source's pages with the new embedder's vectors, less the documents already copied."""
    for page in pages:
        keep = [i for i, c in enumerate(page.chunks) if c.doc_id not in skip]
        if not keep:
            continue
        chunks = [page.chunks[i] for i in keep]
        docs = {c.doc_id for c in chunks}
        yield Page(chunks, embedder.embed([c.indexed_text for c in chunks]),
                   {d: h for d, h in page.doc_hashes.items() if d in docs},
                   {d: n for d, n in page.doc_chunks.items() if d in docs})


def _check_vectors(target: VectorStore, embedder: Embedder, batch_size: int) -> None:
    """A sample of stored vectors against fresh embeddings of their chunks: a vector stored under the
    wrong id, or one left from another embedder, shows. The sample is chosen by chunk-id hash, so it is
    the same on every run and spread over the index."""
    stride = max(1, target.count() // SAMPLE)
    texts, stored = [], []
    for page in target.export(batch_size):
        for chunk, vector in zip(page.chunks, page.vectors, strict=True):
            if int(hashlib.sha256(chunk.chunk_id.encode()).hexdigest()[:8], 16) % stride == 0:
                texts.append(chunk.indexed_text)
                stored.append(vector)
    if texts and not np.allclose(embedder.embed(texts), np.asarray(stored), atol=1e-4):
        raise RagtuneError("stored vectors of the re-embedded index differ from the new embedder's; the project "
                           "still uses its current embedder")


def _folder(project: Project, spec: ComponentSpec) -> Path:
    path = Path(ChromaStore(**spec.params).path)
    return path if path.is_absolute() else project.root / path
