"""Search at 10k, 100k and 1M chunks on one machine: build time, index size on disk, peak RSS of the
build and of a serving process, and p50/p95 of each search mode with and without a 25% filter.

Corpora: real SciFact and mini-wiki chunks with their stored vectors, read back from projects other
benchmarks built with the default embedder (no embedding again on a loaded machine), shuffled together
with a fixed seed and replicated with distinct ids
and perturbed vectors (gaussian noise, renormalised) as search_latency does, each chunk carrying
`category` (c0..c3, 25% each), `corpus` and `replica` metadata for filters.

Each size is built by a child process (its peak RSS is the build's), one replica per upsert, and is
resumable: progress is recorded after every replica, so an interrupted build (the 1M one takes long on
2 shared cores) continues where it stopped. Each size is then served by another child process that
times every mode interleaved per query and checks the fast filtered paths against the old ones (the BM25
half filtered by ids fetched from the store, the dense half by the store's own filter) and the filtered
dense top 50 of both against the exact one (brute force): its peak RSS is the serving process's. Per-size
results are kept under bench/.work, so sizes measured in earlier runs are reported with the others.

    .venv/bin/python bench/search_scaling.py [--sizes 10000 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO,
    SCIFACT,
    WORK,
    Progress,
    dir_size_mib,
    emit_result,
    machine_info,
    md_table,
    open_project,
    pct,
    peak_rss_mib,
    precomputed,
    run_child,
    search_times,
    timed_embeddings,
    write_results,
)

NAME = "search_scaling"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
NOISE_SIGMA = 0.01
WARMUP = 20
CHECKED = 50  # queries whose rankings are compared with today's path
FILTER = ("category", "=", "c0")


# Projects other benchmarks already built with the default embedder (run qa_miniwiki.py and retrieval_tuning.py
# first): their chunks and stored vectors are read back (export), so no corpus is embedded again on a loaded
# machine. Copied first, never opened in place.
SOURCES = {"miniwiki": WORK / "qa_miniwiki" / "project", "scifact": WORK / "retrieval_tuning" / "project-scifact"}


def load_base():
    """Real SciFact and mini-wiki chunks with their vectors, shuffled together once (fixed seed), cached."""
    import shutil

    import numpy as np

    from ragtune.documents.types import Chunk

    cache_vec, cache_chunks = ROOT / "base_vectors.npy", ROOT / "base_chunks.jsonl"
    if cache_vec.exists() and cache_chunks.exists():
        chunks = [Chunk(**json.loads(line)) for line in cache_chunks.read_text(encoding="utf-8").splitlines()]
        return chunks, np.load(cache_vec)
    chunks, vectors = [], []
    for label, src in SOURCES.items():
        copy = ROOT / "sources" / label
        shutil.rmtree(copy, ignore_errors=True)
        copy.mkdir(parents=True)
        for name in ("config.json", "store"):
            (shutil.copytree if (src / name).is_dir() else shutil.copy2)(src / name, copy / name)
        project = open_project(copy)
        assert project.config.embedder.type == "onnx" and not project.config.embedder.params, label
        for page in project.store.export():
            chunks += [replace(c, chunk_id=f"{label}:{c.chunk_id}", doc_id=f"{label}:{c.doc_id}",
                               metadata={**c.metadata, "corpus": label.split("-")[0]}) for c in page.chunks]
            vectors.append(page.vectors)
        print(f"base: {label}: {project.store.count()} chunks", flush=True)
    all_vectors = np.concatenate(vectors)
    order = np.random.default_rng(1).permutation(len(chunks))
    chunks, all_vectors = [chunks[i] for i in order], all_vectors[order]
    with cache_chunks.open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(asdict(c)) + "\n")
    np.save(cache_vec, all_vectors)
    print(f"base: {len(chunks)} chunks")
    return chunks, all_vectors


def folder_of(n: int) -> Path:
    return ROOT / f"n{n}"


def build_state(n: int) -> dict:
    p = folder_of(n) / "bench-build.json"
    return json.loads(p.read_text()) if p.exists() else {}


def built(n: int) -> bool:
    s = build_state(n)
    return s.get("done") == n and s.get("bm25_s") is not None and open_project(folder_of(n)).bm25.is_current()


# --- children ---------------------------------------------------------------------------------------------------
def child_build(n: int) -> None:
    """Upsert replica after replica (resuming after the last recorded one), then rebuild BM25."""
    import numpy as np

    from ragtune.documents.types import Chunk

    base_chunks, base_vectors = load_base()
    folder = folder_of(n)
    project = open_project(folder)
    project.record_index_spec()
    state_path = folder / "bench-build.json"
    state = build_state(n) or {"n": n, "base": len(base_chunks), "sigma": NOISE_SIGMA, "done": 0, "replicas": 0,
                                "upsert_s": 0.0, "bm25_s": None}
    resumed_at = state["done"]
    t = time.perf_counter()
    while state["done"] < n:
        replica, done = state["replicas"], state["done"]
        take = min(len(base_chunks), n - done)
        vecs = base_vectors[:take].copy()
        if replica:
            rng = np.random.default_rng(replica)  # per replica, so a resumed build writes the same vectors
            vecs += rng.normal(0.0, NOISE_SIGMA, vecs.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks = [Chunk(chunk_id=f"{c.chunk_id}~{replica}", doc_id=f"{c.doc_id}~{replica}", index=c.index,
                        text=c.text, title=c.title,
                        metadata={**c.metadata, "category": f"c{(done + j) % 4}", "replica": replica})
                  for j, c in enumerate(base_chunks[:take])]
        t0 = time.perf_counter()
        project.bm25.mark_stale()
        project.store.upsert(chunks, vecs, {c.doc_id: f"replica-{replica}" for c in chunks})
        state.update(done=done + take, replicas=replica + 1,
                     upsert_s=round(state["upsert_s"] + time.perf_counter() - t0, 1), bm25_s=None)
        state_path.write_text(json.dumps(state))
        print(f"  n={n}: upserted {state['done']}/{n} chunks ({time.perf_counter() - t:.1f}s this run, "
              f"load {os.getloadavg()[0]:.2f})", flush=True)
    if state["bm25_s"] is None or not project.bm25.is_current():
        t0 = time.perf_counter()
        progress = Progress(f"bm25 n={n}", every=100000)
        project.bm25.rebuild(project.store.iter_chunks(), progress=progress.stage("chunks"))
        state["bm25_s"] = round(time.perf_counter() - t0, 1)
        state_path.write_text(json.dumps(state))
    emit_result({"n": n, "resumed_at": resumed_at, "upsert_s": state["upsert_s"], "bm25_s": state["bm25_s"],
                 "loadavg_end": os.getloadavg()})


def same_ranking(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    """Same scores in the same order and the same ids at every score; replicas tie, and which of the tied
    ids at the cut-off make the top k is arbitrary in both paths."""
    import math

    if len(a) != len(b) or not all(math.isclose(x[1], y[1], rel_tol=1e-6) for x, y in zip(a, b, strict=True)):
        return False
    cut = a[-1][1] if a else 0.0
    return ({i for i, s in a if s > cut + 1e-9 * abs(cut)} == {i for i, s in b if s > cut + 1e-9 * abs(cut)})


def todays_bm25(project, query: str, n: int, allowed: set[str] | None) -> list[tuple[str, float]]:
    """The BM25 half as it was before the fast paths: bm25s scoring every chunk, a weight mask built from
    the ids the store returns for the filter, and bm25s' own top k."""
    import numpy as np

    from ragtune.stores.tokenizer import tokenize

    index = project.bm25
    index.warm_up()
    ids = index.ids
    mask = None
    if allowed is not None:
        pos = {cid: i for i, cid in enumerate(ids)}
        mask = np.zeros(len(ids), dtype=np.float32)
        mask[[pos[i] for i in allowed if i in pos]] = 1.0
    tokens = tokenize([query])
    if not tokens.vocab or not any(tokens.ids):
        return []
    docs, scores = index.model.retrieve(tokens, k=min(n, len(ids)), show_progress=False, weight_mask=mask)
    return [(ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def exact_filtered_dense(project, vectors: list, allowed: set[str], n: int) -> list[set[str]]:
    """The exact top n allowed chunks by cosine for each query vector, by brute force over every stored vector:
    the oracle both filtered dense paths (the store's filter, the oversampled list) approximate."""
    import numpy as np

    ids, parts = [], []
    for page in project.store.export(batch_size=20000):
        keep = [i for i, c in enumerate(page.chunks) if c.chunk_id in allowed]
        ids += [page.chunks[i].chunk_id for i in keep]
        parts.append(np.asarray(page.vectors, dtype=np.float32)[keep])
    matrix = np.concatenate(parts)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    out = []
    for v in vectors:
        sims = matrix @ (np.asarray(v, dtype=np.float32) / np.linalg.norm(v))
        out.append({ids[i] for i in np.argpartition(-sims, n)[:n]})
    return out


def child_serve(n: int, queries: list[str], warmup: list[str]) -> None:
    from ragtune.retrieval.fusion import reciprocal_rank_fusion
    from ragtune.stores.filters import Condition

    folder = folder_of(n)
    t = time.perf_counter()
    project = open_project(folder)
    full = project.retriever
    project.store.warm_up()
    project.bm25.warm_up()
    project.embedder.embed(["load the model"])
    open_s = time.perf_counter() - t
    rss_open = peak_rss_mib()
    k = project.config.retrieval.k
    embed_ms, qvec = timed_embeddings(project.embedder, queries, warmup)
    fast = precomputed(project, qvec)
    cat = [Condition(*FILTER)]
    variants = {
        "hybrid": (full, "hybrid", ()), "hybrid_filter25": (full, "hybrid", cat),
        "hybrid_noembed": (fast, "hybrid", ()), "hybrid_filter25_noembed": (fast, "hybrid", cat),
        "dense_noembed": (fast, "dense", ()), "dense_filter25_noembed": (fast, "dense", cat),
        "bm25": (fast, "bm25", ()), "bm25_filter25": (fast, "bm25", cat),
    }
    times = search_times(variants, queries, warmup, k, f"serve n={n}")
    rss_serving = peak_rss_mib()
    # today's path, per query: the same top candidates, and the same hybrid fusion
    allowed = project.store.ids_matching(cat)
    nc = max(k, full.candidates)
    same = {"bm25": 0, "bm25_filter25": 0, "dense_filter25": 0, "hybrid_filter25": 0}
    exact_dense = exact_filtered_dense(project, [qvec[q] for q in queries[:CHECKED]], allowed, nc)
    recall = {"store_filter": 0.0, "post_filter": 0.0}  # of the exact filtered top candidates, per path
    for q, exact in zip(queries[:CHECKED], exact_dense, strict=True):
        old_b, old_bf = todays_bm25(project, q, nc, None), todays_bm25(project, q, nc, allowed)
        new_b = [(c, s) for c, s, _ in fast.rank(q, nc, "bm25")]
        new_bf = [(c, s) for c, s, _ in fast.rank(q, nc, "bm25", cat)]
        same["bm25"] += same_ranking(old_b, new_b)
        same["bm25_filter25"] += same_ranking(old_bf, new_bf)
        dense = project.store.query(qvec[q], nc, cat)  # today's filtered dense half: the store's own filter
        post = [(c, s) for c, s, _ in fast.rank(q, nc, "dense", cat)]
        same["dense_filter25"] += same_ranking(dense, post)
        recall["store_filter"] += len(exact & {c for c, _ in dense}) / len(exact) / CHECKED
        recall["post_filter"] += len(exact & {c for c, _ in post}) / len(exact) / CHECKED
        if same_ranking(old_bf, new_bf) and len({s for _, s in old_bf}) == len(old_bf):  # no ties: fusion is exact
            old_h = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in old_bf]], k=full.rrf_k)
            same["hybrid_filter25"] += [c for c, _ in old_h] == [c for c, _, _ in fast.rank(q, nc, "hybrid", cat)]
        else:
            same["hybrid_filter25"] += 1
    out = {"chunks": project.store.count(), "k": k, "candidates": full.candidates,
           "filter_matches": len(allowed), "filter_fraction": round(len(allowed) / project.store.count(), 3),
           "index_mib": dir_size_mib(folder), "open_s": round(open_s, 1), "rss_after_open_mib": round(rss_open, 1),
           "rss_serving_mib": round(rss_serving, 1),
           "same_as_todays_path": {k2: f"{v}/{CHECKED}" for k2, v in same.items()},
           "filtered_dense_recall_of_exact": {k2: round(v, 4) for k2, v in recall.items()},
           "query_embed_ms": {"p50": pct(embed_ms, 50), "p95": pct(embed_ms, 95)}}
    for name, ts in times.items():
        out[name] = {"p50": pct(ts, 50), "p95": pct(ts, 95)}
    out["filter_over_unfiltered_p50"] = round(out["hybrid_filter25"]["p50"] / out["hybrid"]["p50"], 2)
    out["filter_over_unfiltered_p95"] = round(out["hybrid_filter25"]["p95"] / out["hybrid"]["p95"], 2)
    emit_result({**out, "loadavg_end": os.getloadavg()})


