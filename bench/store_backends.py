"""The SciFact retrieval benchmark against every store backend: the embedded Chroma index built by
bench/ingest_scifact.py is copied (``ragtune.stores.migrate``: stored vectors, no re-embedding) into
each backend, then the same 809 train queries run through the same retriever. Query vectors are
computed once and shared, so only the store differs.

Reports per backend: migration (ingest) throughput at a few batch sizes on a sample, the full copy
verified by counts and checksums, dense and hybrid nDCG@10 against the embedded default's, and the
latency p50/p95 of the dense top-200 store query (what the evaluation asks for).

    .venv/bin/python bench/store_backends.py [--backends chroma-server,qdrant,milvus,pgvector]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, md_table, ndcg_by_mode, write_results

NAME = "store_backends"
SOURCE = WORK / "ingest_scifact" / "full"
BACKENDS = ["chroma-server", "qdrant", "milvus", "pgvector"]
BATCHES = (250, 1000, 4000)
SAMPLE = 4000  # chunks written per batch-size trial


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """The loopback servers a backend needs, started on demand and stopped at exit."""

    def __init__(self, folder: Path):
        self.folder, self.procs, self.pg = folder, [], None

    def chroma(self) -> str:
        port = _port()
        chroma = Path(sys.executable).parent / "chroma"
        self.procs.append(subprocess.Popen([str(chroma), "run", "--path", str(self.folder / "chroma-server"),
                                            "--host", "127.0.0.1", "--port", str(port)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=1)
                return url
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("chroma run did not start")

    def postgres(self) -> str:
        import pgserver

        self.pg = pgserver.get_server(tempfile.mkdtemp(prefix="rtpg"), cleanup_mode="delete")
        return self.pg.get_uri()

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            p.wait(timeout=30)
        if self.pg:
            self.pg.cleanup()


def target(backend: str, folder: Path, servers: Servers, tag: str):
    from ragtune.stores import STORES

    if backend == "chroma-server":
        return STORES.create("chroma", url=servers.chroma_url, collection=f"bench-{tag}")
    if backend == "qdrant":
        return STORES.create("qdrant", path=str(folder / f"qdrant-{tag}"))
    if backend == "milvus":
        return STORES.create("milvus", uri=str(folder / f"milvus-{tag}.db"))
    return STORES.create("pgvector", dsn=servers.pg_uri, table=f"bench_{tag}")


class CachedEmbedder:
    """Query vectors computed once for every backend: only the store differs between runs."""

    def __init__(self, inner, texts):
        self.dimension = inner.dimension
        self.vectors = dict(zip(texts, inner.embed(list(texts)), strict=True))

    def embed(self, texts):
        return np.stack([self.vectors[t] for t in texts])


def evaluate(store, bm25, embedder, queries, qrels) -> dict:
    from ragtune.retrieval.retriever import Retriever

    return ndcg_by_mode(Retriever(store, bm25, embedder), queries, qrels, ("dense", "hybrid"), "dense", "dense")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default=",".join(BACKENDS))
    args = ap.parse_args()

    from ragtune.evaluation.datasets import read_jsonl, read_qrels
    from ragtune.project import Project
    from ragtune.stores.migrate import migrate

    if not (SOURCE / "store").exists():
        sys.exit(f"{SOURCE} is missing: run bench/ingest_scifact.py first")
    source = Project(SOURCE)
    qrels = read_qrels(SCIFACT / "qrels" / "train.tsv")
    queries = {str(r["_id"]): r["text"] for r in read_jsonl(SCIFACT / "queries.train.jsonl", ("_id", "text"))
               if str(r["_id"]) in qrels}
    t = time.perf_counter()
    embedder = CachedEmbedder(source.embedder, list(queries.values()))
    print(f"{len(queries)} judged queries embedded once in {time.perf_counter() - t:.1f}s", flush=True)
    sample = next(source.store.export(SAMPLE))
    print(f"source: {source.store.count()} chunks", flush=True)

    rows = [{"backend": "chroma (embedded default)", **evaluate(source.store, source.bm25, embedder, queries, qrels)}]
    print("  ", rows[0], flush=True)
    folder = WORK / NAME
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    servers = Servers(folder)
    try:
        for backend in args.backends.split(","):
            if backend == "chroma-server":
                servers.chroma_url = servers.chroma()
            if backend == "pgvector":
                servers.pg_uri = servers.postgres()
            row = {"backend": backend, "throughput": {}}
            for batch in BATCHES:  # ingest throughput on a sample, per write batch size
                store = target(backend, folder, servers, f"b{batch}")
                t = time.perf_counter()
                for i in range(0, len(sample.chunks), batch):
                    store.upsert(sample.chunks[i:i + batch], sample.vectors[i:i + batch], sample.doc_hashes,
                                 doc_chunks=sample.doc_chunks)
                row["throughput"][batch] = round(len(sample.chunks) / (time.perf_counter() - t), 1)
            best = max(row["throughput"], key=row["throughput"].get)
            store = target(backend, folder, servers, "full")
            report = migrate(source.store, store, batch_size=best)
            row.update(best_batch=best, chunks=report.chunks, migrate_s=round(report.seconds, 1),
                       verified=report.verified, checksum=report.checksum[:16])
            row.update(evaluate(store, source.bm25, embedder, queries, qrels))
            rows.append(row)
            print("  ", row, flush=True)
    finally:
        servers.stop()

    base = rows[0]
    for r in rows[1:]:
        r["dense_delta"] = round(r["dense_ndcg@10"] - base["dense_ndcg@10"], 4)
        r["hybrid_delta"] = round(r["hybrid_ndcg@10"] - base["hybrid_ndcg@10"], 4)
        r["within_0.005"] = abs(r["dense_delta"]) <= 0.005 and abs(r["hybrid_delta"]) <= 0.005
    payload = {"queries": len(queries), "source_chunks": source.store.count(), "sample_chunks": len(sample.chunks),
               "note": "one process, 2 shared cores, loopback servers; chroma-server, qdrant (client local mode), "
                       "milvus (Milvus Lite), pgvector (pgserver) run on this machine",
               "runs": rows}
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    quality = [[r["backend"], f"{r['dense_ndcg@10']:.4f}", f"{r['hybrid_ndcg@10']:.4f}",
                f"{r['dense_delta']:+.4f}" if "dense_delta" in r else "—",
                f"{r['hybrid_delta']:+.4f}" if "hybrid_delta" in r else "—",
                r["dense_p50_ms"], r["dense_p95_ms"]] for r in p["runs"]]
    ingest = [[r["backend"], *(r["throughput"][b] for b in r["throughput"]), r["best_batch"],
               r["chunks"], r["migrate_s"], r["verified"]] for r in p["runs"][1:]]
    batches = list(p["runs"][1]["throughput"]) if len(p["runs"]) > 1 else []
    return (md_table(["backend", "dense nDCG@10", "hybrid nDCG@10", "Δ dense", "Δ hybrid",
                      "dense top-200 p50 ms", "p95 ms"], quality)
            + "\n\n" + md_table(["backend", *(f"chunks/s @ batch {b}" for b in batches), "best batch",
                                 "chunks copied", "copy s", "verified"], ingest))


if __name__ == "__main__":
    main()
