"""Retriever tuning on SciFact's train split only: pairs from the train queries and judgements (or, with
``--synthetic``, queries made from the corpus), split by query (80% to train on, 20% held out), the packaged
MiniLM tuned as a bi-encoder and as a cross-encoder re-ranker (`ragtune tune retriever`'s code path), and
base against tuned on the held-out judged queries (`ragtune eval retrieval --job`). The BEIR test split is
never read. Each invocation records its runs under .work and rewrites results/retrieval_tuning.json from
every run recorded there, so the judged and synthetic runs (and each kind) can be measured separately.

    .venv/bin/python bench/retrieval_tuning.py [--kind embedder|reranker|both] [--synthetic]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, Progress, ensure_ingested, fmt, machine_info, md_table, write_results

NAME = "retrieval_tuning"
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
RERANK_TOP = 30
GOALS = {"judged": 0.04, "synthetic": 0.02}
LATENCY_QUERIES = 100
FUSION_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
"""retrieval.rerank_fusion weights measured for a re-ranker (0: its order alone)."""


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="both", choices=["embedder", "reranker", "both"])
    ap.add_argument("--synthetic", action="store_true", help="train on queries made from the corpus, not the "
                                                               "judgements (held out: the same judged queries)")
    ap.add_argument("--epochs", type=float, default=None, help="default: the job config's")
    ap.add_argument("--max-queries", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=0, help="use only this many train queries, a seeded sample "
                    "(0: all)")
    ap.add_argument("--docs", type=int, default=0, help="index only this many documents: every document the "
                    "queries judge, then a seeded sample of the rest (0: the whole corpus)")
    ap.add_argument("--negatives", type=int, default=None, help="hard negatives per pair (default: the product's)")
    ap.add_argument("--margin", type=float, default=None, help="skip candidates within this cosine of the positive "
                    "as likely unjudged positives (default: the product's; negative: keep every unjudged candidate)")
    ap.add_argument("--max-steps", type=int, default=-1, help="stop training after this many steps (-1: the epochs)")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the job config's, per kind)")
    ap.add_argument("--generate-questions", type=int, default=0, help="with --synthetic: questions the generator "
                    "writes per sampled chunk")
    ap.add_argument("--chunks", type=int, default=1000, help="chunks sampled for --generate-questions")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="the local model writing the questions")
    ap.add_argument("--corpus-queries", default="title,heading,cloze", help="with --synthetic: the kinds of query "
                    "made from the corpus, comma-separated (empty: only generated questions)")
    ap.add_argument("--label", default="", help="record the run under this label too, so runs of the same kind and "
                    "training queries with other settings are kept side by side")
    args = ap.parse_args()

    from ragtune.app.retriever import SYNTHETIC_MARGIN, Mining, build_training_data, compare, start_jobs
    from ragtune.config import ComponentSpec, ProjectConfig, RetrievalConfig
    from ragtune.finetune.retriever.config import KINDS, RetrieverTuneConfig

    mode = "synthetic" if args.synthetic else "judged"
    t0 = time.perf_counter()
    # the re-ranker reads the top 30 fused candidates; the base ranking is unaffected (it ranks 200 chunks)
    config = ProjectConfig(retrieval=RetrievalConfig(candidates=RERANK_TOP))
    corpus, queries, qrels = sample(args.queries, args.docs)
    project, _ = ensure_ingested(WORK / NAME / f"project-{corpus.parent.name}", corpus, config)
    stages = {"ingest_s": round(time.perf_counter() - t0, 1)}

    t = time.perf_counter()
    given = {"negatives": args.negatives, "margin": args.margin}
    corpus_queries = tuple(k for k in args.corpus_queries.split(",") if k)
    mining = Mining(max_queries=args.max_queries, corpus_queries=corpus_queries,
                    **{k: v for k, v in given.items() if v is not None})
    judged = build_training_data(project, project.root / "judged", queries, qrels, mining=mining)
    data = judged
    if args.synthetic:  # trained on the corpus's own queries, compared on the judged held-out queries
        writer = ComponentSpec(type="llamacpp", params={"model": args.model}) if args.generate_questions else None
        data = build_training_data(project, project.root / "synthetic", questions_per_chunk=args.generate_questions,
                                   question_chunks=args.chunks, generator_spec=writer, mining=mining,
                                   progress=Progress("synthetic", 50))
    stages["pairs_s"] = round(time.perf_counter() - t, 1)
    print(f"{data.train_queries} training queries ({data.sources}), {judged.heldout_queries} held out", flush=True)

    # the margin mining used: given, else the product's per kind of query (None: no margin, judged queries)
    margin = mining.margin if mining.margin is not None else (SYNTHETIC_MARGIN if args.synthetic else None)
    kinds = KINDS if args.kind == "both" else (args.kind,)
    cfg = RetrieverTuneConfig(max_steps=args.max_steps,
                              **{k: v for k, v in {"epochs": args.epochs, "lr": args.lr}.items() if v is not None})
    for kind in kinds:
        machine = machine_info()
        load, cpu = _load(), _cpu_s()
        (job,) = start_jobs(project.root, data, (kind,), cfg)  # trains here, in this process
        train_cpu_s, load_after_train = _cpu_s() - cpu, _load()
        peak_rss_mib = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # ingest, mining, training
        t = time.perf_counter()
        result = compare(project, job.id, judged.queries, judged.qrels)
        run = {"model": kind, "training_queries": mode, "train_queries": data.train_queries,
               "heldout_queries": judged.heldout_queries, "pair_sources": data.sources, "epochs": job.config["epochs"],
               "lr": job.config["lr"], "label": args.label,
               "max_steps": args.max_steps, "negatives": mining.negatives, "margin": margin,
               "mini_batch_size": cfg.mini_batch_size, "max_queries": args.max_queries,
               "corpus_queries": list(corpus_queries) if args.synthetic else [],
               "questions": ({"model": args.model, "per_chunk": args.generate_questions, "chunks": args.chunks}
                             if args.synthetic and args.generate_questions else None),
               "corpus_docs": len(project.store.documents()), "job": job.id, "stages": stages,
               "train_s": round((job.finished or 0) - (job.started or 0), 1), "train_cpu_s": round(train_cpu_s, 1),
               "load_train_start": load, "load_train_end": load_after_train,
               "peak_rss_mib_through_training": peak_rss_mib,
               "eval_s": round(time.perf_counter() - t, 1), "load_eval_end": _load(),
               "queries": result["base"]["queries"],
               "base": {m: round(result["base"][m], 4) for m in METRICS},
               "tuned": {m: round(result["tuned"][m], 4) for m in METRICS},
               "ndcg@10_gain": round(result["difference"]["ndcg@10"], 4), "goal_ndcg@10_gain": GOALS[mode],
               "machine": machine}
        run["goal_met"] = run["ndcg@10_gain"] >= GOALS[mode]
        if kind == "reranker":
            run["fused_ndcg@10"] = fusion_sweep(project, job, judged.queries, judged.qrels)
            run.update(rerank_latency(project, job, judged.queries))
        print({k: v for k, v in run.items() if k != "machine"}, flush=True)
        runs = project.root / "bench-runs"  # this sample's runs: the results file gathers them
        runs.mkdir(exist_ok=True)
        (runs / f"{mode}-{kind}{'-' + args.label if args.label else ''}.json").write_text(json.dumps(run, indent=2) + "\n")
    write_results(NAME, {"rerank_top": RERANK_TOP, "mode": project.config.retrieval.mode, "sample": corpus.parent.name,
                         "runs": [json.loads(p.read_text()) for p in sorted((project.root / "bench-runs").glob("*.json"))]})


def sample(n_queries: int, n_docs: int) -> tuple[Path, Path, Path]:
    """Corpus, queries and qrels: ``n_queries`` of the train queries (a seeded sample; 0: all) and a corpus of
    every document they judge, then a seeded sample of the others, ``n_docs`` in all (0: the whole corpus).
    A smaller index where the corpus cannot be embedded three times (base, and each tuned embedder) in time."""
    import csv
    import random

    from ragtune.evaluation.datasets import read_jsonl, read_qrels

    corpus, queries, qrels = SCIFACT / "corpus.jsonl", SCIFACT / "queries.train.jsonl", SCIFACT / "qrels" / "train.tsv"
    if not n_queries and not n_docs:
        return corpus, queries, qrels
    judged = read_qrels(qrels)
    rows = read_jsonl(queries, ("_id", "text"))
    rows = [r for r in rows if str(r["_id"]) in judged]
    if n_queries:
        rows = random.Random(0).sample(rows, min(n_queries, len(rows)))
    kept_q = {str(r["_id"]) for r in rows}
    docs = {d for q in kept_q for d in judged[q]}
    corpus_rows = read_jsonl(corpus, ("_id", "title", "text"))
    others = [r for r in corpus_rows if str(r["_id"]) not in docs]
    if n_docs:
        docs |= {str(r["_id"]) for r in random.Random(0).sample(others, max(0, n_docs - len(docs)))}
    else:
        docs |= {str(r["_id"]) for r in others}
    out = WORK / NAME / f"sample-{n_queries or 'all'}q-{n_docs or 'all'}d"
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "qrels.tsv").exists():  # written last: a complete sample is never rewritten under a project
        (out / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus_rows if str(r["_id"]) in docs))
        (out / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        with (out / "qrels.tmp").open("w", newline="") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(["query-id", "corpus-id", "score"])
            w.writerows([q, d, r] for q in sorted(kept_q) for d, r in sorted(judged[q].items()))
        (out / "qrels.tmp").replace(out / "qrels.tsv")
    return out / "corpus.jsonl", out / "queries.jsonl", out / "qrels.tsv"


class MemoReranker:
    """The cross-encoder's score of each (query, chunk) computed once, however many fusion weights read it."""

    def __init__(self, inner):
        self.inner, self.scores = inner, {}

    def rerank(self, query, hits):
        if new := [h for h in hits if (query, h.chunk.chunk_id) not in self.scores]:
            self.scores.update({(query, h.chunk.chunk_id): h.score for h in self.inner.rerank(query, new)})
        for h in hits:
            h.score = h.scores["rerank"] = self.scores[(query, h.chunk.chunk_id)]
        return sorted(hits, key=lambda h: -h.score)

    def warm_up(self):
        self.inner.warm_up()

    def to_dict(self):
        return self.inner.to_dict()


