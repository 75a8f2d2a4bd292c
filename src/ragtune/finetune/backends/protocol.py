"""The fine-tuning backend contract: everything the jobs service (app/jobs.py) asks of whoever trains a
job, so that no caller needs to know which backend it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ragtune.config import ComponentSpec
from ragtune.finetune.jobs import Job, JobStore
from ragtune.finetune.trainer import TuneConfig
from ragtune.registry import Registry


@dataclass(frozen=True)
class Launch:
    """How a job that trains on this machine is run; a hosted job ignores it (it always returns at once)."""

    detach: bool = False
    """Run in a background process and return at once (its output goes to the job's train.log)."""
    launcher: str = "none"
    """none: one Python process; accelerate: ``accelerate launch``, one process per GPU."""
    num_processes: int | None = None
    """With accelerate: processes to start (default: one per GPU)."""


class TuneBackend(Protocol):
    ignored: tuple[str, ...]
    """TuneConfig fields this backend has no setting for (the user is told when a job starts)."""
    trains_here: bool
    """Whether ragtune's own trainer runs the job, so its settings mean the same to another LoRA trainer
    (an Axolotl export) as they did here."""

    def check(self, cfg: TuneConfig) -> None:
        """Refuse settings this backend cannot honour, before anything is created or uploaded."""
        ...

    def length_tokenizer(self, base: str) -> str:
        """What counts tokens in the validation length check (``chat_counter``): the base model's own
        tokenizer where it is here, else ``words``."""
        ...

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        """Start training ``job`` and record in ``store`` what happened (a local backend trains it here,
        to completion unless detached; a hosted one uploads the data, creates the provider's job and returns)."""
        ...

    def run_here(self, project_root: Path, store: JobStore, job: Job) -> None:
        """Train a created job in this process to completion (what a detached or accelerate launch runs), or
        refuse where the training happens elsewhere."""
        ...

    def refresh(self, store: JobStore, job: Job) -> Job:
        """The job row, brought up to date with what the backend knows."""
        ...

    def cancel(self, store: JobStore, job: Job) -> Job:
        """Stop a queued or running job (a running local one stops after its current step)."""
        ...

    def resume(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        """Continue an unfinished job from its last checkpoint, or refuse to."""
        ...

    def progress(self, project_root: Path, store: JobStore, job: Job) -> dict[str, Any]:
        """What ``tune status`` shows besides the job row: losses and checkpoints, or the provider's events."""
        ...

    def steps(self, store: JobStore, job: Job) -> list[dict[str, Any]]:
        """Per-step training and validation loss, oldest first, or a refusal where none are recorded here."""
        ...

    def adapter(self, project_root: Path, job: Job) -> Path:
        """The trained LoRA adapter folder of a succeeded job, for evaluation here, or a refusal."""
        ...

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        """The finished model as a generator (what ``ft:<job-id>`` answers with), or a refusal."""
        ...

    def describe(self, job: Job) -> str:
        """One line: where the started job stands and how to use it."""
        ...


TUNE_BACKENDS: Registry[TuneBackend] = Registry("tune_backend")
