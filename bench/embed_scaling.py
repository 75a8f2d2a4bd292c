"""Embedding scaling across worker processes: Ray Data running ragtune's default OnnxEmbedder (one
thread per worker) on 1 and then 2 workers over the same SciFact passages, against the embedder in this
process on one thread (the baseline) and on all cores (what `ragtune ingest` does).

    .venv/bin/python bench/embed_scaling.py [--passages 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import md_table, write_results
from embed_throughput import load_passages

NAME = "embed_scaling"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=2000)
    args = ap.parse_args()

    import numpy as np
    import ray

    from ragtune.embedding import EMBEDDERS
    from ragtune.embedding.distributed import embed_distributed

    texts = load_passages(args.passages)
    one_thread = {"type": "onnx", "params": {"threads": 1}}
    runs: dict[str, dict] = {}

    def timed(label: str, fn, workers: int):
        t0 = time.perf_counter()
        vectors = fn()
        seconds = time.perf_counter() - t0
        runs[label] = {"workers": workers, "seconds": round(seconds, 2),
                       "passages_per_s": round(len(texts) / seconds, 1)}
        print(f"  {label}: {seconds:.1f}s", flush=True)
        return vectors

    # warm the quantised-model cache once so no run pays for building it
    EMBEDDERS.from_dict(one_thread).embed(texts[:8])
    base = timed("in-process, 1 thread", lambda: EMBEDDERS.from_dict(one_thread).embed(texts), 1)
    timed("in-process, all cores", lambda: EMBEDDERS.from_dict({"type": "onnx", "params": {}}).embed(texts),
          os.cpu_count())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    t0 = time.perf_counter()
    embed_distributed(texts[:64], one_thread, workers=2)  # start the workers' Python and Ray once
    startup = time.perf_counter() - t0
    same = {}
    for workers in (1, 2):
        vectors = timed(f"ray data, {workers} worker{'s' * (workers > 1)}",
                        partial(embed_distributed, texts, one_thread, workers=workers, batch_size=128), workers)
        same[workers] = float(np.abs(vectors - base).max())
    ray.shutdown()
    r1, r2 = runs["ray data, 1 worker"]["seconds"], runs["ray data, 2 workers"]["seconds"]
    write_results(NAME, {"passages": len(texts), "runs": runs, "ray_warmup_seconds": round(startup, 2),
                         "speedup_2_over_1_workers": round(r1 / r2, 2),
                         "speedup_2_workers_over_in_process_1_thread":
                             round(runs["in-process, 1 thread"]["seconds"] / r2, 2),
                         "max_abs_diff_vs_in_process": same})


def table(p: dict) -> str:
    base = p["runs"]["in-process, 1 thread"]["seconds"]
    rows = [[label, r["workers"], f"{r['seconds']:.1f}", f"{r['passages_per_s']:.0f}", f"{base / r['seconds']:.2f}x"]
            for label, r in p["runs"].items()]
    return (md_table(["run", "workers", "seconds", "passages/s", "vs in-process 1 thread"], rows) + "\n\n"
            + f"{p['passages']:,} SciFact passages. Ray 2 workers over 1 worker: **{p['speedup_2_over_1_workers']:.2f}x**; "
            f"Ray start-up before the timed runs: {p['ray_warmup_seconds']:.1f}s; largest difference from the "
            f"in-process vectors: {max(p['max_abs_diff_vs_in_process'].values()):.1e}.")


if __name__ == "__main__":
    main()