def fusion_sweep(project, job, queries: Path, qrels: Path) -> dict[str, float]:
    """Held-out nDCG@10 with the re-ranker's order fused with the hybrid's (retrieval.rerank_fusion), by weight."""
    import dataclasses

    from ragtune.app.retriever import tuned_retriever
    from ragtune.evaluation.datasets import read_jsonl, read_qrels
    from ragtune.evaluation.retrieval import evaluate_retrieval

    asked = {str(r["_id"]): r["text"] for r in read_jsonl(queries, ("_id", "text"))}
    judged = read_qrels(qrels)
    with tuned_retriever(project, job.id) as (_, tuned):
        memo = dataclasses.replace(tuned, reranker=MemoReranker(tuned.reranker))
        return {f"{w:g}": round(evaluate_retrieval(dataclasses.replace(memo, rerank_fusion=w), asked, judged,
                                                   project.config.retrieval.mode)["ndcg@10"], 4)
                for w in FUSION_WEIGHTS}


def rerank_latency(project, job, queries: Path) -> dict:
    """Milliseconds per held-out query: the hybrid search for the top 30 (the baseline), and re-ranking those
    30 with the tuned cross-encoder, measured alternately query by query so both see the same load."""
    import numpy as np

    from ragtune.evaluation.datasets import read_jsonl
    from ragtune.finetune.retriever.outputs import tuned_component
    from ragtune.retrieval.rerank import RERANKERS

    _, spec = tuned_component(project.root, job)
    reranker = RERANKERS.from_dict(spec.model_dump())
    reranker.warm_up()
    times: dict[str, list[float]] = {"search": [], "rerank": [], "search_cpu": [], "rerank_cpu": []}
    load = _load()
    for row in read_jsonl(queries, ("_id", "text"))[:LATENCY_QUERIES]:
        t, c = time.perf_counter(), time.process_time()
        hits = project.retriever.search(row["text"], RERANK_TOP)
        times["search"].append(1000 * (time.perf_counter() - t))
        times["search_cpu"].append(1000 * (time.process_time() - c))
        t, c = time.perf_counter(), time.process_time()
        reranker.rerank(row["text"], hits)
        times["rerank"].append(1000 * (time.perf_counter() - t))
        times["rerank_cpu"].append(1000 * (time.process_time() - c))
    # wall time on a loaded machine says little; CPU time (all threads) is what 2 idle cores would divide
    return {"latency_queries": len(times["rerank"]), "load_latency": [load, _load()],
            **{f"{k.split('_')[0]}_top30_{q}_{'cpu_ms' if k.endswith('cpu') else 'ms'}": round(float(np.percentile(v, pct)), 1)
               for k, v in times.items() for q, pct in (("p50", 50), ("p95", 95))}}


