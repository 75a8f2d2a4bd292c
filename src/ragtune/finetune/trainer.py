"""LoRA fine-tuning with TRL's SFTTrainer and a peft LoRA config: no hand-written training loop.

Chat examples become TRL prompt-completion pairs (everything before the last assistant turn is the
prompt), so the loss covers the assistant's answer only, and both halves are rendered with the base
model's own chat template, the one used at inference."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.finetune.dataset import read_chat_file
from ragtune.finetune.jobs import JobStore, job_dir
from ragtune.generation.transformers_base import load_base


@dataclass
class TuneConfig:
    epochs: float = 3.0
    """Passes over the training data."""
    lr: float = 1e-3
    """Peak learning rate. LoRA on small models wants a high one: on the shipped set, SmolLM2 at 2e-4 for 3
    epochs never took up the answer format; 1e-3 for 5 epochs followed it every time (bench/tune_quality)."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (effective scale alpha / r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA path."""
    max_steps: int = -1
    """Stop after this many optimiser steps (-1: run the epochs)."""
    batch_size: int = 4
    """Examples per device step."""
    grad_accum: int = 2
    """Steps accumulated per optimiser update."""
    max_seq_len: int = 1024
    """Tokens per example; longer ones are truncated."""
    seed: int = 0
    """Seed for shuffling, dropout and initialisation."""
    save_steps: int = 20
    """Checkpoint every this many optimiser steps (what `tune resume` restarts from)."""
    merge: bool = False
    """Also write the base model with the adapter merged in (a standalone model folder)."""
    init_adapter: str | None = None
    """Continue training this LoRA adapter folder (a finished local job's) instead of a fresh one; its rank,
    alpha and dropout then stand, not the three settings above."""


def to_prompt_completion(path: Path) -> list[dict]:
    cf = read_chat_file(path)
    errors = [str(f) for f in cf.findings if f.severity == "error"]
    if errors:
        raise RagtuneError("the data has errors; run 'ragtune data validate':\n" + "\n".join(errors))
    return [{"prompt": e.messages[:-1], "completion": e.messages[-1:]} for e in cf.examples]


def build_trainer(job, out: Path, model, tokenizer, callbacks=()):
    """The SFTTrainer for a job: TRL prompt-completion data, a peft LoRA config, checkpoints in ``out``."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import PrinterCallback, ProgressCallback
    from trl import SFTConfig, SFTTrainer

    cfg = TuneConfig(**job.config)
    train = Dataset.from_list(to_prompt_completion(Path(job.train_file)))
    val = Dataset.from_list(to_prompt_completion(Path(job.val_file))) if job.val_file else None
    args = SFTConfig(
        output_dir=str(out / "checkpoints"), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.lr, per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, max_length=cfg.max_seq_len, seed=cfg.seed, data_seed=cfg.seed,
        logging_steps=1, save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2,
        eval_strategy="epoch" if val is not None else "no", report_to=[], completion_only_loss=True,
        use_cpu=not _cuda(), dataloader_num_workers=0, disable_tqdm=True)
    lora = None
    if cfg.init_adapter:  # continued training: the adapter's weights are the start, trainable again
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, cfg.init_adapter, is_trainable=True)
    else:
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=train, eval_dataset=val, processing_class=tokenizer,
                         peft_config=lora, callbacks=list(callbacks))
    # their log lines go to stdout, which belongs to --json; progress is reported on stderr instead
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


def run(project_root: Path, store: JobStore, job_id: str, model=None, tokenizer=None) -> Path:
    """Train (or resume, from the last checkpoint) a job to completion; returns the adapter folder.
    ``model``/``tokenizer`` override the base (tests pass a tiny random model)."""
    job = store.get(job_id)
    out = job_dir(project_root, job.id)
    checkpoint = last_checkpoint(out / "checkpoints")
    store.update(job.id, status="running", started=job.started or time.time(), error=None, cancel_requested=0,
                 pid=os.getpid())
    try:
        if model is None:
            model, tokenizer = load_base(job.base)
        trainer = build_trainer(job, out, model, tokenizer, [tracker(store, job.id)])
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        if store.get(job.id).cancel_requested:
            store.update(job.id, status="cancelled", finished=time.time())
            return out / "adapter"
        trainer.save_model(str(out / "adapter"))  # collective under a multi-process launcher: every rank calls it
        if not trainer.is_world_process_zero():  # the rest of the job's outputs and state: one writer
            return out / "adapter"
        tokenizer.save_pretrained(str(out / "adapter"))
        if job.config.get("merge"):
            trainer.model.merge_and_unload().save_pretrained(str(out / "merged"))
            tokenizer.save_pretrained(str(out / "merged"))
        export_for_llamacpp(job.base, out)
        store.update(job.id, status="succeeded", finished=time.time())
        return out / "adapter"
    except Exception as e:
        store.update(job.id, status="failed", finished=time.time(), error=f"{type(e).__name__}: {e}")
        raise


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint a trainer can resume from: a process killed while saving leaves a folder
    without its trainer_state.json, which is skipped."""
    done = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").exists()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def tracker(store: JobStore, job_id: str):
    """A transformers callback that records each logged loss as a step of the job (``tune logs``), echoes it
    on stderr, and stops training after the current step once ``tune cancel`` asked for it."""
    from transformers import TrainerCallback

    started = time.perf_counter()

    class Track(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            values = {k: logs[k] for k in ("loss", "eval_loss", "learning_rate", "epoch") if k in logs}
            if values:
                store.log_step(job_id, state.global_step, seconds=time.perf_counter() - started, **values)
                shown = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
                print(f"job {job_id} step {state.global_step}/{state.max_steps}  {shown}", file=sys.stderr, flush=True)

        def on_step_end(self, args, state, control, **kw):
            if store.get(job_id).cancel_requested:
                control.should_training_stop = True

    return Track()


def export_for_llamacpp(base: str, out: Path) -> Path | None:
    """A base that is a GGUF file also gets the adapter in llama.cpp's format, so the tuned model
    answers through the same fast engine as its base."""
    from ragtune.generation.models import PACKAGED, resolve_gguf

    if base not in PACKAGED and not base.endswith(".gguf"):
        return None
    from ragtune.finetune.gguf_adapter import export_gguf_adapter

    return export_gguf_adapter(out / "adapter", resolve_gguf(base), out / "adapter.gguf")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
