"""Ingest of one huge text file against a small-file baseline, in the same run: peak RSS, time, the
time to the first progress report, and how long Ctrl-C takes to stop it.

1. baseline: 200 files of 5 KB (1 MB) into a fresh project.
2. big: one 50 MB file (``--size-mb``) into a fresh project.
3. interrupt: the same file again; SIGINT while it is being chunked (where the previous release
   ignored Ctrl-C); seconds from the signal to the process's exit. That a re-run then equals a clean
   ingest is tests/unit/test_interrupt.py's job.

Generated prose (a fixed seed), so the run needs no data. To keep the run within minutes on 2 shared
cores it uses the `hashing` embedder (a fake: memory and time of everything but the model) and the
`token` chunker counting MiniLM word pieces; the default int8 MiniLM embeds ~45 passages/s here
(bench/embed_throughput), which would make 50 MB take about half an hour. Each ingest runs in its own
child interpreter, which reports its own peak RSS.

    .venv/bin/python bench/ingest_bigfile.py [--size-mb 50]
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, WORK, emit_result, md_table, open_project, run_child, write_results

NAME = "ingest_bigfile"
HERE = Path(__file__).resolve()
ROOT = WORK / NAME
SENTENCE = ("ragtune indexes documents and answers questions with cited passages from the index while the "
            "embedder turns every chunk into a vector and the store keeps them with their metadata so that a "
            "re-run finds what changed")
WORDS = SENTENCE.split()


def config():
    from ragtune.config import ComponentSpec, ProjectConfig

    return ProjectConfig(embedder=ComponentSpec(type="hashing"), generator=ComponentSpec(type="scripted"),
                         chunker=ComponentSpec(type="token", params={"tokenizer": "minilm"}))


def prose(n_chars: int, seed: int) -> str:
    rng = random.Random(seed)
    paras, size = [], 0
    while size < n_chars:
        para = " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24))).capitalize() + "."
                        for _ in range(rng.randint(3, 9)))
        paras.append(para)
        size += len(para) + 2
    return "\n\n".join(paras)[:n_chars]


# --- child side -----------------------------------------------------------------------------------
def child_ingest(project_dir: Path, docs: Path) -> None:
    import psutil

    from ragtune.rag.ingest import ingest

    t0 = time.perf_counter()
    first: list[float] = []
    reports = 0
    proc = psutil.Process()
    stage_rss: dict[str, float] = {}  # the largest RSS seen at a progress report of each stage

    def progress(stage: str, n: int, total: int | None = None) -> None:
        nonlocal reports
        reports += 1
        key = stage.split()[0]
        stage_rss[key] = max(stage_rss.get(key, 0), round(proc.memory_info().rss / 2**20, 1))
        if not first:
            first.append(time.perf_counter() - t0)
        if stage.startswith(("chunking", "embedding")):
            print(f"{stage.split()[0]} {n} {total or ''}", flush=True)

    project = open_project(project_dir, config())
    try:
        report = ingest(project, [docs], progress=progress)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    emit_result({**report.to_dict(), "seconds": report.seconds, "first_progress_s": round(first[0], 2),
                 "progress_reports": reports, "store_chunks": project.store.count(), "stage_rss_mib": stage_rss})


# --- parent side ----------------------------------------------------------------------------------
def interrupt_run(project_dir: Path, docs: Path) -> dict:
    cmd = [sys.executable, "-u", str(HERE), "--child", "--project", str(project_dir), "--docs", str(docs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    sections, sent = 0, None
    for line in proc.stdout:
        if line.startswith("chunking") and line.split()[1] != "0":
            sections += 1
            if sections == 3:
                sent = time.perf_counter()
                proc.send_signal(signal.SIGINT)
                break
    rc = proc.wait(timeout=120)
    stopped = time.perf_counter() - sent if sent else None
    proc.stdout.close()
    return {"exit_code": rc, "signal_to_exit_s": round(stopped, 3) if stopped else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=50)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--project", type=Path)
    ap.add_argument("--docs", type=Path)
    args = ap.parse_args()
    if args.child:
        child_ingest(args.project, args.docs)
        return

    shutil.rmtree(ROOT, ignore_errors=True)
    small, big = ROOT / "small", ROOT / "big"
    for i in range(200):
        (small / f"f{i:03d}.txt").parent.mkdir(parents=True, exist_ok=True)
        (small / f"f{i:03d}.txt").write_text(prose(5_000, i))
    big.mkdir(parents=True)
    (big / "big.txt").write_text(prose(int(args.size_mb * 1_000_000), 1))
    sizes = {"small": sum(p.stat().st_size for p in small.iterdir()), "big": (big / "big.txt").stat().st_size}

    runs = {}
    for label, docs in (("small", small), ("big", big)):
        print(f"{label}: {sizes[label] / 1e6:.1f} MB", flush=True)
        r = run_child(HERE, ["--child", "--project", str(ROOT / f"proj-{label}"), "--docs", str(docs)])
        r["mb"] = round(sizes[label] / 1e6, 2)
        r["mb_per_s"] = round(r["mb"] / r["seconds"], 3)
        runs[label] = r
    print("interrupt", flush=True)
    stop = interrupt_run(ROOT / "proj-interrupt", big)
    from ragtune.project import Project

    stop["documents_after_interrupt"] = len(Project(ROOT / "proj-interrupt").store.documents())
    payload = {"size_mb": args.size_mb, "config": config().model_dump(mode="json"), "runs": runs,
               "interrupt": stop}
    write_results(NAME, payload)
    print(table(payload))


def table(p: dict) -> str:
    rows = []
    for key, label in (("small", "baseline: 200 files of 5 KB"), ("big", f"one file of {p['size_mb']:g} MB")):
        x = p["runs"][key]
        rows.append([label, x["mb"], x["chunks"], round(x["seconds"], 1), x["mb_per_s"], x["first_progress_s"],
                     x["progress_reports"], x["peak_rss_mib"]])
    stages = ["chunking", "embedding", "bm25"]
    rss = [[label] + [p["runs"][key]["stage_rss_mib"].get(s) for s in stages]
           for key, label in (("small", "baseline"), ("big", f"{p['size_mb']:g} MB file"))]
    i = p["interrupt"]
    return (md_table(["run", "MB", "chunks", "ingest s", "MB/s", "first progress report s", "progress reports",
                      "peak RSS MiB"], rows) + "\n\n"
            + md_table(["largest RSS MiB at a progress report of", "chunking the big file",
                        "embedding and writing it", "rebuilding BM25"], rss) + "\n\n"
            + md_table(["Ctrl-C while the big file is chunked", "exit code", "signal to exit s",
                        "documents in the index after"],
                       [["SIGINT after 3 sections", i["exit_code"], i["signal_to_exit_s"],
                         i["documents_after_interrupt"]]]))


if __name__ == "__main__":
    main()
