"""The interaction log: one SQLite file in the project. Rows are only ever inserted (feedback is a row of its
own, the latest per interaction counting); the only deletion is retention's, of rows past their age."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragtune.errors import RagtuneError

_SCHEMA = """
create table if not exists interactions (
  id text primary key, created real not null, key_id text, subject text, variant text not null,
  assigned integer not null, stream integer not null, status integer not null, error text,
  latency_ms real not null, prompt_tokens integer not null, completion_tokens integer not null,
  refused integer not null, chunk_ids text not null, citations text not null,
  request text, prompt text, answer text);
create index if not exists interactions_created on interactions (created);
create table if not exists feedback (
  seq integer primary key autoincrement, interaction_id text not null, created real not null,
  rating text not null, corrected text);
create index if not exists feedback_interaction on feedback (interaction_id);
"""


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


class InteractionLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(self.path)
        with self._db() as db:
            db.execute("pragma journal_mode=wal")  # readers (reports, exports) never block the server's writes
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("pragma synchronous=normal")  # WAL: durable across a process kill, not an OS crash
        db.row_factory = sqlite3.Row
        return db

    def record(self, it: Interaction, bodies: bool = True) -> None:
        row = asdict(it)
        for key in ("chunk_ids", "citations", "request", "prompt"):
            row[key] = None if row[key] is None else json.dumps(row[key])
        if not bodies:
            row.update(request=None, prompt=None, answer=None)
        cols = list(row)
        with self._db() as db:
            db.execute(f"insert into interactions ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                       [row[c] for c in cols])

    def feedback(self, interaction_id: str, rating: str, corrected: str | None = None,
                 key_id: str | None = None) -> None:
        """A rating of an interaction; with ``key_id``, only of one that key made (others' stay unknown)."""
        with self._db() as db:
            row = db.execute("select key_id from interactions where id = ?", (interaction_id,)).fetchone()
            if row is None or (key_id is not None and row["key_id"] != key_id):
                raise RagtuneError(f"no interaction {interaction_id!r}")
            db.execute("insert into feedback (interaction_id, created, rating, corrected) values (?,?,?,?)",
                       (interaction_id, time.time(), rating, corrected))

    def prune(self, retention_days: float | None, now: float | None = None) -> int:
        """Delete interactions (and their feedback) older than the retention; returns how many."""
        if retention_days is None:
            return 0
        cutoff = (now if now is not None else time.time()) - retention_days * 86400
        with self._db() as db:
            db.execute("delete from feedback where interaction_id in (select id from interactions where created < ?)",
                       (cutoff,))
            return db.execute("delete from interactions where created < ?", (cutoff,)).rowcount

    def rows(self, since: float | None = None) -> list[dict]:
        """Every interaction (oldest first) with its latest rating and correction."""
        query = """
          select i.*, f.rating, f.corrected from interactions i left join feedback f on f.seq =
            (select max(seq) from feedback where interaction_id = i.id)
          where i.created >= ? order by i.created"""
        with self._db() as db:
            out = [dict(r) for r in db.execute(query, (since or 0.0,))]
        for r in out:
            for key in ("chunk_ids", "citations", "request", "prompt"):
                r[key] = None if r[key] is None else json.loads(r[key])
            r["assigned"], r["stream"], r["refused"] = bool(r["assigned"]), bool(r["stream"]), bool(r["refused"])
        return out


def _make_private(path: Path) -> None:
    """The log holds whole prompts and answers: owner-only, whatever the umask. SQLite gives the -wal and -shm
    files the database's own mode, so creating (or tightening, for a log from an older version) the database
    file first covers them; existing ones are tightened too."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        st = p.stat() if p.exists() else None
        if st and stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():  # only the owner may chmod
            os.chmod(p, 0o600)


def log_path(project) -> Path:
    return project.root / "interactions.db"
