"""OpenAI's fine-tuning API through the official ``openai`` SDK (also any server that implements it).
OpenAI chooses the adapter and learning rate itself: only epochs, batch size and seed are sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ragtune.finetune.backends.hosted import HostedBackend, Remote
from ragtune.finetune.backends.protocol import TUNE_BACKENDS
from ragtune.finetune.jobs import Job
from ragtune.finetune.trainer import TuneConfig
from ragtune.openai_endpoint import OpenAIEndpoint


@TUNE_BACKENDS.register("openai")
@dataclass
class OpenAIBackend(HostedBackend):
    provider = "openai"
    api_key_env = "OPENAI_API_KEY"
    statuses: ClassVar[dict[str, str]] = {"validating_files": "queued", "queued": "queued", "running": "running",
                                          "succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled"}
    ignored = ("lr", "lora_r", "lora_alpha", "lora_dropout", "max_seq_len", "save_steps", "merge")

    def _make_client(self):
        # the same official client (and retry policy) the openai generator uses
        return OpenAIEndpoint(base_url=self.base_url, api_key_env=self.api_key_env).client

    def _upload(self, path: Path) -> str:
        with path.open("rb") as f:
            return self.client.files.create(file=f, purpose="fine-tune").id

    def _create(self, job: Job, cfg: TuneConfig, train_id: str, val_id: str | None) -> Remote:
        hyper = {"n_epochs": int(cfg.epochs), "batch_size": cfg.batch_size * cfg.grad_accum}
        extra = {"validation_file": val_id} if val_id else {}
        r = self.client.fine_tuning.jobs.create(
            model=job.base, training_file=train_id, seed=cfg.seed, suffix=f"ragtune-{job.id}",
            method={"type": "supervised", "supervised": {"hyperparameters": hyper}}, **extra)
        return _remote(r)

    def _retrieve(self, provider_id: str) -> Remote:
        return _remote(self.client.fine_tuning.jobs.retrieve(provider_id))

    def _cancel(self, provider_id: str) -> None:
        self.client.fine_tuning.jobs.cancel(provider_id)

    def _events(self, provider_id: str) -> list[dict[str, Any]]:
        page = self.client.fine_tuning.jobs.list_events(provider_id, limit=100)
        return [{"created": e.created_at, "level": e.level, "message": e.message}
                for e in sorted(page.data, key=lambda e: e.created_at)]


def _remote(r) -> Remote:
    return Remote(r.id, r.status, r.fine_tuned_model, r.error.message if r.error and r.error.message else None)
