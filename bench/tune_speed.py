"""LoRA on the packaged SmolLM2-135M, this CPU: ragtune's job path vs plain TRL SFTTrainer with the
same model, data and config, alternating in one run. Seconds per step, tokens per second, peak RSS
(each run in a child process so their memory does not mix).

    .venv/bin/python bench/tune_speed.py [--steps 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from _common import md_table, write_results

SUPPORT = Path(str(files("ragtune") / "demo" / "finetune" / "support.jsonl"))
CONFIG = {"batch_size": 4, "grad_accum": 1, "max_seq_len": 192, "lr": 2e-4, "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.05}


def child(kind: str, steps: int) -> dict:
    from ragtune.finetune.jobs import JobStore
    from ragtune.finetune.trainer import TuneConfig, run
    from ragtune.generation.transformers_base import load_base

    work = Path(tempfile.mkdtemp())
    store = JobStore(work / "jobs.db")
    job = store.create("smollm2-135m", str(SUPPORT), "x", None, None,
                       vars(TuneConfig(max_steps=steps, save_steps=10_000, **CONFIG)))
    model, tok = load_base("smollm2-135m")
    rows = [json.loads(x)["messages"] for x in SUPPORT.read_text().splitlines() if x.strip()]
    t = time.perf_counter()
    if kind == "ragtune":
        run(work, store, job.id, model, tok)
    else:  # TRL as its documentation shows it: same data, LoRA and training settings, nothing of ragtune's
        from datasets import Dataset
        from peft import LoraConfig
        from trl import SFTConfig, SFTTrainer

        data = Dataset.from_list([{"prompt": m[:-1], "completion": m[-1:]} for m in rows])
        args = SFTConfig(output_dir=str(work / "plain"), max_steps=steps, learning_rate=CONFIG["lr"],
                         per_device_train_batch_size=CONFIG["batch_size"], gradient_accumulation_steps=1,
                         max_length=CONFIG["max_seq_len"], logging_steps=1, save_strategy="no", report_to=[],
                         use_cpu=True, seed=0)
        lora = LoraConfig(r=CONFIG["lora_r"], lora_alpha=CONFIG["lora_alpha"], lora_dropout=CONFIG["lora_dropout"],
                          target_modules="all-linear", task_type="CAUSAL_LM")
        SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=lora).train()
    seconds = time.perf_counter() - t
    mean_len = sum(len(tok.apply_chat_template(m, tokenize=True, return_dict=False)) for m in rows) / len(rows)
    tokens = mean_len * CONFIG["batch_size"] * steps  # tokens the steps processed, on average
    return {"seconds": seconds, "s_per_step": seconds / steps, "tokens_per_s": tokens / seconds,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", choices=["ragtune", "plain"])
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.steps)), flush=True)
        return
    runs: dict[str, list[dict]] = {"ragtune": [], "plain": []}
    for r in range(args.rounds):
        for kind in ("plain", "ragtune") if r % 2 else ("ragtune", "plain"):
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--steps", str(args.steps)],
                                 capture_output=True, text=True, check=True).stdout
            runs[kind].append(json.loads(out.split("RESULT ", 1)[1]))
            print(f"  round {r + 1} {kind}: {runs[kind][-1]['s_per_step']:.2f} s/step", flush=True)
    summary = {k: {m: sorted(x[m] for x in v)[len(v) // 2] for m in v[0]} for k, v in runs.items()}
    result = {"model": "SmolLM2-135M-Instruct (GGUF dequantised to fp32)", "steps": args.steps,
              "rounds": args.rounds, "config": CONFIG, "runs": runs, "median": summary,
              "ratio_ragtune_over_plain_s_per_step": summary["ragtune"]["s_per_step"] / summary["plain"]["s_per_step"]}
    write_results("tune_speed", result)
    print(table(result))


def table(result: dict) -> str:
    m = result["median"]
    return md_table(["path", "s/step", "tokens/s", "peak RSS MiB"],
                    [["plain TRL SFTTrainer", m["plain"]["s_per_step"], m["plain"]["tokens_per_s"],
                      m["plain"]["peak_rss_mib"]],
                     ["ragtune tune (job store, callbacks)", m["ragtune"]["s_per_step"], m["ragtune"]["tokens_per_s"],
                      m["ragtune"]["peak_rss_mib"]]]) + \
        f"\n\nragtune / plain s/step: {result['ratio_ragtune_over_plain_s_per_step']:.3f} (goal: <= 1, within noise)"


if __name__ == "__main__":
    main()
