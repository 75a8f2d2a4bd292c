"""llama.cpp (xllamacpp wheels) vs transformers for the packaged SmolLM2-135M-Instruct GGUF, same
prompts, greedy, same number of new tokens, interleaved in one run: is llama.cpp worth its wheel?

    .venv/bin/python bench/generation_engines.py [--prompts 6] [--new-tokens 48]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import md_table, write_results
from ragtune.generation.llamacpp import LlamaCppGenerator
from ragtune.packaged import smollm2_gguf

PROMPTS = [
    "Explain in two sentences what a vector database does.",
    "Write a short note telling a customer their refund was approved.",
    "List three benefits of retrieval-augmented generation.",
    "What is the capital of France? Answer in one sentence.",
    "Summarise: The Team plan allows 600 requests per minute and 20 webhook endpoints.",
    "Give one tip for writing good fine-tuning examples.",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--new-tokens", type=int, default=48)
    args = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    llama = LlamaCppGenerator()
    prompts = PROMPTS[: args.prompts]

    def run_llama(p: str) -> int:
        out = llama._load().handle_chat_completions({"messages": [{"role": "user", "content": p}],
                                                      "max_tokens": args.new_tokens, "temperature": 0,
                                                      "ignore_eos": True})
        return out["usage"]["completion_tokens"]

    def run_hf(p: str) -> int:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                 do_sample=False)
        return out.shape[1] - ids["input_ids"].shape[1]

    run_llama(prompts[0]), run_hf(prompts[0])  # warm-up
    rates: dict[str, list[float]] = {"llama.cpp": [], "transformers": []}
    for p in prompts:
        for name, fn in (("llama.cpp", run_llama), ("transformers", run_hf)):
            t = time.perf_counter()
            n = fn(p)
            rates[name].append(n / (time.perf_counter() - t))
        print(f"  {len(rates['llama.cpp'])}/{len(prompts)}", flush=True)
    result = {"model": "SmolLM2-135M-Instruct Q4_1 (transformers: dequantised to fp32)",
              "prompts": len(prompts), "new_tokens": args.new_tokens,
              "tokens_per_s": {k: float(np.median(v)) for k, v in rates.items()}}
    result["speedup_llamacpp"] = result["tokens_per_s"]["llama.cpp"] / result["tokens_per_s"]["transformers"]
    write_results("generation_engines", result)
    print(table(result))


def table(result: dict) -> str:
    t = result["tokens_per_s"]
    return md_table(["engine", "tokens/s (median, prompt + generation)", "speed-up"],
                    [["llama.cpp (xllamacpp)", t["llama.cpp"], result["speedup_llamacpp"]],
                     ["transformers fp32", t["transformers"], 1.0]])


if __name__ == "__main__":
    main()
