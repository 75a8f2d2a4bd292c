"""What a finished retriever job gives the project: its embedder (the exported ONNX model, run by the
`onnx` embedder with int8 compute like the default) or its re-ranker (the `cross-encoder` re-ranker
over the trained folder)."""

from __future__ import annotations

from pathlib import Path

from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.jobs import Job, job_dir
from ragtune.finetune.retriever.config import BACKEND, RetrieverTuneConfig
from ragtune.finetune.retriever.onnx_export import ONNX_FILE, TOKENIZER_FILE
from ragtune.finetune.retriever.train import MODEL_DIR, ONNX_DIR


def tuned_component(project_root: Path, job: Job) -> tuple[str, ComponentSpec]:
    """("embedder" or "reranker", its component spec) for a succeeded retriever job, or a refusal."""
    if job.backend != BACKEND:
        raise RagtuneError(f"job {job.id} tuned a generator; use it as --model {job.model_name}")
    if job.status != "succeeded":
        raise RagtuneError(f"job {job.id} is {job.shown_status}; only a succeeded retriever job can be used"
                           + (f" ({job.error})" if job.error else ""))
    out = job_dir(project_root, job.id)
    kind = RetrieverTuneConfig(**job.config).kind
    if kind == "embedder":
        onnx = out / ONNX_DIR
        spec = ComponentSpec(type="onnx", params={"model": str((onnx / ONNX_FILE).resolve()),
                                                  "tokenizer": str((onnx / TOKENIZER_FILE).resolve())})
        needed = [onnx / ONNX_FILE, onnx / TOKENIZER_FILE]
    else:
        spec = ComponentSpec(type="cross-encoder", params={"model": str((out / MODEL_DIR).resolve())})
        needed = [out / MODEL_DIR]
    if missing := [p for p in needed if not p.exists()]:
        raise RagtuneError(f"job {job.id}'s {kind} is gone ({missing[0]} does not exist)")
    return kind, spec
