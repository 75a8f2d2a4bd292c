"""The whole RAFT loop on mini-wiki, through the CLI a user would run: split the dev questions
(seeded) into a training part and an evaluation part that is never trained on, `raft build` from
the training part twice (RAFT, and `--plain` fine-tuning data from the same questions, which isolates
what RAFT's construction adds), `tune start` on each, then `bakeoff` over every variant on the
evaluation part (plus questions made unanswerable by hiding their source document), both tuned models
side by side.

    .venv/bin/python bench/bakeoff_miniwiki.py [--models smollm2-135m] [--eval 100] [--epochs 1] [--until tune]

Every stage is reused when it is already complete: the index, the RAFT file, a succeeded job on the
same data and settings, and cached generations. Wall time is recorded per stage.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import time

from _common import MINIWIKI, RESULTS, WORK, ensure_ingested, machine_info, md_table, ragtune_json, write_results
from ragtune.bakeoff.judge_summary import JudgeSanity
from ragtune.bakeoff.run import read_answers
from ragtune.bakeoff.scoring import METRIC_OF, PAIRED
from ragtune.evaluation.qa import per_question
from ragtune.generation.llamacpp import LlamaCppGenerator

ROOT = WORK.resolve() / "bakeoff_miniwiki"
"""Resolved: a tuned model's generations are cached under its adapter's path, so a run from a worktree whose
bench/.work links to another's reuses that tree's generations only when both name the same real path."""
UNTRAINED_VARIANTS = "base,fewshot,rag,fewshot+rag"
TUNED_VARIANTS = "ft,ft+rag"
JUDGE_MODEL = "qwen2.5-coder-0.5b"
"""The judge: the largest packaged model (Qwen2.5-Coder-0.5B, its GGUF assembled by ragtune.packaged.qwen_gguf),
served by llama.cpp's own OpenAI-compatible server; nothing stronger runs on this machine."""
RECIPES = {"raft": [], "raft-answer": ["--target", "answer"], "plain": ["--plain"]}
"""Training data built from the same questions: RAFT (oracle among hard distractors, 20% without the oracle
teaching refusal) with its quote-then-answer target and with the short cited answer as target (the shipped
reader's recipe), and plain fine-tuning (the oracle alone, the short cited answer)."""


