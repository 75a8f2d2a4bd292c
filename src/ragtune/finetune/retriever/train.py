"""Training a retriever job with sentence-transformers' own trainers: the bi-encoder with
CachedMultipleNegativesRankingLoss over (query, positive, hard negatives), the cross-encoder with
BinaryCrossEntropyLoss over (query, passage, relevant or not). Both start from the packaged
all-MiniLM-L6-v2 (the cross-encoder from its weights, with a new scoring head), log, checkpoint and
cancel through the job store like a generator job, and resume from the trainer's own checkpoints."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ragtune.finetune.jobs import JobStore, job_dir
from ragtune.finetune.retriever.config import RetrieverTuneConfig
from ragtune.finetune.retriever.onnx_export import export_onnx
from ragtune.finetune.retriever.pairs import Pair, read_pairs
from ragtune.finetune.trainer import last_checkpoint, tracker

MODEL_DIR = "model"
ONNX_DIR = "onnx"


def embedder_rows(pairs: list[Pair]) -> list[dict[str, str]]:
    """anchor, positive, negative_1..n: the column order (Cached)MultipleNegativesRankingLoss reads."""
    return [{"anchor": p.query, "positive": p.positive, **{f"negative_{i + 1}": n for i, n in enumerate(p.negatives)}}
            for p in pairs]


def reranker_rows(pairs: list[Pair]) -> list[dict[str, Any]]:
    """(query, passage, label): the positive labelled 1, each hard negative 0."""
    rows: list[dict[str, Any]] = []
    for p in pairs:
        rows.append({"query": p.query, "passage": p.positive, "label": 1.0})
        rows += [{"query": p.query, "passage": n, "label": 0.0} for n in p.negatives]
    return rows


def _args(cfg: RetrieverTuneConfig, out: Path, has_val: bool) -> dict[str, Any]:
    import torch

    return {"output_dir": str(out / "checkpoints"), "num_train_epochs": cfg.epochs, "max_steps": cfg.max_steps,
            "learning_rate": cfg.lr, "warmup_steps": cfg.warmup_ratio,  # a float below 1 is a share of the steps
            "per_device_train_batch_size": cfg.batch_size, "per_device_eval_batch_size": cfg.batch_size,
            "seed": cfg.seed, "data_seed": cfg.seed, "logging_steps": 1, "save_strategy": "steps",
            "save_steps": cfg.save_steps, "save_total_limit": 2, "eval_strategy": "epoch" if has_val else "no",
            "report_to": [], "use_cpu": not torch.cuda.is_available(), "dataloader_num_workers": 0,
            "disable_tqdm": True}


def build_trainer(cfg: RetrieverTuneConfig, base: Path, out: Path, train: list[Pair], val: list[Pair] | None,
                  callbacks: list):
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback

    if cfg.kind == "embedder":
        from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
        from sentence_transformers.base.sampler import BatchSamplers
        from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

        model = SentenceTransformer(str(base), device="cpu")
        model.max_seq_length = cfg.max_seq_len
        # a query judged against two documents is two rows: never in one batch, where each would be the other's negative
        args = SentenceTransformerTrainingArguments(**_args(cfg, out, val is not None),
                                                    batch_sampler=BatchSamplers.NO_DUPLICATES)
        trainer: Any = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=Dataset.from_list(embedder_rows(train)),
            eval_dataset=Dataset.from_list(embedder_rows(val)) if val else None,
            # the same loss as MultipleNegativesRankingLoss, embedded a mini-batch at a time: memory no longer grows
            # with batch size x negatives (GradCache, Gao et al. 2021)
            loss=CachedMultipleNegativesRankingLoss(model, mini_batch_size=cfg.mini_batch_size), callbacks=callbacks)
    else:
        import torch
        from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
        from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

        model = CrossEncoder(str(base), num_labels=1, max_length=cfg.max_seq_len, device="cpu")
        negatives_per_positive = max(1, len(train[0].negatives))
        trainer = CrossEncoderTrainer(
            model=model, args=CrossEncoderTrainingArguments(**_args(cfg, out, val is not None)),
            train_dataset=Dataset.from_list(reranker_rows(train)),
            eval_dataset=Dataset.from_list(reranker_rows(val)) if val else None,
            # weigh the one positive as much as its negatives together, so "never relevant" is not the easy optimum
            loss=BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(negatives_per_positive))),
            callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # stdout belongs to --json; progress goes to the job's log
    trainer.remove_callback(ProgressCallback)
    return trainer


def run(project_root: Path, store: JobStore, job_id: str, base: Path | None = None) -> Path:
    """Train (or resume, from the last checkpoint) a retriever job to completion; returns the model folder.
    An embedder is also exported to ONNX for the project's `onnx` embedder."""
    from ragtune.packaged import minilm_dir

    job = store.get(job_id)
    config = RetrieverTuneConfig(**job.config)
    cfg = config.for_kind(config.kind)
    out = job_dir(project_root, job.id)
    checkpoint = last_checkpoint(out / "checkpoints")
    store.update(job.id, status="running", started=job.started or time.time(), error=None, cancel_requested=0,
                 pid=os.getpid())
    try:
        val = read_pairs(Path(job.val_file)) if job.val_file else None
        trainer = build_trainer(cfg, base or minilm_dir(), out, read_pairs(Path(job.train_file)), val,
                                [tracker(store, job.id)])
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        if store.get(job.id).cancel_requested:
            store.update(job.id, status="cancelled", finished=time.time())
            return out / MODEL_DIR
        trainer.model.save_pretrained(str(out / MODEL_DIR))
        if cfg.kind == "embedder":
            export_onnx(out / MODEL_DIR, out / ONNX_DIR)
        store.update(job.id, status="succeeded", finished=time.time())
        return out / MODEL_DIR
    except Exception as e:
        store.update(job.id, status="failed", finished=time.time(), error=f"{type(e).__name__}: {e}")
        raise
