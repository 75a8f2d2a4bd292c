"""Retrieval quality on SciFact train (809 queries, train qrels): dense, BM25 and hybrid with the
default int8 embedder, plus dense (and hybrid) with the fp32 sentence-transformers embedder.

Reuses the project built by bench/ingest_scifact.py when it is there (ingest is incremental, so a
complete index is left untouched); otherwise ingests it.

    .venv/bin/python bench/retrieval_scifact.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, Progress, ensure_ingested, md_table, write_results

NAME = "retrieval_scifact"
INT8_PROJECT = WORK / "ingest_scifact" / "full"
FP32_PROJECT = WORK / NAME / "fp32"
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-fp32", action="store_true", help="skip the sentence-transformers fp32 project")
    ap.add_argument("--ingest-only", action="store_true",
                    help="only build (or complete) the fp32 project, to prepare it while other work runs")
    args = ap.parse_args()

    from ragtune.config import ComponentSpec, ProjectConfig
    from ragtune.evaluation.datasets import read_jsonl, read_qrels
    from ragtune.evaluation.retrieval import doc_ranking, evaluate_retrieval

    corpus = SCIFACT / "corpus.jsonl"
    queries = {str(r["_id"]): r["text"] for r in read_jsonl(SCIFACT / "queries.train.jsonl", ("_id", "text"))}
    qrels = read_qrels(SCIFACT / "qrels" / "train.tsv")
    judged = sum(1 for q in queries if q in qrels)
    print(f"{len(queries)} train queries, {judged} with judgements")

    if args.ingest_only:
        ensure_ingested(FP32_PROJECT, corpus, ProjectConfig(embedder=ComponentSpec(type="sentence-transformers")))
        return
    runs = []

    def evaluate(project, label: str, embedder: str, mode: str) -> None:
        progress = Progress(f"{label} {mode}", every=200, total=judged)
        t = time.perf_counter()
        r = evaluate_retrieval(project.retriever, queries, qrels, mode=mode, k=10, depth=100,
                               progress=progress.stage("queries"))
        dt = time.perf_counter() - t
        r.pop("per_query")
        # evaluate_retrieval ranks 2 x depth chunks and collapses them to documents: how many documents
        # does that leave for recall@100? (first 100 judged queries)
        sample = [q for q in queries if q in qrels][:100]
        docs_ranked = [len(doc_ranking(project.retriever, queries[q], mode, 100)) for q in sample]
        row = {"embedder": embedder, "mode": mode, **{m: round(r[m], 4) for m in METRICS},
               "queries": r["queries"], "seconds": round(dt, 1), "ms_per_query": round(1000 * dt / r["queries"], 1),
               "docs_ranked_mean": round(sum(docs_ranked) / len(docs_ranked), 1),
               "docs_ranked_min": min(docs_ranked)}
        runs.append(row)
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    print("== int8 project (default config)")
    project, _ = ensure_ingested(INT8_PROJECT, corpus)
    for mode in ("dense", "bm25", "hybrid"):
        evaluate(project, "int8", "onnx int8 (default)", mode)

    if not args.no_fp32:
        print("== fp32 project (embedder type sentence-transformers)")
        cfg = ProjectConfig(embedder=ComponentSpec(type="sentence-transformers"))
        project, _ = ensure_ingested(FP32_PROJECT, corpus, cfg)
        for mode in ("dense", "hybrid"):
            evaluate(project, "fp32", "sentence-transformers fp32", mode)

    by = {(r["embedder"], r["mode"]): r for r in runs}
    dense, bm25, hybrid = (by[("onnx int8 (default)", m)]["ndcg@10"] for m in ("dense", "bm25", "hybrid"))
    payload = {
        "queries": judged, "k": 10, "depth": 100,
        "search": "project.retriever: candidates 50 per retriever (200 here: k = 2 x depth), RRF k = 60; "
                  "chunks collapsed to documents",
        "runs": runs,
        "hybrid_beats_dense": hybrid > dense, "hybrid_beats_bm25": hybrid > bm25,
        "hybrid_beats_both": hybrid > max(dense, bm25),
        "goal_hybrid_ndcg@10": 0.70, "goal_met": hybrid >= 0.70,
    }
    if ("sentence-transformers fp32", "dense") in by:
        payload["int8_minus_fp32_dense_ndcg@10"] = round(dense - by[("sentence-transformers fp32", "dense")]["ndcg@10"], 4)
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    rows = [[r["embedder"], r["mode"], *(f"{r[m]:.4f}" for m in METRICS), r["ms_per_query"],
             f"{r['docs_ranked_mean']:.1f}"] for r in p["runs"]]
    summary = [[p["hybrid_beats_dense"], p["hybrid_beats_bm25"], p["hybrid_beats_both"], p["goal_met"],
                f"{p['int8_minus_fp32_dense_ndcg@10']:+.4f}" if "int8_minus_fp32_dense_ndcg@10" in p else None]]
    return (md_table(["embedder", "mode", "nDCG@10", "recall@10", "recall@100", "MRR@10", "ms/query",
                     "docs ranked (of 100)"], rows)
            + "\n\n" + md_table(["hybrid > dense", "hybrid > BM25", "hybrid beats both", "goal nDCG@10 ≥ 0.70 met",
                                 "int8 − fp32 dense nDCG@10"], summary))


if __name__ == "__main__":
    main()
