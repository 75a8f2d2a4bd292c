"""Search latency (no generation) at 10k and 100k chunks, and peak RSS of `ask` at both sizes.

Corpora are built cheaply from real SciFact chunks: the ~9k chunks of the ingested corpus (their
texts and int8 vectors, taken from bench/ingest_scifact.py's project when present, else chunked and
embedded once here) are replicated with distinct ids and a `category` metadata key (c0..c3, 25% each);
each copy's vector gets small gaussian noise (renormalised). They are written with
project.store.upsert() and project.bm25.rebuild().

Timed per query, interleaved (each query runs every variant before the next query): hybrid, dense
and BM25, with the query embedding included (project.retriever as is) and excluded (a Retriever over
the same store and BM25 index whose embedder returns precomputed query vectors), and hybrid with a
filter `category = c0` matching 25% of the chunks.

    .venv/bin/python bench/search_latency.py [--sizes 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO,
    SCIFACT,
    WORK,
    Progress,
    dir_size_mib,
    emit_result,
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

NAME = "search_latency"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
SOURCE_PROJECT = WORK / "ingest_scifact" / "full"
NOISE_SIGMA = 0.01  # per dimension; cosine of a copy to its original is about 0.96-0.98
WARMUP = 20


# --- the base chunks and their vectors ---------------------------------------------------------------
def load_base():
    """(chunks, vectors) of the whole SciFact corpus under the default chunker and embedder, cached."""
    import numpy as np

    from ragtune.documents.types import Chunk

    cache_vec, cache_chunks = ROOT / "base_vectors.npy", ROOT / "base_chunks.jsonl"
    if cache_vec.exists() and cache_chunks.exists():
        chunks = [Chunk(**json.loads(line)) for line in cache_chunks.read_text(encoding="utf-8").splitlines()]
        vectors = np.load(cache_vec)
        print(f"base: {len(chunks)} chunks from cache")
        return chunks, vectors
    ROOT.mkdir(parents=True, exist_ok=True)
    src = open_project(SOURCE_PROJECT) if (SOURCE_PROJECT / "index.json").exists() else None
    if src is not None and src.store.count() > 0:
        print(f"base: chunks and vectors from {SOURCE_PROJECT.relative_to(REPO)}")
        chunks = [c for batch in src.store.iter_chunks() for c in batch]
        vectors = np.zeros((len(chunks), src.embedder.dimension), dtype=np.float32)
        col = src.store.col  # Chroma collection: the store API has no way to read vectors back
        for i in range(0, len(chunks), 2000):
            ids = [c.chunk_id for c in chunks[i:i + 2000]]
            r = col.get(ids=ids, include=["embeddings"])
            pos = {cid: n for n, cid in enumerate(r["ids"])}
            vectors[i:i + len(ids)] = np.asarray([r["embeddings"][pos[cid]] for cid in ids], dtype=np.float32)
    else:
        print("base: chunking and embedding the SciFact corpus once with the default embedder")
        from ragtune.documents.loaders.beir import BeirLoader
        from ragtune.embedding.protocol import embed_batched

        project = open_project(ROOT / "embed-only")
        path = SCIFACT / "corpus.jsonl"
        chunks = [c for d in BeirLoader().load(path, path.name) for c in project.chunker.split(d)]
        progress = Progress("embed", every=1000)
        vectors = embed_batched(project.embedder, [c.indexed_text for c in chunks], progress=progress.stage("chunks"))
    with cache_chunks.open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps({"chunk_id": c.chunk_id, "doc_id": c.doc_id, "index": c.index, "text": c.text,
                                "title": c.title, "metadata": c.metadata}) + "\n")
    np.save(cache_vec, vectors)
    print(f"base: {len(chunks)} chunks")
    return chunks, vectors


def build(n: int, base_chunks, base_vectors) -> Path:
    """A project of exactly n chunks; reused when an earlier run built the same thing."""
    import numpy as np

    from ragtune.documents.types import Chunk

    folder = ROOT / f"n{n}"
    marker = folder / "bench-built.json"
    want = {"n": n, "base": len(base_chunks), "sigma": NOISE_SIGMA}
    if marker.exists() and json.loads(marker.read_text()) == want:
        project = open_project(folder)
        if project.store.count() == n and project.bm25.is_current():
            print(f"corpus n={n}: reusing {folder.relative_to(REPO)}")
            return folder
    print(f"corpus n={n}: building {folder.relative_to(REPO)}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    project = open_project(folder)
    project.record_index_spec()
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    done, replica = 0, 0
    while done < n:
        take = min(len(base_chunks), n - done)
        vecs = base_vectors[:take].copy()
        if replica:
            vecs += rng.normal(0.0, NOISE_SIGMA, vecs.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks = [Chunk(chunk_id=f"{c.chunk_id}~{replica}", doc_id=f"{c.doc_id}~{replica}", index=c.index,
                        text=c.text, title=c.title,
                        metadata={**c.metadata, "category": f"c{(done + j) % 4}", "replica": replica})
                  for j, c in enumerate(base_chunks[:take])]
        # one upsert per replica, so every document's chunks arrive together (doc_chunks stays right)
        project.store.upsert(chunks, vecs, {c.doc_id: f"replica-{replica}" for c in chunks})
        done += take
        replica += 1
        print(f"  upserted {done}/{n} chunks ({time.perf_counter() - t:.1f}s)", flush=True)
    upsert_s = time.perf_counter() - t
    t = time.perf_counter()
    progress = Progress(f"bm25 n={n}", every=20000)
    project.bm25.rebuild(project.store.iter_chunks(), progress=progress.stage("chunks"))
    bm25_s = time.perf_counter() - t
    print(f"  bm25 rebuilt in {bm25_s:.1f}s", flush=True)
    marker.write_text(json.dumps(want))
    (folder / "bench-build-times.json").write_text(json.dumps({"upsert_s": upsert_s, "bm25_rebuild_s": bm25_s}))
    return folder


# --- latency --------------------------------------------------------------------------------------------
def measure(folder: Path, queries: list[str], warmup: list[str]) -> dict:
    from ragtune.stores.filters import Condition

    project = open_project(folder)
    full = project.retriever
    k = project.config.retrieval.k
    project.embedder.embed(["load the model"])
    embed_ms, qvec = timed_embeddings(project.embedder, queries, warmup)
    fast = precomputed(project, qvec)
    cat = [Condition("category", "=", "c0")]
    matching = len(project.store.ids_matching(cat))
    variants = {
        "hybrid": (full, "hybrid", ()), "hybrid_noembed": (fast, "hybrid", ()),
        "dense": (full, "dense", ()), "dense_noembed": (fast, "dense", ()),
        "bm25": (fast, "bm25", ()),
        "hybrid_filter25": (full, "hybrid", cat), "hybrid_filter25_noembed": (fast, "hybrid", cat),
        "dense_filter25_noembed": (fast, "dense", cat), "bm25_filter25": (fast, "bm25", cat),
    }
    times = search_times(variants, queries, warmup, k, f"latency n={project.store.count()}")
    out = {"chunks": project.store.count(), "k": k, "candidates": full.candidates,
           "filter_matches": matching, "filter_fraction": round(matching / project.store.count(), 3),
           "index_mib": dir_size_mib(folder),
           "query_embed_ms": {"p50": pct(embed_ms, 50), "p95": pct(embed_ms, 95)}}
    build_times = folder / "bench-build-times.json"
    if build_times.exists():
        out["build"] = {k2: round(v, 1) for k2, v in json.loads(build_times.read_text()).items()}
    for name, ts in times.items():
        out[name] = {"p50": pct(ts, 50), "p95": pct(ts, 95), "mean": round(statistics.fmean(ts), 2)}
    return out


def profile_variant(folder: Path, queries: list[str], mode: str, where_c0: bool, top: int = 25) -> str:
    """cProfile of one variant over the queries, for the report's slow-spot notes."""
    import cProfile
    import io
    import pstats

    from ragtune.stores.filters import Condition

    project = open_project(folder)
    r = project.retriever
    where = [Condition("category", "=", "c0")] if where_c0 else []
    for q in queries[:5]:
        r.search(q, mode=mode, where=where)
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        r.search(q, mode=mode, where=where)
    prof.disable()
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(top)
    return s.getvalue()


