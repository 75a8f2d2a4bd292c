"""The shipped fine-tuning example set: SmolLM2-135M tuned with LoRA against its base, on the set's
own held-out split (format adherence, token F1, loss), plus the general-knowledge forgetting check.
Runs the user's path through the CLI: `data split`, `tune start`, `tune eval --json`.

    .venv/bin/python bench/tune_quality.py [--epochs 5] [--max-seq-len 384] [--lr 1e-3]

Re-running reuses the finished job of the same configuration and redoes only the evaluation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from importlib.resources import files
from pathlib import Path

from _common import WORK, md_table, ragtune_json, write_results

SUPPORT = Path(str(files("ragtune") / "demo" / "finetune" / "support.jsonl"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=float, default=5.0)
    ap.add_argument("--max-seq-len", type=int, default=384)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    work = WORK / "tune_quality"
    project = work / "project"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "support.jsonl"
    shutil.copyfile(SUPPORT, data)
    ragtune_json("data", "split", str(data), "--val", "0.15", "--seed", "0", "--force")
    train, val = work / "support.train.jsonl", work / "support.val.jsonl"

    started, t = time.time(), time.perf_counter()
    job = ragtune_json("tune", "start", "--reuse", "--train", str(train), "--val", str(val), "--base", "smollm2-135m",
                       "--epochs", str(args.epochs), "--max-seq-len", str(args.max_seq_len), "--lr", str(args.lr),
                       "--project", str(project))
    tune_seconds = None if job["created"] < started else time.perf_counter() - t  # reused: not timed
    print(f"reusing job {job['id']}" if tune_seconds is None else f"tuned job {job['id']} in {tune_seconds:.0f}s")
    t = time.perf_counter()
    ev = ragtune_json("tune", "eval", job["id"], "--project", str(project))
    eval_seconds = time.perf_counter() - t
    b, tu = ev["models"]["base"], ev["models"]["tuned"]
    keys = ("loss", "perplexity", "exact_match", "f1", "format_adherence")
    result = {"model": "SmolLM2-135M-Instruct", "job": job["id"], "config": job["config"],
              "train_examples": sum(1 for x in train.read_text().splitlines() if x.strip()),
              "val_examples": ev["examples"], "format_signature": ev["format_signature"],
              "base": {k: b[k] for k in keys} | {"general_knowledge": b["general_knowledge"]["accuracy"]},
              "tuned": {k: tu[k] for k in keys} | {"general_knowledge": tu["general_knowledge"]["accuracy"]},
              "forgetting": ev["forgetting"], "tune_seconds": tune_seconds, "eval_seconds": eval_seconds,
              "examples": [{"reference": r, "base": a, "tuned": c} for r, a, c in
                           zip([json.loads(x)["messages"][-1]["content"] for x in val.read_text().splitlines()][:3],
                               b["answers"], tu["answers"], strict=False)]}
    write_results("tune_quality", result)
    print(table(result))


def table(result: dict) -> str:
    b, t = result["base"], result["tuned"]
    rows = [[k, b[k], t[k], t[k] - b[k]] for k in ("format_adherence", "f1", "exact_match", "loss", "perplexity",
                                                  "general_knowledge")]
    return (md_table(["metric", "base", "tuned", "tuned − base"], rows) +
            f"\n\n{result['train_examples']} training / {result['val_examples']} held-out examples; "
            f"format signature: {' → '.join('`' + s + '`' for s in result['format_signature'])}. " +
            (f"Tuning took {result['tune_seconds']:.0f} s" if result["tune_seconds"] else
             "The tuned job came from an earlier run (training speed: tune_speed above)") +
            f"; evaluation {result['eval_seconds']:.0f} s. Settings: {result['config']['epochs']:g} epochs, lr "
            f"{result['config']['lr']:g}, LoRA r {result['config']['lora_r']}, batch {result['config']['batch_size']} x "
            f"{result['config']['grad_accum']}, {result['config']['max_seq_len']} tokens.")


if __name__ == "__main__":
    main()
