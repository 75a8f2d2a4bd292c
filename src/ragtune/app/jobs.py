"""The fine-tuning jobs of one project: create (validated data, recorded by hash), launch, follow, cancel,
resume, evaluate, export, or reuse a finished one. `ragtune tune` and the bake-off's demo loop are adapters
over it; what differs between training here and at a provider is the backend's business
(finetune.backends), so nothing here or above asks which backend a job has."""

from __future__ import annotations

import builtins
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ragtune.app import corpus_snapshot
from ragtune.app.reuse import finished_job
from ragtune.errors import RagtuneError
from ragtune.finetune.backends import TUNE_BACKENDS, Launch, TuneBackend
from ragtune.finetune.chat_tokens import chat_counter
from ragtune.finetune.jobs import Job, JobStore, job_dir, job_store, list_jobs, sha256_file
from ragtune.finetune.trainer import TuneConfig
from ragtune.finetune.validate import validate
from ragtune.project import Project

__all__ = ["Jobs", "Launch", "job_row"]


def job_row(job: Job) -> dict[str, Any]:
    """A job as ``tune list/status --json`` and the server show it."""
    return {"id": job.id, "model": job.model_name, "base": job.base, "status": job.shown_status,
            "train_file": job.train_file, "val_file": job.val_file, "config": job.config,
            "created": job.created, "started": job.started, "finished": job.finished, "error": job.error,
            "backend": job.backend, "provider_job_id": job.provider_job_id, "provider_model": job.provider_model}


class Jobs:
    def __init__(self, project_root: Path):
        self.root = Path(project_root)
        self._store: JobStore | None = None

    @property
    def store(self) -> JobStore:
        if self._store is None:  # opened on first use: listing a project without jobs creates no file
            self._store = job_store(self.root)
        return self._store

    def backend(self, job: Job) -> TuneBackend:
        return TUNE_BACKENDS.create(job.backend)

    def list(self) -> list[Job]:
        return self._store.list() if self._store else list_jobs(self.root)

    def get(self, job_id: str) -> Job:
        return self.store.get(job_id)

    def create(self, train: Path, val: Path | None, base: str, cfg: TuneConfig, backend: str = "local") -> Job:
        """A queued job, once the backend accepts its settings and its data passed validation; nothing is
        created (or uploaded) otherwise. The data files are recorded with their SHA-256, so resume can
        refuse data that changed, and the project's index with its document hashes (app.corpus_snapshot)."""
        tuner = TUNE_BACKENDS.create(backend)
        tuner.check(cfg)
        report = validate(train, chat_counter(tuner.length_tokenizer(base)), val, cfg.max_seq_len)
        if not report.ok:
            raise RagtuneError("the data has errors, nothing was started:\n" +
                               "\n".join(str(f) for f in report.findings if f.severity == "error"))
        job = self.store.create(base, str(train.resolve()), sha256_file(train),
                                str(val.resolve()) if val else None, sha256_file(val) if val else None,
                                dataclasses.asdict(cfg), backend)
        corpus_snapshot.record(Project(self.root), job.id, train)  # what `ragtune drift` compares against
        return job

    def launch(self, job: Job, launch: Launch = Launch()) -> Job:
        """Set a created job training (see Launch); returns its row afterwards."""
        self.backend(job).submit(self.root, self.store, job, launch)
        return self.store.get(job.id)

    def start(self, train: Path, val: Path | None, base: str, cfg: TuneConfig, backend: str = "local",
              launch: Launch = Launch(), reuse: bool = False) -> Job:
        """Create and launch a job; with ``reuse``, a succeeded one on the same training data, base and
        settings (app.reuse, the rule the demo loop uses) is returned instead of training again."""
        if reuse and (done := finished_job(self.root, train, base, dataclasses.asdict(cfg))):
            return done
        return self.launch(self.create(train, val, base, cfg, backend), launch)

    def run_here(self, job_id: str) -> None:
        """Train a created local job in this process: what a detached or accelerate launch runs."""
        job = self.store.get(job_id)
        self.backend(job).run_here(self.root, self.store, job)

    def status(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job brought up to date, and what its backend adds (losses and checkpoints, or events)."""
        job = self.store.get(job_id)
        tuner = self.backend(job)
        job = tuner.refresh(self.store, job)
        return job, tuner.progress(self.root, self.store, job)

    def steps(self, job_id: str) -> builtins.list[dict[str, Any]]:  # `list` here is the method above
        job = self.store.get(job_id)
        return self.backend(job).steps(self.store, job)

    def follow(self, job_id: str, poll_seconds: float = 2.0) -> Iterator[dict[str, Any]]:
        """Each step as it is logged, until the job is no longer queued or running."""
        shown = 0
        while True:
            steps = self.steps(job_id)
            yield from steps[shown:]
            shown = len(steps)
            if self.store.get(job_id).status not in ("queued", "running"):
                return
            time.sleep(poll_seconds)

    def cancel(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job.status not in ("queued", "running"):
            raise RagtuneError(f"job {job.id} is {job.status}; only queued or running jobs can be cancelled")
        return self.backend(job).cancel(self.store, job)

    def resume(self, job_id: str, launch: Launch = Launch()) -> Job:
        """Continue an interrupted, failed or cancelled job from its last checkpoint, on unchanged data."""
        job = self.store.get(job_id)
        self.backend(job).resume(self.root, self.store, job, launch)
        return self.store.get(job.id)

    def evaluate(self, job_id: str, data: Path | None = None, limit: int | None = None, max_tokens: int = 160,
                 general_limit: int | None = None, progress: Callable[[int], None] = lambda n: None) -> dict:
        """Tuned vs base on held-out chat data (default: the job's validation file), saved with the job."""
        from ragtune.app.variants import resolve, untuned
        from ragtune.finetune.evaluate import evaluate_job

        job = self.store.get(job_id)
        adapter = self.backend(job).adapter(self.root, job)
        data = data or (Path(job.val_file) if job.val_file else None)
        if data is None:
            raise RagtuneError(f"job {job.id} has no validation file; pass --data VAL.jsonl")
        p = Project(self.root)
        tuned = resolve(p, job.model_name)  # asked as `ask --model ft:<id>` and the server ask it
        answerers = {"base": p.generator(untuned(tuned).generator), "tuned": p.generator(tuned.generator)}
        result = evaluate_job(job.base, adapter, data, limit, max_tokens, general_limit, progress=progress,
                              answerers=answerers, asked=tuned)
        (job_dir(self.root, job.id) / "eval.json").write_text(json.dumps(result, indent=2))
        return result

    def export_axolotl(self, job_id: str, path: Path) -> Path:
        """The job's base model, LoRA and training settings and data as an Axolotl config."""
        from ragtune.finetune.axolotl import write_axolotl_config

        job = self.store.get(job_id)
        if not self.backend(job).trains_here:
            raise RagtuneError(f"job {job.id} trains on {job.backend}; only a local job has an Axolotl equivalent")
        return write_axolotl_config(job, path)
