"""Peak RSS of a BM25 rebuild at two corpus sizes: the streamed build (BM25Index.rebuild, token ids
batch by batch) against the build it replaced (every text held, tokenized at once), in the same run.

Chunks are SciFact documents (title and text) replicated with distinct ids, handed over in batches of
5,000 as the store's iter_chunks() does. Each (size, build) runs in its own child process, so each peak
RSS is that build's alone; "before build" is the child's RSS after imports.

    .venv/bin/python bench/bm25_build.py [--sizes 20000 80000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SCIFACT, WORK, emit_result, md_table, peak_rss_mib, run_child, write_results

NAME = "bm25_build"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
BATCH = 5000


def batches(n: int):
    from ragtune.documents.types import Chunk

    base = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    base_texts = [f"{d.get('title', '')}\n{d['text']}" for d in base]
    for start in range(0, n, BATCH):
        yield [Chunk(chunk_id=f"c{i}#0", doc_id=f"c{i}", index=0, text=base_texts[i % len(base_texts)])
               for i in range(start, min(n, start + BATCH))]


def child(n: int, build: str) -> None:
    import bm25s

    from ragtune.retrieval.bm25 import BM25Index, tokenize

    folder = ROOT / f"{build}-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    before = peak_rss_mib()
    t0 = time.perf_counter()
    if build == "streamed":
        BM25Index(folder).rebuild(batches(n))
    else:  # the rebuild before streaming: every id and text held, then tokenized in one call
        ids, texts = [], []
        for batch in batches(n):
            ids += [c.chunk_id for c in batch]
            texts += [c.indexed_text for c in batch]
        model = bm25s.BM25()
        model.index(tokenize(texts), show_progress=False)
        folder.mkdir(parents=True)
        model.save(str(folder), show_progress=False)
        (folder / "ids.json").write_text(json.dumps(ids))
    seconds = time.perf_counter() - t0
    emit_result({"chunks": n, "build": build, "seconds": round(seconds, 2), "rss_before_build_mib": round(before, 1)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 80000])
    ap.add_argument("--child", nargs=2, metavar=("N", "BUILD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(int(args.child[0]), args.child[1])
    runs = []
    for n in args.sizes:
        for build in ("all-at-once", "streamed"):
            print(f"== {build} at {n} chunks (child process)", flush=True)
            runs.append(run_child(HERE, ["--child", str(n), build]))
    shutil.rmtree(ROOT, ignore_errors=True)
    payload = {"batch": BATCH, "runs": runs}
    write_results(NAME, payload)
    print(table(payload))


def table(p: dict) -> str:
    return md_table(["chunks", "build", "s", "RSS before build MiB", "peak RSS MiB", "peak - before MiB"],
                    [[r["chunks"], r["build"], r["seconds"], r["rss_before_build_mib"], r["peak_rss_mib"],
                      round(r["peak_rss_mib"] - r["rss_before_build_mib"], 1)] for r in p["runs"]])


if __name__ == "__main__":
    main()