def split(n_eval: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(evaluation, training): the held-out split (ragtune.evaluation.held_out) of the dev questions."""
    from ragtune.evaluation.held_out import held_out_split

    return held_out_split(MINIWIKI / "questions.dev.jsonl", n_eval, seed)


def write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def per_question_scores(bakeoff_dir) -> dict:
    """Each variant's per-question F1 and EM (repeats averaged, as the bake-off pairs them), recorded beside the
    results so that a reader (and tests/unit/test_bench_results.py) can check every comparison against them."""
    rows: dict = {}
    for r in read_answers(bakeoff_dir):
        rows.setdefault(r.variant, []).append(r)
    return {v: {m: per_question(rs, METRIC_OF[m]) for m in PAIRED} for v, rs in rows.items()}


def seed_generations(source, target) -> None:
    """Give the judged run's cache every generation the full bake-off made, so that only judgments are new."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(source, target)
        return
    with sqlite3.connect(target) as db:
        db.execute("attach database ? as full", (str(source),))
        db.execute("insert or ignore into generations select * from full.generations")


def judged_sample(work, args, bakeoff_args: list[str]) -> dict:
    """The same variants on a seeded sample of the evaluation questions, every answer graded by the LLM judge
    (a judgment took 9-180 s on the shared, loaded cores, so the whole set did not fit). The sample is a prefix of one
    seeded shuffle, so a larger sample reuses a smaller one's judgments. No unanswerable questions: the judge
    grades answerable ones only."""
    rows = [json.loads(x) for x in (work / "eval.jsonl").read_text().splitlines() if x.strip()]
    random.Random(args.seed + 1).shuffle(rows)
    write(work / "judged.jsonl", rows[:args.judge_questions])
    seed_generations(work / "bakeoff" / "cache.db", work / "judged" / "cache.db")
    server = LlamaCppGenerator(model=JUDGE_MODEL, context=4096, threads=1)
    t = time.perf_counter()
    result = ragtune_json("bakeoff", "--questions", str(work / "judged.jsonl"), *bakeoff_args, "--unanswerable", "0",
                          "--judge-base-url", f"{server.server.listening_address}/v1", "--judge-model", JUDGE_MODEL,
                          "--out", str(work / "judged"))
    return {"questions": args.judge_questions, "sample_seed": args.seed + 1, "seconds": time.perf_counter() - t,
            "bakeoff": result}


def run_model(model: str, args, stages: dict) -> dict:
    work = ROOT / (f"{model}-{args.label}" if args.label else model)
    work.mkdir(parents=True, exist_ok=True)
    project = work / "project"
    t = time.perf_counter()
    if not project.exists():  # a copy of the shared mini-wiki index; each model gets its own jobs
        source, _ = ensure_ingested(WORK / "qa_miniwiki" / "project", MINIWIKI / "passages.jsonl")
        shutil.copytree(source.root, project)
    stages["index"] = time.perf_counter() - t
    evaluation, training = split(args.eval, args.seed)
    write(work / "eval.jsonl", evaluation)
    write(work / "train.jsonl", training)
    p = ["-p", str(project)]

    recipes = {r: RECIPES[r] for r in args.recipes}
    built, jobs = {}, {}
    for recipe, flags in recipes.items():
        data = work / f"{recipe}.jsonl"
        t = time.perf_counter()
        built[recipe] = None if data.exists() else ragtune_json(
            "raft", "build", "--qa", str(work / "train.jsonl"), "--out", str(data), "--seed", str(args.seed), *flags, *p)
        stages[f"{recipe}_build"] = time.perf_counter() - t
        built[recipe] = built[recipe] or {"examples": sum(1 for _ in data.open())}
        print(f"[{model}] {recipe}: {built[recipe]['examples']} examples", flush=True)
    for recipe in recipes:
        t = time.perf_counter()
        jobs[recipe] = ragtune_json("tune", "start", "--reuse", "--train", str(work / f"{recipe}.jsonl"), "--base", model,
                                    "--epochs", str(args.epochs), "--lr", str(args.lr), "--max-seq-len",
                                    str(args.max_seq_len), *p)
        stages[f"{recipe}_tune"] = time.perf_counter() - t
        print(f"[{model}] tuned {recipe}: {jobs[recipe]['model']} ({stages[f'{recipe}_tune']:.0f}s)", flush=True)
    if args.until == "tune":
        return {}

    # rag as it ships (the built-in worked examples; SmolLM2 reads its passages cut), the strongest prompt
    # a tuned model must beat; the reader that ships for SmolLM2 is off: it was trained on this split's training
    # part. One llama.cpp thread: with other work on the 2 cores, a thread per core stalled (one 12-token
    # answer took 103 s against 4.4 s).
    ragtune_json("project", "set", "answer.reader=false", "answer.worked_examples=null", "generator.params.threads=1",
                 *p)
    t = time.perf_counter()
    tuned = [a for recipe, job in jobs.items() for a in ("--ft-model", f"{recipe}={job['model']}")]
    variants = f"{UNTRAINED_VARIANTS},{TUNED_VARIANTS}" if jobs else UNTRAINED_VARIANTS
    common = ["--variants", variants, *tuned, "--fewshot", str(work / "train.jsonl"), "--model", model, *p]
    result = ragtune_json("bakeoff", "--questions", str(work / "eval.jsonl"), *common, "--unanswerable",
                          str(args.unanswerable), "--out", str(work / "bakeoff"))
    stages["bakeoff"] = time.perf_counter() - t
    print(f"[{model}] bake-off ({stages['bakeoff']:.0f}s)", flush=True)
    judged = judged_sample(work, args, common) if args.judge_questions else None
    return {"model": model, "label": args.label, "machine": machine_info(), "jobs": {r: j["id"] for r, j in jobs.items()},
            "tune_config": {r: j["config"] for r, j in jobs.items()}, "data": built,
            "eval_questions": args.eval, "train_questions": len(training), "stages_seconds": dict(stages),
            "bakeoff": result, "per_question": per_question_scores(work / "bakeoff"), "judged": judged}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["smollm2-135m"])
    ap.add_argument("--eval", type=int, default=100, help="evaluation questions (never trained on)")
    ap.add_argument("--unanswerable", type=int, default=20, help="evaluation questions with their source hidden")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--max-seq-len", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recipes", nargs="*", choices=list(RECIPES), default=list(RECIPES),
                    help="training recipes to tune and compare (none: the untrained variants alone)")
    ap.add_argument("--judge-questions", type=int, default=0,
                    help="also judge every variant's answers to this many evaluation questions (seeded sample)")
    ap.add_argument("--label", default="", help="record the run under this label beside the model's other runs "
                    "(its own folder under .work: nothing shared with them)")
    ap.add_argument("--until", choices=["tune", "bakeoff"], default="bakeoff", help="stop after training")
    args = ap.parse_args()
    runs = [run_model(m, args, {}) for m in args.models]
    if args.until == "tune":
        return
    # another model's recorded run stays: each run is its own invocation (hours apart, each with its machine)
    path = RESULTS / "bakeoff_miniwiki.json"
    recorded = json.loads(path.read_text()) if path.exists() else {"runs": []}
    replaced = {(m, args.label) for m in args.models}
    kept = [{"machine": recorded["machine"], **r} for r in recorded["runs"]
            if (r["model"], r.get("label", "")) not in replaced]
    write_results("bakeoff_miniwiki", {"runs": kept + runs})
    print(table({"runs": kept + runs}))


