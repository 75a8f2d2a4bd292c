"""Ingest throughput on SciFact against LlamaIndex's and Chroma's quickstart defaults, same MiniLM, same run.

The first ``--docs`` SciFact documents (title + newline + abstract) go into a fresh index three ways, each
in its own child process, the order rotating every round so that load shared with other jobs falls on all
three alike:

- ragtune: a fresh project with the default config (sentence chunker, int8 MiniLM, Chroma, BM25),
  ``ingest()`` of the corpus file.
- LlamaIndex: ``Settings.embed_model = HuggingFaceEmbedding(<MiniLM folder>)``, then
  ``VectorStoreIndex.from_documents(docs)`` (default SentenceSplitter, in-memory vector store) and
  ``storage_context.persist()``.
- Chroma: ``PersistentClient`` + ``create_collection(embedding_function=SentenceTransformerEmbeddingFunction(
  <MiniLM folder>))`` + one ``collection.add(documents, ids)``.

Every child loads its models before the clock starts ("load s" is reported apart), then times the ingest
to an index on disk. ragtune chunks each text whole (sentence chunks of <= 200 word pieces); both peers
hand each document to MiniLM as one node, which sentence-transformers cuts at 256 word pieces. "word
pieces embedded" counts what each model actually read.

The peers are not ragtune dependencies: they live in their own virtual environment, bench/.work/peers,
made once by this script (see ensure_peers), which sees the product venv's packages (torch,
sentence-transformers, chromadb, llama-index-core) through a .pth file and adds only
llama-index-embeddings-huggingface.

    .venv/bin/python bench/ingest_peers.py [--docs 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, emit_result, md_table, open_project, run_child, write_results

NAME = "ingest_peers"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
PEERS = WORK / "peers"
PEER_PACKAGES = ["llama-index-embeddings-huggingface==0.8.0"]
SYSTEMS = ("ragtune", "llamaindex", "chroma")


def ensure_peers() -> Path:
    """A venv on the base interpreter, with a .pth file naming this venv's site-packages (torch and the
    rest are reused, not reinstalled) and the peers' own packages installed into it alone."""
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys._base_executable, "-m", "venv", str(PEERS)], check=True)  # type: ignore[attr-defined]
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        Path(site, "_ragtune_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def read_docs(corpus: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["_id"], f"{r.get('title', '')}\n{r['text']}") for r in rows]


def word_pieces(texts: list[str], limit: int | None, model: str) -> int:
    """Word pieces MiniLM reads of ``texts`` (each cut at ``limit``), by the tokenizer in the ``model`` folder:
    the peers' children run in their own venv, where ragtune itself is not importable."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return sum(min(len(e.ids), limit or len(e.ids)) for e in tok.encode_batch(texts))


# --- children -------------------------------------------------------------------------------------
def child_ragtune(corpus: Path, out: Path) -> None:
    from ragtune.documents.types import Document
    from ragtune.packaged import minilm_dir
    from ragtune.rag.ingest import ingest

    t0, c0 = time.perf_counter(), cpu_seconds()
    project = open_project(out)
    project.embedder.warm_up()
    project.chunker.split(Document("w", "Warm up.", "w"))
    load = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), cpu_seconds()
    report = ingest(project, [corpus])
    seconds, cpu = time.perf_counter() - t1, cpu_seconds() - c1
    texts = [c.indexed_text for batch in project.store.iter_chunks() for c in batch]
    emit_result({"docs": report.added, "chunks": report.chunks, "seconds": seconds, "cpu_seconds": cpu,
                 "load_seconds": load, "load_cpu_seconds": c1 - c0, "word_pieces": word_pieces(texts, 256, str(minilm_dir()))})


def child_llamaindex(corpus: Path, out: Path, model: str) -> None:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    t0, c0 = time.perf_counter(), cpu_seconds()
    Settings.embed_model = HuggingFaceEmbedding(model_name=model, device="cpu")
    Settings.embed_model.get_text_embedding("Warm up.")
    docs = [Document(text=text, doc_id=doc_id) for doc_id, text in read_docs(corpus)]
    load = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), cpu_seconds()
    index = VectorStoreIndex.from_documents(docs)
    index.storage_context.persist(persist_dir=str(out))
    seconds, cpu = time.perf_counter() - t1, cpu_seconds() - c1
    nodes = list(index.docstore.docs.values())
    emit_result({"docs": len(docs), "chunks": len(nodes), "seconds": seconds, "cpu_seconds": cpu,
                 "load_seconds": load, "load_cpu_seconds": c1 - c0,
                 "word_pieces": word_pieces([n.get_content(metadata_mode="embed") for n in nodes], 256, model)})


def child_chroma(corpus: Path, out: Path, model: str) -> None:
    import chromadb
    from chromadb.utils import embedding_functions

    t0, c0 = time.perf_counter(), cpu_seconds()
    ef = embedding_functions.SentenceTransformerEmbeddingFunction(model_name=model, device="cpu")
    ef(["Warm up."])
    client = chromadb.PersistentClient(path=str(out))
    rows = read_docs(corpus)
    load = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), cpu_seconds()
    collection = client.create_collection("docs", embedding_function=ef)
    collection.add(ids=[i for i, _ in rows], documents=[t for _, t in rows])
    seconds, cpu = time.perf_counter() - t1, cpu_seconds() - c1
    emit_result({"docs": collection.count(), "chunks": len(rows), "seconds": seconds, "cpu_seconds": cpu,
                 "load_seconds": load, "load_cpu_seconds": c1 - c0,
                 "word_pieces": word_pieces([t for _, t in rows], 256, model)})


# --- parent ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "ragtune":
        return child_ragtune(args.corpus, args.out)
    if args.child == "llamaindex":
        return child_llamaindex(args.corpus, args.out, args.model)
    if args.child == "chroma":
        return child_chroma(args.corpus, args.out, args.model)

    from ragtune.packaged import minilm_dir

    peers = ensure_peers()
    ROOT.mkdir(parents=True, exist_ok=True)
    corpus = ROOT / "corpus.jsonl"
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as f:
        corpus.write_text("".join(line for _, line in zip(range(args.docs), f, strict=False)), encoding="utf-8")
    runs = []
    for r in range(args.rounds):
        for system in SYSTEMS[r % 3:] + SYSTEMS[:r % 3]:
            out = ROOT / system
            shutil.rmtree(out, ignore_errors=True)
            load = [round(x, 2) for x in os.getloadavg()]
            print(f"== round {r + 1}: {system} (load average {load[0]})", flush=True)
            extra = [] if system == "ragtune" else ["--model", str(minilm_dir())]
            python = sys.executable if system == "ragtune" else str(peers)
            res = run_child(HERE, ["--child", system, "--corpus", str(corpus), "--out", str(out), *extra],
                            python=python)
            runs.append({"round": r + 1, "system": system, "loadavg_before": load, **res})
            shutil.rmtree(out, ignore_errors=True)
    summary = {}
    for system in SYSTEMS:
        mine = [x for x in runs if x["system"] == system]
        summary[system] = {
            "docs_per_s": [round(x["docs"] / x["seconds"], 2) for x in mine],
            "docs_per_cpu_s": [round(x["docs"] / x["cpu_seconds"], 2) for x in mine],
            "chunks": mine[0]["chunks"], "word_pieces": mine[0]["word_pieces"],
            "peak_rss_mib": max(x["peak_rss_mib"] for x in mine),
        }
    for system in SYSTEMS:
        s = summary[system]
        s["best_docs_per_s"], s["best_docs_per_cpu_s"] = max(s["docs_per_s"]), max(s["docs_per_cpu_s"])
    for peer in SYSTEMS[1:]:
        summary["ragtune"][f"x_{peer}_wall"] = round(summary["ragtune"]["best_docs_per_s"]
                                                     / summary[peer]["best_docs_per_s"], 2)
        summary["ragtune"][f"x_{peer}_cpu"] = round(summary["ragtune"]["best_docs_per_cpu_s"]
                                                    / summary[peer]["best_docs_per_cpu_s"], 2)
    payload = {"docs": args.docs, "rounds": args.rounds, "peer_packages": PEER_PACKAGES, "runs": runs,
               "summary": summary}
    write_results(NAME, payload)
    print(table(payload))


def table(p: dict) -> str:
    s = p["summary"]
    rows = [[system, s[system]["chunks"], s[system]["word_pieces"],
             " / ".join(f"{v:.1f}" for v in s[system]["docs_per_s"]), s[system]["best_docs_per_s"],
             " / ".join(f"{v:.1f}" for v in s[system]["docs_per_cpu_s"]), s[system]["best_docs_per_cpu_s"],
             s[system]["peak_rss_mib"]] for system in SYSTEMS]
    loads = " / ".join(f"{r['system']} {r['loadavg_before'][0]}" for r in p["runs"])
    ratios = [[f"ragtune / {peer}", s["ragtune"][f"x_{peer}_wall"], s["ragtune"][f"x_{peer}_cpu"],
               s["ragtune"][f"x_{peer}_wall"] >= 2] for peer in SYSTEMS[1:]]
    return (md_table(["system", "chunks embedded", "word pieces embedded", "docs/s per round", "best docs/s",
                      "docs per CPU-s per round", "best docs per CPU-s", "peak RSS MiB"], rows) + "\n\n"
            + md_table(["ratio (best round each)", "wall", "per CPU-s", "goal ≥ 2x met (wall)"], ratios)
            + f"\n\nLoad average (1 min) before each run, in order: {loads}.")


if __name__ == "__main__":
    main()
