"""Hybrid search inside the engine, on SciFact: for each backend that ranks keywords itself
(``ragtune.stores.keywords``), the keyword half and the hybrid run in the engine, against the embedded
default (Chroma beside ragtune's in-process BM25, bm25s) on the same chunks and vectors.

The source is the whole SciFact corpus (5,183 abstracts) chunked by the ``token`` chunker and embedded
by the ``hashing`` embedder, copied into each backend with ``ragtune.stores.migrate`` (stored vectors,
no re-embedding): the vectors are identical everywhere. The hashing embedder stands in for MiniLM
because embedding SciFact with it takes over an hour on this machine's two shared cores;
bench/store_backends.py has MiniLM's dense numbers for every backend. Reports nDCG@10 of the keyword
ranking alone (against the embedded default's) and of the hybrid (RRF) over the 809 judged train
queries, the hybrid against ragtune's BM25 fused with the same engine's dense half (each engine
searches the vectors with its own index, so only the keyword half differs there), and the p50/p95
of one keyword query.

    .venv/bin/python bench/store_keywords.py [--backends pgvector,milvus,qdrant]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, ensure_ingested, md_table, ndcg_by_mode, write_results
from store_backends import Servers, target

NAME = "store_keywords"
SOURCE = WORK / NAME / "source"
BACKENDS = ["pgvector", "milvus", "qdrant"]
ENGINE = {"chroma (embedded default)": "ragtune's BM25 (bm25s) in-process, beside the store",
          "pgvector": "Postgres: BM25 in SQL over a tsvector column (GIN index)",
          "milvus": "Milvus: its BM25 function (sparse vectors, English analyzer)",
          "qdrant": "Qdrant: sparse vectors of ragtune's words, its IDF modifier (local mode)",
          "chroma-server": "ragtune's BM25 (bm25s) in-process, beside the store"}


def evaluate(retriever, queries, qrels, modes=("bm25", "hybrid")) -> dict:
    return ndcg_by_mode(retriever, queries, qrels, modes, "bm25", "keyword")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default=",".join(BACKENDS))
    args = ap.parse_args()

    from ragtune.config import ComponentSpec, ProjectConfig
    from ragtune.evaluation.datasets import read_jsonl, read_qrels
    from ragtune.retrieval.retriever import Retriever
    from ragtune.stores.keywords import keyword_search
    from ragtune.stores.migrate import migrate

    config = ProjectConfig(embedder=ComponentSpec(type="hashing"), chunker=ComponentSpec(type="token"))
    source, _ = ensure_ingested(SOURCE, SCIFACT / "corpus.jsonl", config, every=2000)
    qrels = read_qrels(SCIFACT / "qrels" / "train.tsv")
    queries = {str(r["_id"]): r["text"] for r in read_jsonl(SCIFACT / "queries.train.jsonl", ("_id", "text"))
               if str(r["_id"]) in qrels}
    base = {"backend": "chroma (embedded default)",
            **evaluate(Retriever(source.store, source.bm25, source.embedder), queries, qrels)}
    rows = [base]
    print("  ", base, flush=True)
    folder = WORK / NAME / "targets"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    servers = Servers(folder)
    payload = {"queries": len(queries), "source_chunks": source.store.count(),
               "note": "one process, 2 shared cores; hashing embedder as the dense half (same vectors everywhere), "
                       "token chunker; pgvector on pgserver's Postgres 16, milvus on Milvus Lite 2.5, "
                       "qdrant on qdrant-client's local mode",
               "runs": rows}
    try:
        for backend in args.backends.split(","):
            if backend == "pgvector":
                servers.pg_uri = servers.postgres()
            store = target(backend, folder, servers, "kw")
            keywords = keyword_search(store)
            if keywords is None:
                sys.exit(f"{backend} does not rank keywords in its engine")
            report = migrate(source.store, store, batch_size=1000)
            row = {"backend": backend, "chunks": report.chunks, "migrate_s": round(report.seconds, 1),
                   **evaluate(Retriever(store, source.bm25, source.embedder, keywords=keywords), queries, qrels)}
            row["bm25_delta"] = round(row["bm25_ndcg@10"] - base["bm25_ndcg@10"], 4)
            # the dense half comes from each engine's own vector index (Chroma's HNSW is approximate), so
            # the hybrid is held against ragtune's BM25 fused with the same engine's dense half
            beside = evaluate(Retriever(store, source.bm25, source.embedder), queries, qrels, ("hybrid",))
            row["hybrid_bm25s_ndcg@10"] = beside["hybrid_ndcg@10"]
            row["hybrid_delta"] = round(row["hybrid_ndcg@10"] - row["hybrid_bm25s_ndcg@10"], 4)
            row["within_0.01"] = abs(row["hybrid_delta"]) <= 0.01
            rows.append(row)
            print("  ", row, flush=True)
            write_results(NAME, payload)  # after each backend: a slow one later cannot lose the others
    finally:
        servers.stop()
    print()
    print(table(payload))


def table(p: dict) -> str:
    rows = [[r["backend"], ENGINE[r["backend"]], f"{r['bm25_ndcg@10']:.4f}", f"{r['hybrid_ndcg@10']:.4f}",
             f"{r['bm25_delta']:+.4f}" if "bm25_delta" in r else "—",
             f"{r['hybrid_bm25s_ndcg@10']:.4f}" if "hybrid_bm25s_ndcg@10" in r else "—",
             f"{r['hybrid_delta']:+.4f}" if "hybrid_delta" in r else "—",
             r["keyword_p50_ms"], r["keyword_p95_ms"]] for r in p["runs"]]
    return (md_table(["backend", "keywords ranked by", "keyword nDCG@10", "hybrid nDCG@10", "Δ keyword",
                      "hybrid, ragtune's BM25 beside it", "Δ hybrid", "keyword query p50 ms", "p95 ms"], rows)
            + f"\n\n{p['queries']} judged SciFact train queries over {p['source_chunks']:,} chunks; the dense half "
              "is the same hashing-embedder vectors in every row, searched by each engine's own vector index. "
              "Δ keyword: against the embedded default's keyword ranking; Δ hybrid: against ragtune's BM25 fused "
              "with the same engine's dense half, so only the keyword half differs.")


if __name__ == "__main__":
    main()
