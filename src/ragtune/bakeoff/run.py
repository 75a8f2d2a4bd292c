"""Run every variant over one question set and score it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragtune.bakeoff.cache import CachedGenerator, GenerationCache
from ragtune.bakeoff.judgments import citation_correct, supported
from ragtune.bakeoff.statistics import mean_interval, paired_difference, ratio
from ragtune.bakeoff.variants import Variant
from ragtune.config import AnswerConfig
from ragtune.cost.prices import PriceBook
from ragtune.evaluation.answer_metrics import exact_match, percentile, token_f1
from ragtune.raft.build import QA, locate_oracle
from ragtune.rag.answer import Answer, answer, finish
from ragtune.rag.prompts import STOP
from ragtune.stores.filters import Condition

QUALITY = ("exact_match", "f1", "faithfulness", "citation_correctness", "refusal_precision", "refusal_recall")


@dataclass
class Question:
    id: str
    question: str
    answer: str
    hidden_doc: str = ""
    """For a question made unanswerable: the document holding its answer, kept out of retrieval."""

    @property
    def answerable(self) -> bool:
        return bool(self.answer) and not self.hidden_doc


def read_questions(rows: list[dict]) -> list[Question]:
    return [Question(str(r.get("_id", n)), r["question"], str(r.get("answer") or "")) for n, r in enumerate(rows)]


def make_unanswerable(questions: list[Question], n: int, search, seed: int) -> list[Question]:
    """Pair ``n`` answerable questions with a corpus that lacks their source: the document of each
    one's oracle chunk is excluded from retrieval, so the right outcome becomes a refusal."""
    pool = [q for q in questions if q.answer]
    made = []
    for q in random.Random(seed).sample(pool, min(n, len(pool))):
        oracle = locate_oracle(QA(q.question, q.answer), search(q.question))
        if oracle is not None:
            made.append(Question(q.id + ":hidden", q.question, q.answer, hidden_doc=oracle.chunk.doc_id))
    return made


def ask(variant: Variant, q: Question, project, generator, cfg: AnswerConfig, mode: str) -> dict:
    """One question through one variant, as users get it: retrieval variants through ``answer()``, the
    others straight to the model, both judged by ``finish()``."""
    generator.seconds = 0.0
    if variant.retrieval:
        where = [Condition("doc_id", "!=", q.hidden_doc)] if q.hidden_doc else []
        a = answer(q.question, project.retriever, generator, cfg, mode=mode, where=where, system=variant.system)
    else:
        out = generator.generate(variant.messages(q.question, []), max_tokens=cfg.max_tokens,
                                 temperature=cfg.temperature, stop=STOP)
        a = finish(Answer(q.question, "", False), out, generator.seconds)
    hits, cited, plain = a.contexts, [c.n for c in a.citations if not c.inferred], a.plain_text
    return {"id": q.id, "question": q.question, "reference": q.answer, "answerable": q.answerable,
            "hidden_doc": q.hidden_doc or None, "variant": variant.name, "answer": a.text, "final": plain,
            "refused": a.refused,
            "exact_match": exact_match(plain, q.answer) if q.answerable else None,
            "f1": token_f1(plain, q.answer) if q.answerable else None,
            "supported": None if a.refused else supported(a.text, hits),
            "citation_correct": None if a.refused else citation_correct(a.text, cited, hits),
            "contexts": [h.chunk.chunk_id for h in hits], "cited": cited,
            "prompt_tokens": a.prompt_tokens, "completion_tokens": a.completion_tokens,
            "seconds": a.retrieve_seconds + generator.seconds, "cached": generator.hit}


def score(records: list[dict], prices: PriceBook, variant: Variant) -> dict:
    """One variant's metrics; records of a question asked several times are averaged first."""
    by_q: dict[str, list[dict]] = {}
    for r in records:
        by_q.setdefault(r["id"], []).append(r)

    def per_q(key: str) -> list[float]:
        vals = [[r[key] for r in rs if r[key] is not None] for rs in by_q.values()]
        return [float(np.mean(v)) for v in vals if v]

    refused = [float(np.mean([r["refused"] for r in rs])) for rs in by_q.values()]
    unanswerable = [float(not rs[0]["answerable"]) for rs in by_q.values()]
    seconds = [r["seconds"] for r in records]
    prompt = float(np.mean([r["prompt_tokens"] for r in records]))
    completion = float(np.mean([r["completion_tokens"] for r in records]))
    per_query = float(np.mean(seconds))
    return {
        "model": variant.model, "retrieval": variant.retrieval, "n": len(by_q),
        "metrics": {
            "exact_match": mean_interval(per_q("exact_match")),
            "f1": mean_interval(per_q("f1")),
            "faithfulness": mean_interval(per_q("supported")),
            "citation_correctness": mean_interval(per_q("citation_correct")),
            # the positive class is "should refuse": precision over refusals, recall over unanswerables
            "refusal_precision": ratio([r * u for r, u in zip(refused, unanswerable, strict=True)], refused),
            "refusal_recall": ratio([r * u for r, u in zip(refused, unanswerable, strict=True)], unanswerable),
        },
        "latency_ms": {"p50": percentile(seconds, 50) * 1000, "p95": percentile(seconds, 95) * 1000,
                       "mean": per_query * 1000},
        "tokens": {"prompt_mean": prompt, "completion_mean": completion},
        "seconds_per_query": per_query,
        "cost_per_1k_queries": 1000 * prices.measured_per_query(variant.model, prompt, completion, per_query),
    }


def run_bakeoff(project, questions: list[Question], variants: list[Variant], out: Path, prices: PriceBook,
                repeats: int = 1, progress: Callable[[str, int], None] = lambda s, n: None) -> dict:
    """Answers go to ``out``/answers.jsonl, generations to ``out``/cache.db; returns the scores."""
    out.mkdir(parents=True, exist_ok=True)
    cache = GenerationCache(out / "cache.db")
    cfg, mode = project.config.answer, project.config.retrieval.mode
    records: dict[str, list[dict]] = {}
    for v in variants:
        inner = project.generator(v.spec)
        asked = [q for q in questions if v.retrieval or not q.hidden_doc]  # hiding a document needs retrieval
        for r in range(repeats):
            gen = CachedGenerator(inner, v.spec.model_dump(), cache, repeat=r)
            for q in asked:
                records.setdefault(v.name, []).append({**ask(v, q, project, gen, cfg, mode), "repeat": r})
                progress(v.name, 1)
    with (out / "answers.jsonl").open("w", encoding="utf-8") as f:
        for rs in records.values():
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rs)
    scores = {v.name: score(records[v.name], prices, v) for v in variants if records.get(v.name)}
    return {"variants": scores, "paired_vs_rag": _paired(records) if "rag" in records else {}}


def _paired(records: dict[str, list[dict]]) -> dict:
    def by_question(name: str, key: str) -> dict[str, float]:
        acc: dict[str, list[float]] = {}
        for r in records[name]:
            if r[key] is not None:
                acc.setdefault(r["id"], []).append(r[key])
        return {k: float(np.mean(v)) for k, v in acc.items()}

    out = {}
    for name in records:
        if name == "rag":
            continue
        out[name] = {}
        for key in ("f1", "exact_match"):
            a, b = by_question(name, key), by_question("rag", key)
            common = sorted(set(a) & set(b))
            out[name][key] = paired_difference([a[k] for k in common], [b[k] for k in common])
    return out
