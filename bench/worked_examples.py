"""ragtune's built-in worked examples (src/ragtune/rag/data/worked_examples.jsonl) before the grounded prompt,
against the same prompt without them: the `rag` variant as `ask` and the server run it
(``resolve(project, "rag", examples=...)``), through the evaluator's ``ask`` and ``to_row``.

Two question sets: the 24 demo questions over the shipped demo knowledge base (fresh project, default config),
and 40 mini-wiki dev questions from the training part of bench/bakeoff_miniwiki.py's split (shuffled with seed
0, the first 100 are its held-out evaluation part and are not used here). The two conditions run in blocks, so
llama.cpp's prompt cache serves each block's shared prefix as it serves consecutive requests; the order of the
blocks alternates between the sets. llama.cpp runs on one thread (--threads): on a shared, loaded machine its
threads' barrier waits cost more than a second core gains. A finished block is kept in bench/.work and reused
by a re-run. The decision of ``answer.worked_examples`` rests on this table.

    nice .venv/bin/python bench/worked_examples.py [--models smollm2-135m] [--miniwiki 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

from _common import MINIWIKI, WORK, ensure_ingested, md_table, write_results
from bakeoff_miniwiki import split

NAME = "worked_examples"
ROOT = WORK / NAME
CONDITIONS = {"without": False, "with": True}


def demo_project():
    from ragtune.app.demo import kb_path

    project, _ = ensure_ingested(ROOT / "demo", kb_path())
    return project


def miniwiki_project():
    built = WORK / "qa_miniwiki" / "project"  # qa_miniwiki.py's index of the same passages, when it exists
    target = ROOT / "miniwiki"
    if not target.exists() and built.exists():
        shutil.copytree(built, target)
    project, _ = ensure_ingested(target, MINIWIKI / "passages.jsonl")
    return project


def run_block(project, questions, model: str, examples: bool, label: str) -> dict:
    from ragtune.app.variants import resolve
    from ragtune.evaluation.outcome import Outcome, outcome
    from ragtune.evaluation.qa import ask, summarize, to_row

    variant = resolve(project, "rag", model=model, examples=examples)
    generator = project.generator(variant.generator)
    generator.generate([{"role": "user", "content": "Hello"}], max_tokens=1)  # load the model outside the timing
    cfg = project.config
    rows = []
    for n, q in enumerate(questions, start=1):
        rows.append(to_row(q, ask(q, variant, project.retriever, generator, cfg.answer, cfg.retrieval.mode)))
        print(f"  [{label}] {n}/{len(questions)} {rows[-1].seconds:.1f}s {rows[-1].answer[:60]!r}", flush=True)
    s = summarize(rows)
    outcomes = [outcome(r) for r in rows]
    secs = [r.seconds for r in rows]
    return {"examples": examples, "shots": len(variant.shots), **s.model_dump(),
            "seconds_mean": sum(secs) / len(secs), "right": sum(o.right for o in outcomes),
            "outcomes": {o.value: outcomes.count(o) for o in Outcome},
            "answers": [r.model_dump(include={"id", "reference", "answer", "refused", "f1", "seconds"}) for r in rows]}


def main() -> None:
    from ragtune.evaluation.qa import read_questions

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["smollm2-135m"])
    ap.add_argument("--miniwiki", type=int, default=40, help="training-part questions of the mini-wiki dev split")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    args = ap.parse_args()
    from ragtune.app.demo import demo_rows
    from ragtune.config import ComponentSpec

    sets = {"demo": (demo_project(), read_questions(demo_rows()), ["without", "with"]),
            "miniwiki": (miniwiki_project(), read_questions(split(100, 0)[1][:args.miniwiki]), ["with", "without"])}
    runs = []
    for project, _, _ in sets.values():
        project.config.generator = ComponentSpec(type="llamacpp", params={"threads": args.threads})
    for model in args.models:
        for name, (project, questions, order) in sets.items():
            for cond in order:
                t = time.perf_counter()
                kept = ROOT / "blocks" / f"{model}-{name}-{cond}-{len(questions)}-t{args.threads}.json"
                if kept.exists():
                    block = json.loads(kept.read_text())
                else:
                    block = run_block(project, questions, model, CONDITIONS[cond], f"{name} {cond}")
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    kept.write_text(json.dumps(block))
                print(f"{model} {name} {cond}: F1 {block['f1']:.3f} EM {block['exact_match']:.3f} right "
                      f"{block['right']}/{len(questions)} refusals {block['refusal_rate']:.2f} "
                      f"{block['seconds_mean']:.2f} s/answer ({time.perf_counter() - t:.0f} s)", flush=True)
                runs.append({"model": model, "set": name, "condition": cond, "order": order.index(cond), **block})
    write_results(NAME, {"threads": args.threads,
                         "miniwiki_questions": "dev split shuffled with random.Random(0), items 100.. (training part), first "
                                               + str(args.miniwiki), "runs": runs})
    print(table(json.loads((WORK.parent / "results" / f"{NAME}.json").read_text())))


def table(p: dict) -> str:
    rows = [[r["model"], r["set"], r["condition"], r["questions"], f"{r['f1']:.3f}", f"{r['exact_match']:.3f}",
             f"{r['containment']:.3f}", f"{r['right']}/{r['questions']}", f"{r['refusal_rate']:.2f}",
             f"{r['seconds_mean']:.2f}", f"{r['latency_p95']:.2f}", round(r["prompt_tokens_mean"]),
             round(r["completion_tokens_mean"], 1)] for r in p["runs"]]
    return md_table(["model", "questions", "worked examples", "n", "F1", "EM", "contains reference", "right",
                     "refusal rate", "s/answer mean", "s/answer p95", "prompt tokens", "answer tokens"], rows)


if __name__ == "__main__":
    main()
