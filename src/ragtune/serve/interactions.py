"""One logged chat interaction, and the project's default state file. Rows are only ever inserted, once each
(the id is the primary key); feedback is a row of its own, the latest per interaction counting; the only
deletion is retention's, of rows past their age."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Interaction:
    id: str
    variant: str
    assigned: bool
    latency_ms: float
    key_id: str | None = None
    subject: str | None = None
    stream: bool = False
    status: int = 200
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    refused: bool = False
    chunk_ids: list[str] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)
    request: Sequence[Mapping[str, Any]] | None = None
    """The client's messages (None when bodies are not logged)."""
    prompt: Sequence[Mapping[str, Any]] | None = None
    """The messages the model was given: what a fine-tuning example repeats."""
    answer: str | None = None
    created: float = field(default_factory=time.time)


class InteractionLog(Protocol):
    """Where interactions and their feedback are logged (the serve state)."""

    def record(self, it: Interaction, bodies: bool = True) -> None:
        """Log ``it`` (without messages, prompt and answer unless ``bodies``)."""
        ...

    def feedback(self, interaction_id: str, rating: str, corrected: str | None = None,
                 key_id: str | None = None) -> None:
        """A rating of an interaction; with ``key_id``, only of one that key made (others' stay unknown)."""
        ...

    def prune(self, retention_days: float | None, now: float | None = None) -> int:
        """Delete interactions (and their feedback) older than the retention; returns how many."""
        ...

    def rows(self, since: float | None = None) -> list[dict]:
        """Every interaction (oldest first) with its latest rating and correction."""
        ...


def make_private(path: Path) -> None:
    """The log holds whole prompts and answers: owner-only, whatever the umask. SQLite gives the -wal and -shm
    files the database's own mode, so creating (or tightening, for a log from an older version) the database
    file first covers them; existing ones are tightened too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        st = p.stat() if p.exists() else None
        if st and stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():  # only the owner may chmod
            os.chmod(p, 0o600)


def log_path(project) -> Path:
    """The embedded state's file (interactions.db, read in place since before keys moved into it)."""
    return project.root / "interactions.db"
