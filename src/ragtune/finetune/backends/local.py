"""Training on this machine: TRL's SFTTrainer with a peft LoRA adapter (finetune.trainer), in this
process, in a detached one, or under accelerate (finetune.launchers)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ragtune.component import Component
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.backends.protocol import TUNE_BACKENDS, Launch
from ragtune.finetune.jobs import Job, JobStore, check_data_unchanged, job_dir
from ragtune.finetune.launchers import accelerate_command, run_command, write_accelerate_config
from ragtune.finetune.trainer import TuneConfig

LAUNCHERS = ("none", "accelerate")


@TUNE_BACKENDS.register("local")
@dataclass
class LocalBackend(Component):
    ignored: ClassVar[tuple[str, ...]] = ()
    trains_here: ClassVar[bool] = True

    def check(self, cfg: TuneConfig) -> None:
        """Every TuneConfig setting is honoured here."""

    def length_tokenizer(self, base: str) -> str:
        return base

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        if launch.launcher not in LAUNCHERS:
            raise RagtuneError(f"unknown launcher {launch.launcher!r}; known: {', '.join(LAUNCHERS)}")
        command = run_command(project_root, job.id)
        if launch.launcher == "accelerate":
            config = write_accelerate_config(job_dir(project_root, job.id) / "accelerate.yaml", launch.num_processes)
            command = accelerate_command(config, project_root, job.id)
            if not launch.detach:
                # its stdout joins stderr (fd 2): stdout belongs to --json
                if subprocess.run(command, stdout=2).returncode != 0:
                    raise RagtuneError(f"accelerate launch of job {job.id} failed; see 'ragtune tune status {job.id}'")
                return
        if launch.detach:
            log = job_dir(project_root, job.id) / "train.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
            store.update(job.id, pid=proc.pid)
            return
        self.run_here(project_root, store, job)

    def run_here(self, project_root: Path, store: JobStore, job: Job) -> None:
        from ragtune.finetune.trainer import run

        run(project_root, store, job.id)

    def refresh(self, store: JobStore, job: Job) -> Job:
        return store.get(job.id)  # the trainer writes every change to the row itself

    def cancel(self, store: JobStore, job: Job) -> Job:
        if job.status == "queued":
            store.update(job.id, status="cancelled", finished=time.time())
        else:  # the trainer checks the flag after each step and saves what it has
            store.update(job.id, cancel_requested=1)
        return store.get(job.id)

    def resume(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        if job.status == "succeeded":
            raise RagtuneError(f"job {job.id} already succeeded")
        check_data_unchanged(job)
        self.submit(project_root, store, job, launch)

    def progress(self, project_root: Path, store: JobStore, job: Job) -> dict[str, Any]:
        steps = store.steps(job.id)
        return {"steps": len(steps),
                "last_loss": next((s["loss"] for s in reversed(steps) if s["loss"] is not None), None),
                "last_eval_loss": next((s["eval_loss"] for s in reversed(steps) if s["eval_loss"] is not None), None),
                "checkpoints": sorted(p.name for p in (job_dir(project_root, job.id) / "checkpoints")
                                      .glob("checkpoint-*"))}

    def steps(self, store: JobStore, job: Job) -> list[dict[str, Any]]:
        return store.steps(job.id)

    def adapter(self, project_root: Path, job: Job) -> Path:
        adapter = job_dir(project_root, job.id) / "adapter"
        if job.status != "succeeded" or not adapter.is_dir():
            raise RagtuneError(f"job {job.id} is {job.shown_status}; only a succeeded job can be evaluated")
        return adapter

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        adapter = job_dir(project_root, job.id) / "adapter"
        if job.status != "succeeded" or not adapter.is_dir():
            raise RagtuneError(f"{job.model_name} is not usable: job {job.id} is {job.status}"
                               + (f" ({job.error})" if job.error else ""))
        gguf = adapter.parent / "adapter.gguf"
        if gguf.is_file():  # the same tuned weights, on llama.cpp: several times faster on a CPU
            return ComponentSpec(type="llamacpp", params={"model": job.base, "adapter": str(gguf.resolve())})
        return ComponentSpec(type="transformers", params={"base": job.base, "adapter": str(adapter.resolve())})

    def describe(self, job: Job) -> str:
        if job.pid and job.status in ("queued", "running"):
            return (f"job {job.id} running in the background (pid {job.pid}); "
                    f"'ragtune tune logs {job.id} --follow'")
        return f"job {job.id} {job.status}: use it as --model {job.model_name}"
