"""A job's settings as an Axolotl config, to train the same LoRA adapter on a GPU cluster with Axolotl
(``axolotl train OUT.yaml``). Keys follow Axolotl's config schema (axolotl.utils.schemas.config).

The data stays ragtune's chat JSONL, read by Axolotl's ``chat_template`` loader with the base model's own
chat template, learning the assistant turns only. ragtune learns the last assistant turn only, so the two
agree exactly for single-turn examples (what ``ragtune raft build`` writes)."""

from __future__ import annotations

from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.finetune.jobs import Job
from ragtune.finetune.trainer import TuneConfig

# the Hugging Face checkpoints the packaged GGUF models were quantised from: Axolotl trains those
HF_CHECKPOINTS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
                  "qwen2.5-coder-0.5b": "Qwen/Qwen2.5-Coder-0.5B-Instruct"}


def base_checkpoint(base: str) -> str:
    if base in HF_CHECKPOINTS:
        return HF_CHECKPOINTS[base]
    if Path(base).is_dir():
        return str(Path(base).resolve())
    raise RagtuneError(f"Axolotl trains Hugging Face checkpoints; {base!r} is not a packaged model or a model folder")


def _dataset(path: str) -> dict:
    return {"path": path, "ds_type": "json", "type": "chat_template", "field_messages": "messages",
            "roles_to_train": ["assistant"], "train_on_eos": "turn"}


def axolotl_config(job: Job, output_dir: str) -> dict:
    cfg = TuneConfig(**job.config)
    out = {
        "base_model": base_checkpoint(job.base),
        "chat_template": "tokenizer_default",  # the template the model answers with at inference
        "datasets": [_dataset(job.train_file)],
        "adapter": "lora", "lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha, "lora_dropout": cfg.lora_dropout,
        "lora_target_linear": True,  # peft's target_modules="all-linear"
        "learning_rate": cfg.lr, "lr_scheduler": "linear", "warmup_steps": 0, "optimizer": "adamw_torch",
        "weight_decay": 0.0,  # TRL's SFTConfig defaults, which the local trainer uses
        "num_epochs": cfg.epochs, "micro_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum, "sequence_len": cfg.max_seq_len,
        "excess_length_strategy": "truncate", "seed": cfg.seed, "save_steps": cfg.save_steps, "logging_steps": 1,
        "bf16": "auto", "output_dir": output_dir,
    }
    if cfg.max_steps > 0:
        out["max_steps"] = cfg.max_steps
    if cfg.init_adapter:
        out["lora_model_dir"] = cfg.init_adapter  # Axolotl's key for the adapter training continues from
    if job.val_file:
        out["test_datasets"] = [{**_dataset(job.val_file), "split": "train"}]
        out["evals_per_epoch"] = 1
    return out


def write_axolotl_config(job: Job, path: Path) -> Path:
    import yaml

    data = axolotl_config(job, str(path.resolve().parent / f"axolotl-{job.id}"))
    path.write_text(f"# ragtune job {job.id} as an Axolotl config: axolotl train {path.name}\n"
                    + yaml.safe_dump(data, sort_keys=False))
    return path
