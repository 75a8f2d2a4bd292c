"""Training on this machine: TRL's SFTTrainer with a peft LoRA adapter (finetune.trainer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragtune.component import Component
from ragtune.finetune.backends.protocol import TUNE_BACKENDS
from ragtune.finetune.jobs import Job, JobStore


@TUNE_BACKENDS.register("local")
@dataclass
class LocalBackend(Component):
    def submit(self, project_root: Path, store: JobStore, job: Job) -> None:
        from ragtune.finetune.trainer import run

        run(project_root, store, job.id)
