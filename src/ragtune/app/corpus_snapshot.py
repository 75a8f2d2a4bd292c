"""What the corpus held when a job was created: each document's content hash, and the text hash of each oracle
chunk its RAFT data was built from. `ragtune drift` compares it with the index to say which documents changed
since and which training examples teach a passage that is gone or now says something else."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from ragtune import versioned_file
from ragtune.finetune.jobs import job_dir
from ragtune.project import Project
from ragtune.raft.build import read_provenance
from ragtune.versioned_file import Versioned

SCHEMA = "ragtune.corpus_snapshot/1"
FILE = "corpus.json"  # in the job's folder

ChunkState = Literal["current", "changed", "gone"]


class CorpusSnapshot(Versioned):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_: str = Field(SCHEMA, alias="schema")
    documents: dict[str, str] = Field(description="document id -> content hash, as the store records it")
    chunks: dict[str, str] = Field(description="oracle chunk id -> SHA-256 of its text")


@dataclass(frozen=True)
class CorpusChange:
    added: list[str]
    changed: list[str]
    removed: list[str]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def take(project: Project, oracle_ids: list[str]) -> CorpusSnapshot:
    chunks = project.store.get(sorted(set(oracle_ids))) if oracle_ids else []
    return CorpusSnapshot(documents={d: s.content_hash for d, s in sorted(project.store.documents().items())},
                          chunks={c.chunk_id: text_hash(c.text) for c in chunks})


def record(project: Project, job_id: str, train: Path) -> CorpusSnapshot | None:
    """Snapshot the project's index for a new job (its oracle chunks from the RAFT provenance beside ``train``,
    if any); nothing when the project has no index, since data from elsewhere has nothing here to go stale."""
    if project.index_spec() is None:
        return None
    snap = take(project, [p.oracle for p in read_provenance(train) or [] if p.oracle])
    versioned_file.save(job_dir(project.root, job_id) / FILE, snap)
    return snap


def read(project_root: Path, job_id: str) -> CorpusSnapshot | None:
    """The job's snapshot; None for a job created before ragtune recorded one (or without an index)."""
    path = job_dir(project_root, job_id) / FILE
    return versioned_file.load(path, CorpusSnapshot, "a corpus snapshot") if path.is_file() else None


def changes(before: CorpusSnapshot, now: dict[str, str]) -> CorpusChange:
    """Documents added, changed (another content hash) and removed between the snapshot and ``now``."""
    return CorpusChange(added=sorted(set(now) - set(before.documents)),
                        changed=sorted(d for d in before.documents if d in now and now[d] != before.documents[d]),
                        removed=sorted(set(before.documents) - set(now)))


def chunk_states(before: CorpusSnapshot, project: Project) -> dict[str, ChunkState]:
    """Each snapshotted oracle chunk: still there with the same text, there with other text, or gone."""
    found = {c.chunk_id: text_hash(c.text) for c in project.store.get(sorted(before.chunks))} if before.chunks else {}
    return {cid: "gone" if cid not in found else "current" if found[cid] == h else "changed"
            for cid, h in before.chunks.items()}
