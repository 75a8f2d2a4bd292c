"""Retriever jobs: a bi-encoder or a cross-encoder re-ranker trained on this machine by
sentence-transformers (finetune.retriever.train). They live in the same job store as generator jobs, so
status, logs, cancel and resume are the same commands; what they produce is an embedder or a re-ranker,
never a generator (``ragtune tune use`` makes it the project's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.backends.local import LocalBackend
from ragtune.finetune.backends.protocol import TUNE_BACKENDS, Launch
from ragtune.finetune.jobs import Job, JobStore
from ragtune.finetune.retriever.config import BACKEND
from ragtune.finetune.trainer import TuneConfig


@TUNE_BACKENDS.register(BACKEND)
@dataclass
class RetrieverBackend(LocalBackend):
    trains_here: ClassVar[bool] = False  # no LoRA settings: nothing another LoRA trainer could run

    def check(self, cfg: TuneConfig) -> None:
        raise RagtuneError("the retriever backend trains embedders and re-rankers: use 'ragtune tune retriever'")

    def length_tokenizer(self, base: str) -> str:
        return "words"

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        if launch.launcher != "none":
            raise RagtuneError("a retriever job trains in one process; --launcher does not apply")
        super().submit(project_root, store, job, launch)

    def run_here(self, project_root: Path, store: JobStore, job: Job) -> None:
        from ragtune.finetune.retriever.train import run

        run(project_root, store, job.id)

    def adapter(self, project_root: Path, job: Job) -> Path:
        raise RagtuneError(f"job {job.id} trained a retriever, not a generator: compare it with "
                           f"'ragtune eval retrieval --job {job.id}'")

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        raise RagtuneError(f"{job.model_name} is a retriever (job {job.id}), not a model that answers: make it the "
                           f"project's with 'ragtune tune use {job.id}'")

    def describe(self, job: Job) -> str:
        if job.pid and job.status in ("queued", "running"):
            return (f"job {job.id} ({job.config.get('kind')}) running in the background (pid {job.pid}); "
                    f"'ragtune tune logs {job.id} --follow'")
        return (f"job {job.id} ({job.config.get('kind')}) {job.status}: compare with 'ragtune eval retrieval --job "
                f"{job.id}', make it the project's with 'ragtune tune use {job.id}'")
