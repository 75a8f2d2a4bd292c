"""The fine-tuning backend contract: one required method that sets a created job training."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ragtune.finetune.jobs import Job, JobStore
from ragtune.registry import Registry


class TuneBackend(Protocol):
    def submit(self, project_root: Path, store: JobStore, job: Job) -> None:
        """Start training ``job`` and record in ``store`` what happened (a local backend trains it here,
        to completion; a hosted one uploads the data, creates the provider's job and returns)."""
        ...


TUNE_BACKENDS: Registry[TuneBackend] = Registry("tune_backend")
