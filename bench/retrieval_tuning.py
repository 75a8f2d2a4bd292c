"""Retriever tuning on SciFact's train split only: pairs from the train queries and judgements, split by
query (80% to train on, 20% held out), the packaged MiniLM tuned as a bi-encoder and as a cross-encoder
re-ranker (`ragtune tune retriever`'s code path), and base against tuned on the held-out queries
(`ragtune eval retrieval --job`). The BEIR test split is never read.

    nice .venv/bin/python bench/retrieval_tuning.py [--kind embedder|reranker|both] [--synthetic]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, ensure_ingested, md_table, write_results  # noqa: E402

NAME = "retrieval_tuning"
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
RERANK_TOP = 30
GOAL_JUDGED, GOAL_SYNTHETIC = 0.04, 0.02


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="both", choices=["embedder", "reranker", "both"])
    ap.add_argument("--synthetic", action="store_true", help="train on queries made from the corpus, not the "
                                                               "judgements (held out: the same judged queries)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--max-queries", type=int, default=2000)
    args = ap.parse_args()

    from ragtune.app.retriever import Mining, build_training_data, compare, start_jobs
    from ragtune.config import ProjectConfig, RetrievalConfig
    from ragtune.finetune.retriever.config import KINDS, RetrieverTuneConfig

    t0 = time.perf_counter()
    # the re-ranker reads the top 30 fused candidates; the base ranking is unaffected (it ranks 200 chunks)
    config = ProjectConfig(retrieval=RetrievalConfig(candidates=RERANK_TOP))
    project, _ = ensure_ingested(WORK / NAME / "project", SCIFACT / "corpus.jsonl", config)
    stages = {"ingest_s": round(time.perf_counter() - t0, 1)}

    t = time.perf_counter()
    judged = build_training_data(project, WORK / NAME / "judged", SCIFACT / "queries.train.jsonl",
                                 SCIFACT / "qrels" / "train.tsv", mining=Mining(max_queries=args.max_queries))
    data = judged
    if args.synthetic:  # trained on the corpus's own queries, compared on the judged held-out queries
        data = build_training_data(project, WORK / NAME / "synthetic", mining=Mining(max_queries=args.max_queries))
    stages["pairs_s"] = round(time.perf_counter() - t, 1)
    print(f"{data.train_queries} training queries ({data.sources}), {judged.heldout_queries} held out", flush=True)

    kinds = KINDS if args.kind == "both" else (args.kind,)
    jobs = start_jobs(project.root, data, kinds, RetrieverTuneConfig(epochs=args.epochs))
    runs = []
    for job in jobs:
        t = time.perf_counter()
        result = compare(project, job.id, judged.queries, judged.qrels)
        kind = job.config["kind"]
        runs.append({"model": kind, "train_s": round((job.finished or 0) - (job.started or 0), 1),
                     "eval_s": round(time.perf_counter() - t, 1), "queries": result["base"]["queries"],
                     "base": {m: round(result["base"][m], 4) for m in METRICS},
                     "tuned": {m: round(result["tuned"][m], 4) for m in METRICS},
                     "ndcg@10_gain": round(result["difference"]["ndcg@10"], 4)})
        print(runs[-1], flush=True)
    if "reranker" in kinds:
        runs[-1]["rerank_top30_p95_ms"] = rerank_p95(project, next(j for j in jobs if j.config["kind"] == "reranker"),
                                                     judged.queries)
    goal = GOAL_SYNTHETIC if args.synthetic else GOAL_JUDGED
    write_results(NAME, {"training_queries": "synthetic" if args.synthetic else "judged",
                         "train_queries": data.train_queries, "heldout_queries": judged.heldout_queries,
                         "pair_sources": data.sources, "mode": project.config.retrieval.mode, "rerank_top": RERANK_TOP,
                         "epochs": args.epochs, "stages": stages, "runs": runs, "goal_ndcg@10_gain": goal,
                         "goal_met": {r["model"]: r["ndcg@10_gain"] >= goal for r in runs}})


def rerank_p95(project, job, queries: Path) -> float:
    """Milliseconds to re-rank the top 30 hybrid candidates of one held-out query, 95th percentile."""
    import numpy as np

    from ragtune.evaluation.datasets import read_jsonl
    from ragtune.finetune.retriever.outputs import tuned_component
    from ragtune.retrieval.rerank import RERANKERS

    _, spec = tuned_component(project.root, job)
    reranker = RERANKERS.from_dict(spec.model_dump())
    reranker.warm_up()
    times = []
    for row in read_jsonl(queries, ("_id", "text"))[:100]:
        hits = project.retriever.search(row["text"], RERANK_TOP)
        t = time.perf_counter()
        reranker.rerank(row["text"], hits)
        times.append(1000 * (time.perf_counter() - t))
    return round(float(np.percentile(times, 95)), 1)


def table(p: dict) -> str:
    rows = [[r["model"], p["training_queries"], r["queries"], *(f"{r['base'][m]:.4f} → {r['tuned'][m]:.4f}" for m in METRICS),
             f"{r['ndcg@10_gain']:+.4f}", "yes" if p["goal_met"][r["model"]] else "no", r["train_s"],
             r.get("rerank_top30_p95_ms", "")] for r in p["runs"]]
    return md_table(["tuned", "training queries", "held-out queries", "nDCG@10 (hybrid → tuned)", "recall@10",
                     "recall@100", "MRR@10", "nDCG@10 gain", f"goal ≥ +{p['goal_ndcg@10_gain']} met", "train s",
                     "re-rank top 30 p95 ms"], rows)


if __name__ == "__main__":
    main()
