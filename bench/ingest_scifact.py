"""Ingest throughput and memory on SciFact (5,183 abstracts) with the default config.

1. A fresh project, whole corpus: wall time, docs/s, chunks, chunks/s, peak RSS.
2. The same ingest again, unchanged: its time and the ratio to the first (goal <= 5%).
3. Peak RSS of fresh ingests of 1/4 and 1/2 of the corpus, to set beside the whole one, and of a
   baseline process that only loads the models.

Each ingest runs in its own child interpreter, which reports its own peak RSS (getrusage RUSAGE_SELF;
the parent's RUSAGE_CHILDREN agrees when that child set a new maximum).

    .venv/bin/python bench/ingest_scifact.py
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
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
    peak_rss_mib,
    run_child,
    write_results,
)

NAME = "ingest_scifact"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
FULL = ROOT / "full"  # bench/retrieval_scifact.py reuses this project


# --- child side -----------------------------------------------------------------------------------
def child_ingest(project_dir: Path, corpus: Path) -> None:
    import psutil

    from ragtune.rag.ingest import ingest

    proc = psutil.Process()
    samples = []
    t0 = time.perf_counter()
    project = open_project(project_dir)
    progress = Progress(project_dir.name, every=500)

    def on_progress(stage: str, n: int, total: int | None = None) -> None:
        before = progress.counts.get(stage, 0)
        progress(stage, n)
        if stage == "docs" and (before + n) // 500 > before // 500:
            samples.append({"docs": before + n, "rss_mib": round(proc.memory_info().rss / 2**20, 1)})

    report = ingest(project, [corpus], progress=on_progress)
    out = report.to_dict()
    out.update(seconds=report.seconds, process_seconds=time.perf_counter() - t0,
               store_chunks=project.store.count(), index_mib=dir_size_mib(project_dir), rss_samples=samples)
    emit_result(out)


def child_baseline() -> None:
    """Imports ragtune and loads what ingest loads (chunker tokenizer, int8 embedder, Chroma) without data."""
    from ragtune.documents.types import Document

    with tempfile.TemporaryDirectory() as tmp:
        project = open_project(Path(tmp) / "p")
        project.chunker.split(Document("x", "A sentence. Another one.", "x"))
        project.embedder.embed(["warm the session"])
        project.store.count()
        emit_result({"peak_rss_after_load_mib": round(peak_rss_mib(), 1)})


# --- parent side ----------------------------------------------------------------------------------
def subset(corpus: Path, n: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "corpus.jsonl"
    with corpus.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i >= n:
                break
            g.write(line)
    return out


def fresh_ingest(label: str, project_dir: Path, corpus: Path) -> dict:
    print(f"== {label}: {project_dir.relative_to(REPO)} <- {corpus}", flush=True)
    shutil.rmtree(project_dir, ignore_errors=True)
    return run_child(HERE, ["--child", "ingest", "--project", str(project_dir), "--corpus", str(corpus)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=["ingest", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "ingest":
        return child_ingest(args.project, args.corpus)
    if args.child == "baseline":
        return child_baseline()

    corpus = SCIFACT / "corpus.jsonl"
    n_docs = sum(1 for line in corpus.open(encoding="utf-8") if line.strip())
    runs = {}
    runs["full"] = fresh_ingest("whole corpus, fresh project", FULL, corpus)
    print("== same ingest again, nothing changed", flush=True)
    runs["rerun"] = run_child(HERE, ["--child", "ingest", "--project", str(FULL), "--corpus", str(corpus)])
    # Subsets are written outside the repository (shared data is never copied into it).
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as tmp:
        for label, frac in (("quarter", 4), ("half", 2)):
            part = subset(corpus, n_docs // frac, Path(tmp) / label)
            runs[label] = fresh_ingest(f"1/{frac} of the corpus, fresh project", ROOT / label, part)
            runs[label]["docs_in_corpus"] = n_docs // frac
    runs["full"]["docs_in_corpus"] = runs["rerun"]["docs_in_corpus"] = n_docs
    print("== baseline: load models only", flush=True)
    baseline = run_child(HERE, ["--child", "baseline"])

    for r in runs.values():
        docs = r["added"] + r["updated"] + r["unchanged"]
        r["docs"] = docs
        r["docs_per_s"] = round(docs / r["seconds"], 2) if r["seconds"] else None
        r["chunks_per_s"] = round(r["chunks"] / r["seconds"], 2) if r["seconds"] else None
    ratio = runs["rerun"]["seconds"] / runs["full"]["seconds"]
    payload = {
        "corpus": str(corpus.relative_to(REPO.parent)) if corpus.is_relative_to(REPO.parent) else str(corpus),
        "config": "default (onnx int8 MiniLM embedder, sentence chunker 200 tokens, chroma, bm25s)",
        "runs": runs,
        "baseline_models_loaded": baseline,
        "rerun_ratio": round(ratio, 4),
        "goal_rerun_ratio": 0.05,
        "goal_met": ratio <= 0.05,
    }
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    r = p["runs"]
    rows = []
    for key, label in (("full", "whole corpus, fresh"), ("rerun", "whole corpus, unchanged re-run"),
                       ("quarter", "1/4 corpus, fresh"), ("half", "1/2 corpus, fresh")):
        x = r[key]
        rows.append([label, x["docs"], x["chunks"], x["store_chunks"], round(x["seconds"], 1), x["docs_per_s"],
                     x["chunks_per_s"] if x["chunks"] else None, x["child_wall_seconds"],
                     x["rss_samples"][-1]["rss_mib"] if x["rss_samples"] else None, x["peak_rss_mib"],
                     x["index_mib"]])
    rows.append(["baseline: models loaded, no data", None, None, None, None, None, None,
                 p["baseline_models_loaded"]["child_wall_seconds"], None,
                 p["baseline_models_loaded"]["peak_rss_mib"], None])
    head = ["run", "docs", "new chunks", "chunks in index", "ingest s", "docs/s", "chunks/s",
            "process wall s", "RSS at last 500-doc mark MiB", "peak RSS MiB", "index on disk MiB"]
    return (md_table(head, rows) + "\n\n"
            + md_table(["unchanged re-run / first ingest", "goal ≤ 5% met"],
                       [[f"{100 * p['rerun_ratio']:.2f}%", p["goal_met"]]]))


if __name__ == "__main__":
    main()
