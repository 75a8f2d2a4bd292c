"""Together AI's fine-tuning API through its official ``together`` SDK (pip install 'ragtune[together]').
A LoRA job with ragtune's own rank, alpha, dropout, learning rate and sequence length; the SDK checks the
file's format and the settings against the base model's limits before anything is sent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ragtune.errors import RagtuneError
from ragtune.finetune.backends.hosted import HostedBackend, Remote
from ragtune.finetune.backends.protocol import TUNE_BACKENDS
from ragtune.finetune.jobs import Job
from ragtune.finetune.trainer import TuneConfig


@TUNE_BACKENDS.register("together")
@dataclass
class TogetherBackend(HostedBackend):
    provider = "together"
    api_key_env = "TOGETHER_API_KEY"
    chat_url = "https://api.together.xyz/v1"
    statuses: ClassVar[dict[str, str]] = {"pending": "queued", "queued": "queued", "running": "running", "compressing": "running",
                "uploading": "running", "cancel_requested": "running", "cancelled": "cancelled", "error": "failed",
                "completed": "succeeded"}
    ignored = ("save_steps", "merge")

    def _make_client(self):
        try:
            from together import Together
        except ImportError as e:
            raise RagtuneError("the together backend needs its SDK: pip install 'ragtune[together]'") from e
        return Together(base_url=self.base_url or None, api_key=os.environ.get(self.api_key_env) or "not-set")

    def _upload(self, path: Path) -> str:
        return self.client.files.upload(file=path, purpose="fine-tune", check=True).id

    def _create(self, job: Job, cfg: TuneConfig, train_id: str, val_id: str | None) -> Remote:
        r = self.client.fine_tuning.create(
            training_file=train_id, validation_file=val_id or "", model=job.base, n_epochs=int(cfg.epochs),
            n_evals=int(cfg.epochs) if val_id else 0,  # one evaluation per epoch, like the local trainer
            batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.lr,
            lr_scheduler_type="linear", max_seq_length=cfg.max_seq_len, lora=True, lora_r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, lora_trainable_modules="all-linear",
            train_on_inputs=False, random_seed=cfg.seed, suffix=f"ragtune-{job.id}")
        return self._remote(r)

    def _retrieve(self, provider_id: str) -> Remote:
        return self._remote(self.client.fine_tuning.retrieve(provider_id))

    def _cancel(self, provider_id: str) -> None:
        self.client.fine_tuning.cancel(provider_id)

    def _events(self, provider_id: str) -> list[dict[str, Any]]:
        data = self.client.fine_tuning.list_events(provider_id).data
        return [{"created": e.created_at, "level": e.level, "message": e.message}
                for e in sorted(data, key=lambda e: e.created_at)]

    def _remote(self, r) -> Remote:
        error = None
        if r.status == "error":  # the job carries no message itself: its last error event does
            errors = [e["message"] for e in self._events(r.id) if e["level"] == "error"]
            error = errors[-1] if errors else "failed without an error event"
        # create answers with the SDK's hand-written type, retrieve with its generated one: two names, one field
        model = getattr(r, "output_name", None) or getattr(r, "x_model_output_name", None)
        return Remote(r.id, r.status, model, error)
