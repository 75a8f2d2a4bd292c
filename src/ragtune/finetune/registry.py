"""Tuned models by name: ``ft:<job-id>`` resolves to what its backend serves (the base model plus the
job's LoRA adapter, or a hosted provider's fine-tuned model on its OpenAI-compatible endpoint)."""

from __future__ import annotations

import json

from ragtune.config import ComponentSpec
from ragtune.finetune.backends import TUNE_BACKENDS
from ragtune.finetune.jobs import job_store


def tuned_model_spec(project, name: str) -> ComponentSpec:
    store = job_store(project.root)
    job = store.get(name)
    return TUNE_BACKENDS.create(job.backend).generator_spec(project.root, store, job)


def trained_system_prompt(project, name: str) -> str | None:
    """The system message the job's training examples open with, so the tuned model is asked the way
    it was taught (None when they have none or the file is gone)."""
    job = job_store(project.root).get(name)
    try:
        with open(job.train_file, encoding="utf-8") as f:
            first = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    messages = first.get("messages") or []
    return messages[0]["content"] if messages and messages[0].get("role") == "system" else None