def _ci(m: dict | None) -> str:
    return "–" if not m or m["mean"] is None else f"{m['mean']:.2f} [{m['low']:.2f}, {m['high']:.2f}]"


def _vs(d: dict | None) -> str:
    """A paired F1 difference with its p-values and detectable difference (absent in older results: left out)."""
    if not d or d["diff"] is None:
        return "–"
    extra = [f"p={d['p_value']:.3f}"] + [f"{label}{d[k]:.{digits}f}" for k, label, digits in
                                          (("p_holm", "Holm p=", 3), ("mdd", "MDD ", 2)) if d.get(k) is not None]
    return f"{d['diff']:+.3f} ({', '.join(extra)})"


JUDGE = (("judge_correct", "judge correct"), ("judge_supported", "judge supported"))
"""The LLM judge's metrics, shown when the run had a judge (older results and runs without one lack them)."""


def table(result: dict) -> str:
    parts = []
    for run in result["runs"]:
        b = run["bakeoff"]
        best = b.get("best_untrained")
        judged = [(k, label) for k, label in JUDGE
                  if any((v["metrics"].get(k) or {}).get("mean") is not None for v in b["variants"].values())]
        rows = []
        for name, v in b["variants"].items():
            m = v["metrics"]
            vs_best = "strongest untrained" if name == best else _vs(
                b.get("paired_vs_best_untrained", {}).get(name, {}).get("f1"))
            vs_tuned = "strongest tuned" if name == b.get("best_tuned") else _vs(
                b.get("paired_vs_best_tuned", {}).get(name, {}).get("f1"))  # schema 1 results lack it: "–"
            rows.append([name, _ci(m["f1"]), _ci(m["exact_match"]), _ci(m.get("reference_recall")),
                         _ci(m.get("containment")), _ci(m["faithfulness"]), _ci(m["refusal_recall"]),
                         *(_ci(m.get(k)) for k, _ in judged), v["latency_ms"]["p50"], v["latency_ms"]["p95"],
                         "baseline" if name == "rag" else _vs(b["paired_vs_rag"].get(name, {}).get("f1")), vs_best,
                         vs_tuned])
        stages = ", ".join(f"{k} {s:.0f} s" for k, s in run["stages_seconds"].items())
        data = run["data"] if "data" in run else {"raft": run["raft"]}  # results before the plain fine-tuning comparison
        built = ", ".join(f"{n['examples']} {recipe} examples" for recipe, n in data.items()) or "no model tuned"
        tuned = ", ".join(f"{label} = {model}" for label, model in b.get("tuned_models", {}).items())
        named = f" (`{run['label']}`)" if run.get("label") else ""
        parts.append(f"**{run['model']}**{named}: {run['train_questions']} training questions -> {built}; "
                     f"{b['questions']['n']} evaluation questions ({b['questions']['unanswerable']} unanswerable)"
                     + (f"; tuned models {tuned}" if tuned else "") + f". Strongest untrained variant: {best or '–'}. "
                     f"Stages: {stages}." + _measured(run) + "\n\n" +
                     md_table(["variant", "F1 [95% CI]", "EM", "reference recall", "containment", "faithfulness",
                               "refusal recall", *(label for _, label in judged), "p50 ms", "p95 ms", "F1 vs rag",
                               "F1 vs best untrained", "F1 vs best tuned"], rows))
        if run.get("judged"):
            parts.append(judged_table(run["judged"]))
    return "\n\n".join(parts)