# --- ask, in a child, for peak RSS ------------------------------------------------------------------------
def child_ask(folder: Path, questions: list[str]) -> None:
    from ragtune.rag.answer import answer

    project = open_project(folder)
    project.retriever.search(questions[0], k=4)
    rss_retrieval = peak_rss_mib()
    gen = project.generator()
    answers = []
    t = time.perf_counter()
    for q in questions:
        a = answer(q, project.retriever, gen, project.config.answer, mode=project.config.retrieval.mode)
        answers.append({"q": q, "refused": a.refused, "reason": a.reason, "completion_tokens": a.completion_tokens,
                        "retrieve_s": round(a.retrieve_seconds, 3), "generate_s": round(a.generate_seconds, 3)})
        print(f"  ask: {q[:60]!r} -> refused={a.refused} ({a.generate_seconds:.1f}s generating)", flush=True)
    emit_result({"chunks": project.store.count(), "peak_rss_after_retrieval_mib": round(rss_retrieval, 1),
                 "generator": project.config.generator.model_dump(), "questions": len(questions),
                 "generated": sum(1 for a in answers if a["completion_tokens"] > 0),
                 "seconds": round(time.perf_counter() - t, 1), "answers": answers})


# --- main ----------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ask-questions", type=int, default=5)
    ap.add_argument("--no-ask", action="store_true")
    ap.add_argument("--build-only", action="store_true", help="only build (or reuse) the corpora")
    ap.add_argument("--profile", action="store_true", help="also write cProfile output for slow variants")
    ap.add_argument("--child", choices=["ask"], help=argparse.SUPPRESS)
    ap.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    from ragtune.evaluation.datasets import read_jsonl

    rows = read_jsonl(SCIFACT / "queries.train.jsonl", ("_id", "text"))
    texts = [r["text"] for r in rows]
    queries, warmup = texts[:args.queries], texts[args.queries:args.queries + WARMUP]
    if args.child == "ask":
        return child_ask(args.project, texts[-args.ask_questions:])

    base_chunks, base_vectors = load_base()
    if args.build_only:
        for n in args.sizes:
            build(n, base_chunks, base_vectors)
        return
    sizes = {}
    for n in args.sizes:
        folder = build(n, base_chunks, base_vectors)
        print(f"== latency at {n} chunks", flush=True)
        sizes[str(n)] = measure(folder, queries, warmup)
        print("  " + json.dumps({k: v for k, v in sizes[str(n)].items() if isinstance(v, dict)}), flush=True)
        if args.profile:
            for mode, filt in (("hybrid", False), ("hybrid", True)):
                text = profile_variant(folder, queries[:50], mode, filt)
                path = ROOT / f"profile_n{n}_{mode}{'_filter' if filt else ''}.txt"
                path.write_text(text)
                print(f"  profile written to {path.relative_to(REPO)}")
        if not args.no_ask:
            print(f"== ask x{args.ask_questions} at {n} chunks (child process)", flush=True)
            sizes[str(n)]["ask"] = run_child(HERE, ["--child", "ask", "--project", str(folder),
                                                    "--ask-questions", str(args.ask_questions)])
    largest = sizes[str(max(args.sizes))]
    payload = {"queries": len(queries), "warmup_queries": len(warmup), "noise_sigma": NOISE_SIGMA,
               "base_chunks": len(base_chunks), "sizes": sizes,
               "goal_hybrid_p95_ms_at_largest": 20.0,
               "goal_met": largest["hybrid"]["p95"] <= 20.0,
               "goal_met_excluding_query_embedding": largest["hybrid_noembed"]["p95"] <= 20.0}
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    labels = [("hybrid", "hybrid, incl. query embedding"), ("hybrid_noembed", "hybrid, excl. query embedding"),
              ("dense", "dense, incl. query embedding"), ("dense_noembed", "dense, excl. query embedding"),
              ("bm25", "BM25"),
              ("hybrid_filter25", "hybrid + filter (25%), incl. embedding"),
              ("hybrid_filter25_noembed", "hybrid + filter (25%), excl. embedding"),
              ("dense_filter25_noembed", "dense + filter (25%), excl. embedding"),
              ("bm25_filter25", "BM25 + filter (25%)")]
    sizes = sorted(p["sizes"], key=int)
    head = ["search (k=5, 50 candidates each)"] + [f"{int(n):,} chunks p50 / p95 ms" for n in sizes]
    rows = [["query embedding alone"] + [f"{p['sizes'][n]['query_embed_ms']['p50']:.1f} / "
                                         f"{p['sizes'][n]['query_embed_ms']['p95']:.1f}" for n in sizes]]
    for key, label in labels:
        rows.append([label] + [f"{p['sizes'][n][key]['p50']:.1f} / {p['sizes'][n][key]['p95']:.1f}" for n in sizes])
    out = md_table(head, rows)
    out += "\n\n" + md_table(["goal: hybrid p95 ≤ 20 ms at largest", "met (incl. embedding)", "met (excl. embedding)"],
                             [[f"{int(max(sizes, key=int)):,} chunks", p["goal_met"],
                               p["goal_met_excluding_query_embedding"]]])
    ask_rows = []
    for n in sizes:
        s = p["sizes"][n]
        a = s.get("ask")
        build = s.get("build", {})
        ask_rows.append([f"{int(n):,}", s["index_mib"], build.get("upsert_s"), build.get("bm25_rebuild_s"),
                         a["peak_rss_after_retrieval_mib"] if a else None, a["peak_rss_mib"] if a else None,
                         f"{a['generated']}/{a['questions']}" if a else None, a["seconds"] if a else None])
    out += "\n\n" + md_table(["chunks", "index on disk MiB", "build: upsert s", "build: BM25 rebuild s",
                              "ask: peak RSS after retrieval MiB", "ask: peak RSS with SmolLM2 MiB",
                              "answers generated", "ask: s for all"], ask_rows)
    return out


if __name__ == "__main__":
    main()
