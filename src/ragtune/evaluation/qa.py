"""End-to-end answer evaluation: each question through the RAG pipeline, scored against its
reference with SQuAD EM / F1. An empty reference marks an unanswerable question, where the right
outcome is a refusal."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ragtune.config import AnswerConfig
from ragtune.evaluation.answer_metrics import exact_match, percentile, token_f1
from ragtune.generation.protocol import Generator
from ragtune.rag.answer import answer
from ragtune.rag.prompts import SYSTEM
from ragtune.retrieval.retriever import Retriever


def evaluate_qa(rows: list[dict], retriever: Retriever, generator: Generator, cfg: AnswerConfig, mode: str,
                out: Path | None = None, progress: Callable[[int], None] | None = None,
                system: str = SYSTEM) -> dict:
    results = []
    sink = out.open("w", encoding="utf-8") if out else None
    try:
        for row in rows:
            t = time.perf_counter()
            a = answer(row["question"], retriever, generator, cfg, mode=mode, system=system)
            seconds = time.perf_counter() - t
            ref = str(row.get("answer") or "")
            r = {"_id": row.get("_id"), "question": row["question"], "reference": ref, "answer": a.text,
                 "refused": a.refused, "answerable": bool(ref),
                 "em": exact_match(a.plain_text, ref) if ref else float(a.refused),
                 "f1": token_f1(a.plain_text, ref) if ref else float(a.refused),
                 "seconds": seconds, "citations": [c.chunk_id for c in a.citations],
                 "prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens}
            results.append(r)
            if sink:
                sink.write(json.dumps(r) + "\n")
                sink.flush()
            if progress:
                progress(1)
    finally:
        if sink:
            sink.close()
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    secs = [r["seconds"] for r in results]
    return {
        "questions": len(results),
        "exact_match": float(np.mean([r["em"] for r in answerable])) if answerable else 0.0,
        "f1": float(np.mean([r["f1"] for r in answerable])) if answerable else 0.0,
        "refusal_rate": float(np.mean([r["refused"] for r in results])) if results else 0.0,
        "false_refusal_rate": float(np.mean([r["refused"] for r in answerable])) if answerable else 0.0,
        "unanswerable_refused": float(np.mean([r["refused"] for r in unanswerable])) if unanswerable else None,
        "latency_p50": percentile(secs, 50), "latency_p95": percentile(secs, 95),
        "prompt_tokens_mean": float(np.mean([r["prompt_tokens"] for r in results])) if results else 0.0,
        "completion_tokens_mean": float(np.mean([r["completion_tokens"] for r in results])) if results else 0.0,
    }