def _queries_cell(r: dict) -> str:
    """Judged, or synthetic with its training pairs per kind of query (and the model that wrote the questions)."""
    if r["training_queries"] != "synthetic":
        return r["training_queries"]
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(r["pair_sources"].items(), key=lambda kv: -kv[1]))
    writer = f" by {r['questions']['model']}" if r.get("questions") else ""
    return f"synthetic: {kinds}{writer}"


def table(p: dict) -> str:
    rows = [[r["model"], _queries_cell(r), r["corpus_docs"], r["train_queries"],
             ("epochs " + fmt(r["epochs"]) if r["max_steps"] < 0 else f"{r['max_steps']} steps")
             + (f", lr {r['lr']:g}" if "lr" in r else "") + (f" (`{r['label']}`)" if r.get("label") else ""),
             r["negatives"], r["queries"],
             *(f"{r['base'][m]:.4f} → {r['tuned'][m]:.4f}" for m in METRICS),
             f"{r['ndcg@10_gain']:+.4f}", f"≥ +{r['goal_ndcg@10_gain']}: {'yes' if r['goal_met'] else 'no'}",
             f"{r['train_s']:.0f} ({r['train_cpu_s']:.0f} CPU s)", r["load_train_end"][0],
             (f"{r['rerank_top30_p95_ms']} ({r['rerank_top30_p95_cpu_ms']} CPU ms); search {r['search_top30_p95_ms']}"
              if "rerank_top30_p95_ms" in r else ""),
             ", ".join(f"{w}: {v:.4f}" for w, v in r.get("fused_ndcg@10", {}).items())]
            for r in p["runs"]]
    return md_table(["tuned", "training queries", "documents", "train queries", "trained", "negatives",
                     "held-out queries", "nDCG@10 (hybrid → tuned)", "recall@10", "recall@100", "MRR@10",
                     "nDCG@10 gain", "goal met", "train s (CPU s)",
                     "load at end of training", "re-rank top 30 p95 ms (CPU ms); hybrid search p95 ms",
                     "re-ranker fused with the hybrid, nDCG@10 by weight"], rows)


if __name__ == "__main__":
    main()