def _measured(run: dict) -> str:
    """When and at what load a run was measured (runs recorded before each kept its own machine: the file's)."""
    m = run.get("machine")
    return f" Measured {m['date'][:10]}, load at start {m['loadavg_at_start'][0]}." if m else ""


def _unrelated(sanity: dict) -> str:
    """The third sanity check's clause, and the report's warning when it fails; empty for runs recorded before it
    was measured (so they render as they did)."""
    u = sanity.get("unrelated")
    if u is None:
        return ""
    warning = (" The judge passes answers that share no word with the reference: its verdicts should not be used "
               "to rank the variants." if JudgeSanity.model_validate(sanity).lenient else "")
    return (f"; answers sharing no word with the reference judged not correct {u['agree']}/{u['n']} (nearly all "
            f"should be).{warning}")


def judged_table(judged: dict) -> str:
    """The judged sample: each variant's F1 and the judge's verdicts on the same questions, the judge's sanity
    check against exact match, and how its ranking of the variants agrees with F1's."""
    b = judged["bakeoff"]
    j = b["judge"]
    sanity, ranking = j["sanity"], j["ranking"]
    rows = [[name, _ci(v["metrics"]["f1"]), _ci(v["metrics"]["judge_correct"]), _ci(v["metrics"]["judge_supported"]),
             _vs(b["paired_vs_best_untrained"].get(name, {}).get("judge_correct"))] for name, v in b["variants"].items()]
    tau = ranking["kendall_tau"]
    disagree = ", ".join(f"{a} > {c}" for a, c in ranking["disagreements"]) or "none"
    return (f"LLM judge {j['setup']['model']} (prompt {j['setup']['prompt_version']}) on a seeded sample of "
            f"{judged['questions']} evaluation questions, every variant on the same questions "
            f"({sanity['judged']} judgments, {sanity['unparsed']} unreadable; {judged['seconds']:.0f} s):\n\n"
            + md_table(["variant", "F1 [95% CI]", "judge correct", "judge supported",
                        f"judge correct vs {b['best_untrained']}"], rows)
            + f"\n\nSanity: exact match 1 judged correct {sanity['exact']['agree']}/{sanity['exact']['n']}; empty "
              f"answers and refusals judged not correct {sanity['empty']['agree']}/{sanity['empty']['n']}"
              + (_unrelated(sanity) or ".") + " "
              f"By F1: {', '.join(ranking['by_f1'])}. By the judge: {', '.join(ranking['by_judge'])}. Kendall "
              f"tau-b {'–' if tau is None else f'{tau:.2f}'}; F1 ranks higher where the judge ranks lower: {disagree}.")


if __name__ == "__main__":
    main()
