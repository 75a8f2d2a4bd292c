"""Tuned models by name: ``ft:<job-id>`` resolves to its base model plus the job's LoRA adapter."""

from __future__ import annotations

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import job_dir


def tuned_model_spec(project, name: str) -> ComponentSpec:
    job = JobStore(project.root / "jobs.db").get(name)
    adapter = job_dir(project.root, job.id) / "adapter"
    if job.status != "succeeded" or not adapter.is_dir():
        raise RagtuneError(f"{name} is not usable: job {job.id} is {job.status}"
                           + (f" ({job.error})" if job.error else ""))
    return ComponentSpec(type="transformers", params={"base": job.base, "adapter": str(adapter.resolve())})
