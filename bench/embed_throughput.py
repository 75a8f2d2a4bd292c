"""Embedding throughput: ragtune's default OnnxEmbedder (packaged int8 all-MiniLM-L6-v2) against plain
sentence-transformers fp32 on the same SciFact passages, in the same process, rounds interleaved.

    .venv/bin/python bench/embed_throughput.py [--passages 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, md_table, write_results

NAME = "embed_throughput"


def load_passages(n: int) -> list[str]:
    texts = []
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            title, text = (row.get("title") or "").strip(), row["text"].strip()
            texts.append(f"{title}\n{text}" if title else text)  # as Chunk.indexed_text joins them
            if len(texts) >= n:
                break
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import numpy as np
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    from ragtune.embedding.onnx import OnnxEmbedder
    from ragtune.packaged import minilm_dir

    texts = load_passages(args.passages)
    print(f"{len(texts)} SciFact passages (title + text), mean {np.mean([len(t) for t in texts]):.0f} chars")

    onnx = OnnxEmbedder(batch_size=args.batch_size)
    st = SentenceTransformer(str(minilm_dir()), device="cpu")

    def run_onnx():
        return onnx.embed(texts)

    def run_st():
        return st.encode(texts, batch_size=args.batch_size)

    # warm-up: load both models, allocate, first-run costs out of the timings
    t = time.perf_counter()
    onnx.embed(texts[:64])
    st.encode(texts[:64], batch_size=args.batch_size)
    print(f"warm-up done in {time.perf_counter() - t:.1f}s")

    times: dict[str, list[float]] = {"onnx-int8": [], "st-fp32": []}
    cpu: dict[str, list[float]] = {"onnx-int8": [], "st-fp32": []}
    loads = []
    outputs = {}
    for r in range(args.rounds):
        order = [("onnx-int8", run_onnx), ("st-fp32", run_st)]
        if r % 2:
            order.reverse()  # alternate who goes first, so drift in machine load hits both alike
        for name, fn in order:
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            dt, dc = time.perf_counter() - t, time.process_time() - c
            times[name].append(dt)
            cpu[name].append(dc)
            loads.append(os.getloadavg()[0])
            outputs[name] = np.asarray(out, dtype=np.float32)
            print(f"  round {r + 1}/{args.rounds} {name}: {dt:.2f}s = {len(texts) / dt:.1f} passages/s "
                  f"(cpu {dc:.1f}s, load {loads[-1]:.2f})", flush=True)

    a = outputs["onnx-int8"]
    b = outputs["st-fp32"]
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = (a * b).sum(1)

    rows = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        med_cpu = statistics.median(cpu[name])
        rows[name] = {"seconds": [round(x, 3) for x in ts], "median_seconds": round(med, 3),
                      "passages_per_s": round(len(texts) / med, 1),
                      "cpu_seconds": [round(x, 3) for x in cpu[name]],
                      "passages_per_cpu_s": round(len(texts) / med_cpu, 1)}
    ratio = rows["onnx-int8"]["passages_per_s"] / rows["st-fp32"]["passages_per_s"]
    payload = {
        "passages": len(texts), "rounds": args.rounds, "batch_size": args.batch_size,
        "threads": {"onnxruntime_intra_op": onnx.threads or "cpu_count", "torch": torch.get_num_threads()},
        "onnxruntime_version": onnxruntime.__version__,
        "onnx_embedder": {k: getattr(onnx, k) for k in ("model", "quantize", "threads", "max_tokens", "batch_size")
                          if hasattr(onnx, k)},
        "engines": rows,
        "speedup_onnx_over_st": round(ratio, 3),
        "goal_speedup": 1.5,
        "goal_met": ratio >= 1.5,
        "speedup_per_cpu_second": round(rows["onnx-int8"]["passages_per_cpu_s"] / rows["st-fp32"]["passages_per_cpu_s"], 3),
        "loadavg_1min_during": [round(x, 2) for x in loads],
        "cosine_onnx_vs_st": {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5),
                              "p5": round(float(np.percentile(cos, 5)), 5)},
    }
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    e = p["engines"]
    rows = [[label, f"{e[k]['passages_per_s']:.1f}", f"{e[k]['median_seconds']:.1f}",
             " / ".join(f"{s:.1f}" for s in e[k]["seconds"]), f"{e[k]['passages_per_cpu_s']:.1f}"]
            for label, k in (("ragtune OnnxEmbedder (int8)", "onnx-int8"), ("sentence-transformers (fp32)", "st-fp32"))]
    c = p["cosine_onnx_vs_st"]
    return (md_table(["embedder", "passages/s (median)", "median s", "s per round", "passages per CPU-s"], rows) + "\n\n"
            + md_table(["passages x rounds", "speed-up int8/fp32 (wall)", "goal ≥ 1.5x met", "speed-up per CPU-s", "mean cosine",
                        "min cosine"],
                       [[f"{p['passages']:,} x {p['rounds']}", f"{p['speedup_onnx_over_st']:.2f}x", p["goal_met"],
                         f"{p['speedup_per_cpu_second']:.2f}x", f"{c['mean']:.4f}", f"{c['min']:.4f}"]]))


if __name__ == "__main__":
    main()
