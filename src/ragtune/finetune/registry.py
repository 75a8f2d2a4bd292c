"""Tuned models by name: ``ft:<job-id>`` resolves to its base model plus the job's LoRA adapter, or, for a
hosted job, to the provider's fine-tuned model on its OpenAI-compatible endpoint."""

from __future__ import annotations

import json

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import job_dir


def tuned_model_spec(project, name: str) -> ComponentSpec:
    store = JobStore(project.root / "jobs.db")
    job = store.get(name)
    if job.backend != "local":  # served by its provider: the openai generator on the provider's endpoint
        from ragtune.finetune.backends import TUNE_BACKENDS

        backend = TUNE_BACKENDS.create(job.backend)
        job = backend.refresh(store, job)
        if job.status != "succeeded" or not job.provider_model:
            raise RagtuneError(f"{name} is not usable yet: job {job.id} is {job.status} on {job.backend}"
                               + (f" ({job.error})" if job.error else ""))
        return backend.generator_spec(job)
    adapter = job_dir(project.root, job.id) / "adapter"
    if job.status != "succeeded" or not adapter.is_dir():
        raise RagtuneError(f"{name} is not usable: job {job.id} is {job.status}"
                           + (f" ({job.error})" if job.error else ""))
    gguf = adapter.parent / "adapter.gguf"
    if gguf.is_file():  # the same tuned weights, on llama.cpp: several times faster on a CPU
        return ComponentSpec(type="llamacpp", params={"model": job.base, "adapter": str(gguf.resolve())})
    return ComponentSpec(type="transformers", params={"base": job.base, "adapter": str(adapter.resolve())})


def trained_system_prompt(project, name: str) -> str | None:
    """The system message the job's training examples open with, so the tuned model is asked the way
    it was taught (None when they have none or the file is gone)."""
    job = JobStore(project.root / "jobs.db").get(name)
    try:
        with open(job.train_file, encoding="utf-8") as f:
            first = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    messages = first.get("messages") or []
    return messages[0]["content"] if messages and messages[0].get("role") == "system" else None
