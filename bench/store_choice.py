"""Which embedded vector engine: Chroma (HNSW) vs LanceDB (flat scan, no index) vs a numpy
brute-force baseline, on the same 100k x 384 unit vectors, unfiltered and with a 25% metadata filter.

LanceDB is not a ragtune dependency: `.venv/bin/pip install lancedb` to include it (skipped otherwise).

    .venv/bin/python bench/store_choice.py [--n 100000] [--queries 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from _common import md_table, write_results

DIM, K = 384, 50


def latencies(fn, queries) -> dict:
    fn(queries[0])  # warm-up
    ts = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        ts.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": float(np.percentile(ts, 50)), "p95_ms": float(np.percentile(ts, 95))}


def bench_numpy(vectors, cats, queries) -> dict:
    mask = cats == "b"
    return {"unfiltered": latencies(lambda q: np.argpartition(-(vectors @ q), K)[:K], queries),
            "filtered": latencies(lambda q: np.argpartition(-np.where(mask, vectors @ q, -2), K)[:K], queries)}


def bench_chroma(vectors, cats, queries) -> dict:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=tempfile.mkdtemp(), settings=Settings(anonymized_telemetry=False))
    col = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
    t = time.perf_counter()
    step = client.get_max_batch_size()
    for i in range(0, len(vectors), step):
        col.add(ids=[str(j) for j in range(i, min(len(vectors), i + step))], embeddings=vectors[i:i + step],
                metadatas=[{"category": str(c)} for c in cats[i:i + step]])
    load = time.perf_counter() - t
    return {"load_s": load,
            "unfiltered": latencies(lambda q: col.query(query_embeddings=[q], n_results=K, include=[]), queries),
            "filtered": latencies(lambda q: col.query(query_embeddings=[q], n_results=K, include=[],
                                                      where={"category": "b"}), queries)}


def bench_lance(vectors, cats, queries) -> dict | None:
    try:
        import lancedb
        import pyarrow as pa
    except ImportError:
        return None
    db = lancedb.connect(tempfile.mkdtemp())
    t = time.perf_counter()
    table = db.create_table("bench", pa.table({
        "id": np.arange(len(vectors)), "category": cats.astype(str),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM)}))
    load = time.perf_counter() - t

    def query(q, where=None):
        s = table.search(q).distance_type("cosine").limit(K).select(["id"])
        return (s.where(where, prefilter=True) if where else s).to_arrow()

    return {"load_s": load, "unfiltered": latencies(query, queries),
            "filtered": latencies(lambda q: query(q, "category = 'b'"), queries)}


def table(result: dict) -> str:
    rows = []
    for engine in ("numpy", "chroma", "lancedb"):
        r = result["engines"].get(engine)
        if r:
            rows.append([engine, r["unfiltered"]["p50_ms"], r["unfiltered"]["p95_ms"], r["filtered"]["p50_ms"],
                         r["filtered"]["p95_ms"], r.get("load_s")])
    return md_table(["engine", "top-50 p50 ms", "p95 ms", "filtered p50 ms", "filtered p95 ms", "load s"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cats = np.array(["a", "b", "c", "d"])[np.arange(args.n) % 4]
    queries = vectors[rng.choice(args.n, args.queries, replace=False)] + 0.01
    engines = {"numpy": bench_numpy(vectors, cats, queries)}
    print("numpy done", flush=True)
    engines["chroma"] = bench_chroma(vectors, cats, queries)
    print("chroma done", flush=True)
    lance = bench_lance(vectors, cats, queries)
    if lance:
        engines["lancedb"] = lance
    result = {"vectors": args.n, "dim": DIM, "k": K, "queries": args.queries, "filter_selectivity": 0.25,
              "engines": engines}
    write_results("store_choice", result)
    print(table(result))


if __name__ == "__main__":
    main()