# --- report ----------------------------------------------------------------------------------------------------
MODES = [("hybrid", "hybrid, incl. query embedding"), ("hybrid_filter25", "hybrid + 25% filter, incl. embedding"),
         ("hybrid_noembed", "hybrid, excl. embedding"), ("hybrid_filter25_noembed", "hybrid + filter, excl. embedding"),
         ("dense_noembed", "dense, excl. embedding"), ("dense_filter25_noembed", "dense + filter, excl. embedding"),
         ("bm25", "BM25"), ("bm25_filter25", "BM25 + filter")]


def plot(sizes: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(sizes, key=int)
    x = [int(n) for n in ns]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for key, label in MODES:
        axes[0].plot(x, [sizes[n][key]["p95"] for n in ns], marker="o", label=label)
    axes[0].set(xscale="log", yscale="log", xlabel="chunks", ylabel="p95 ms", title="search p95 (k=5, 50 candidates)")
    axes[0].legend(fontsize=7)
    axes[1].plot(x, [sizes[n]["build"]["upsert_s"] + sizes[n]["build"]["bm25_s"] for n in ns], marker="o",
                 label="build s (upsert + BM25)")
    axes[1].plot(x, [sizes[n]["index_mib"] for n in ns], marker="o", label="index on disk MiB")
    axes[1].set(xscale="log", yscale="log", xlabel="chunks", title="build time and size")
    axes[1].legend(fontsize=8)
    for key, label in (("build_peak_rss_mib", "build peak RSS"), ("rss_serving_mib", "serving peak RSS")):
        axes[2].plot(x, [sizes[n][key] for n in ns], marker="o", label=label)
    axes[2].set(xscale="log", yscale="log", xlabel="chunks", ylabel="MiB", title="memory")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def table(p: dict) -> str:
    ns = sorted(p["sizes"], key=int)
    s = p["sizes"]
    rows = [["query embedding alone"] + [f"{s[n]['query_embed_ms']['p50']:.1f} / {s[n]['query_embed_ms']['p95']:.1f}"
                                         for n in ns]]
    rows += [[label] + [f"{s[n][key]['p50']:.1f} / {s[n][key]['p95']:.1f}" for n in ns] for key, label in MODES]
    rows.append(["filtered / unfiltered hybrid (p50, p95)"]
                + [f"{s[n]['filter_over_unfiltered_p50']} / {s[n]['filter_over_unfiltered_p95']}" for n in ns])
    out = md_table(["search p50 / p95 ms"] + [f"{int(n):,} chunks" for n in ns], rows)
    rows2 = [[f"{int(n):,}", s[n]["build"]["upsert_s"], s[n]["build"]["bm25_s"], s[n]["index_mib"],
              s[n]["build_peak_rss_mib"], s[n]["rss_serving_mib"], s[n]["open_s"],
              ", ".join(f"{k} {v}" for k, v in s[n]["same_as_todays_path"].items()),
              " / ".join(f"{s[n]['filtered_dense_recall_of_exact'][k]:.3f}" for k in ("store_filter", "post_filter")),
              " / ".join(f"{x:.2f}" for x in s[n]["loadavg_serve_end"])] for n in ns]
    return out + "\n\n" + md_table(["chunks", "build: upsert s", "build: BM25 s", "index on disk MiB",
                                    "build peak RSS MiB", "serving peak RSS MiB", "open s",
                                    "same as today's path",
                                    "filtered dense: recall of the exact top 50, store filter / oversampled list",
                                    "load avg (1/5/15 min)"], rows2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000, 1000000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--remeasure", action="store_true", help="serve again sizes measured in an earlier run")
    ap.add_argument("--child", choices=["build", "serve"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    from ragtune.evaluation.datasets import read_jsonl

    texts = [r["text"] for r in read_jsonl(SCIFACT / "queries.train.jsonl", ("_id", "text"))]
    queries, warmup = texts[:args.queries], texts[args.queries:args.queries + WARMUP]
    if args.child == "build":
        return child_build(args.size)
    if args.child == "serve":
        return child_serve(args.size, queries, warmup)

    load_base()
    for n in args.sizes:
        result = ROOT / f"result_n{n}.json"
        if not built(n):
            print(f"== build n={n} (child process)", flush=True)
            b = run_child(HERE, ["--child", "build", "--size", str(n)])
            (folder_of(n) / "bench-build-rss.json").write_text(json.dumps(b))
        if args.build_only or (result.exists() and not args.remeasure):
            continue
        print(f"== serve n={n} (child process)", flush=True)
        r = run_child(HERE, ["--child", "serve", "--size", str(n), "--queries", str(args.queries)])
        b = json.loads((folder_of(n) / "bench-build-rss.json").read_text())
        r = {**r, "build": {"upsert_s": build_state(n)["upsert_s"], "bm25_s": build_state(n)["bm25_s"]},
             "build_peak_rss_mib": b["peak_rss_mib"], "build_resumed_at": b["resumed_at"],
             "loadavg_serve_end": r.pop("loadavg_end"), "machine": machine_info()}
        result.write_text(json.dumps(r, indent=1))
        print("  " + json.dumps({k: v for k, v in r.items() if isinstance(v, dict) and "p50" in v}), flush=True)
    if args.build_only:
        return
    sizes = {p.stem.removeprefix("result_n"): json.loads(p.read_text()) for p in sorted(ROOT.glob("result_n*.json"))}
    payload = {"queries": len(queries), "warmup_queries": len(warmup), "noise_sigma": NOISE_SIGMA,
               "filter": "=".join(FILTER[::2]), "sizes": sizes,
               "goals": {"hybrid_p95_ms": {"100000": 15.0, "1000000": 40.0}, "filter_over_unfiltered_max": 1.5}}
    write_results(NAME, payload)
    plot(sizes, REPO / "bench" / "results" / f"{NAME}.png")
    print()
    print(table(payload))


if __name__ == "__main__":
    main()
