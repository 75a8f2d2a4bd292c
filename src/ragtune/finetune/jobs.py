"""The job store: one SQLite file in the project. Every state change is a committed row, so a
killed trainer leaves a job that `tune resume` can pick up from its last checkpoint."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import RagtuneError

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = ("succeeded", "failed", "cancelled")
_SCHEMA = """
create table if not exists jobs (
  id text primary key, base text not null, train_file text not null, train_sha256 text not null,
  val_file text, val_sha256 text, config text not null, status text not null, cancel_requested integer default 0,
  created real not null, started real, finished real, error text, pid integer);
create table if not exists steps (
  job_id text not null, step integer not null, epoch real, loss real, eval_loss real, learning_rate real,
  seconds real, primary key (job_id, step));
"""
# columns added since: a store created before them gets them when it is next opened
_ADDED = {"backend": "text default 'local'", "provider_job_id": "text", "provider_model": "text"}


@dataclass
class Job:
    id: str
    base: str
    train_file: str
    train_sha256: str
    val_file: str | None
    val_sha256: str | None
    config: dict
    status: str
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None
    error: str | None
    pid: int | None
    backend: str = "local"
    """Who trains it: local, or a hosted provider (finetune.backends)."""
    provider_job_id: str | None = None
    """The provider's id for a hosted job."""
    provider_model: str | None = None
    """The provider's name for the finished model (what its chat endpoint serves)."""

    @property
    def model_name(self) -> str:
        return f"ft:{self.id}"

    @property
    def shown_status(self) -> str:
        """A running job whose process is gone was killed: say so, and that resume continues it."""
        if self.status == "running" and self.pid and not _alive(self.pid):
            return "interrupted"
        return self.status


JOBS_DB = "jobs.db"  # in the project folder


def job_store(project_root: Path) -> JobStore:
    """The project's job store (created on first use)."""
    return JobStore(Path(project_root) / JOBS_DB)


def list_jobs(project_root: Path) -> list[Job]:
    """Every job of the project, oldest first; none (and no store file created) when it never had one."""
    return job_store(project_root).list() if (Path(project_root) / JOBS_DB).exists() else []


def job_dir(project_root: Path, job_id: str) -> Path:
    """Where a local job keeps its checkpoints, adapter, logs and evaluation."""
    return Path(project_root) / "jobs" / job_id


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_data_unchanged(job: Job) -> None:
    """Training on is only honest on the data the job started with: its files must hash the same."""
    for path, sha in ((job.train_file, job.train_sha256), (job.val_file, job.val_sha256)):
        if path and (not Path(path).is_file() or sha256_file(Path(path)) != sha):
            raise RagtuneError(f"{path} changed or vanished since job {job.id} started; start a new job")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed child that nobody has reaped yet is a zombie: gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class JobStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            have = {r["name"] for r in db.execute("pragma table_info(jobs)")}
            for name, kind in _ADDED.items():
                if name not in have:
                    try:
                        db.execute(f"alter table jobs add column {name} {kind}")
                    except sqlite3.OperationalError as e:  # another process opening it added it first
                        if "duplicate column" not in str(e):
                            raise

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def create(self, base: str, train_file: str, train_sha: str, val_file: str | None, val_sha: str | None,
               config: dict, backend: str = "local") -> Job:
        job_id = uuid.uuid4().hex[:10]
        with self._db() as db:
            db.execute("insert into jobs (id, base, train_file, train_sha256, val_file, val_sha256, config, status, "
                       "created, backend) values (?,?,?,?,?,?,?,?,?,?)",
                       (job_id, base, train_file, train_sha, val_file, val_sha, json.dumps(config), "queued",
                        time.time(), backend))
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        job_id = job_id.removeprefix("ft:")
        with self._db() as db:
            row = db.execute("select * from jobs where id = ?", (job_id,)).fetchone()
        if row is None:
            raise RagtuneError(f"no fine-tuning job {job_id!r}; see 'ragtune tune list'")
        data = dict(row)
        data["config"] = json.loads(data["config"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        return Job(**data)

    def list(self) -> list[Job]:
        with self._db() as db:
            ids = [r["id"] for r in db.execute("select id from jobs order by created")]
        return [self.get(i) for i in ids]

    def update(self, job_id: str, **fields) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            db.execute(f"update jobs set {cols} where id = ?", (*fields.values(), job_id))

    def log_step(self, job_id: str, step: int, **values) -> None:
        keys = ["job_id", "step", *values]
        with self._db() as db:
            # training and evaluation report the same step separately: merge, never overwrite with nulls
            updates = ", ".join(f"{k} = excluded.{k}" for k in values) or "step = excluded.step"
            db.execute(f"insert into steps ({', '.join(keys)}) values ({', '.join('?' * len(keys))}) "
                       f"on conflict(job_id, step) do update set {updates}", (job_id, step, *values.values()))

    def steps(self, job_id: str) -> builtins.list[dict]:  # `list` here is the method above
        with self._db() as db:
            return [dict(r) for r in db.execute("select * from steps where job_id = ? order by step", (job_id,))]
