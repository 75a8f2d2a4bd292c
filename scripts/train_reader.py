"""Train the grounded reader that ships with ragtune: a LoRA adapter for the packaged SmolLM2-135M that answers
from numbered passages with the short answer and its passage's citation ("about 6,650 km [2]"), and refuses when
no passage holds it (RAFT with the short cited answer as target: the oracle among two hard-negative distractors,
left out of 20% of examples).

    .venv/bin/python scripts/train_reader.py [--work DIR] [--from-job PROJECT JOB_ID]

The data is mini-wiki's dev questions (../shared/data/miniwiki) minus the evaluation part every benchmark holds
out: the questions are shuffled with seed 0 and the first 100 are never trained on (ragtune.evaluation.held_out;
bench/bakeoff_miniwiki.py and bench/reader_default.py evaluate on them). The demo knowledge base and its
questions are not used. Every step goes through the CLI a user runs (ingest, raft build, tune start); the adapter
is then written as a llama.cpp GGUF adapter into the package with a manifest of what it was trained on
(tests/unit/test_reader_adapter.py checks the exclusions against it). ``--from-job`` packages a finished job of
this same recipe instead of training again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from ragtune.app.variants import READER_TARGET
from ragtune.evaluation.held_out import HELD_OUT, SEED, held_out_split

REPO = Path(__file__).resolve().parents[1]
MINIWIKI = REPO.parent / "shared" / "data" / "miniwiki"
PACKAGE = REPO / "src" / "ragtune" / "reader"
RECIPE = {"raft": {"distractors": 2, "p_oracle": 0.8, "target": READER_TARGET, "seed": SEED},
          "tune": {"base": "smollm2-135m", "epochs": 1.0, "lr": 1e-3, "max_seq_len": 1024, "seed": SEED}}


def ragtune(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "ragtune.cli.app", *args, "--json"], stdout=subprocess.PIPE,
                          text=True, cwd=REPO)
    if proc.returncode:
        raise SystemExit(f"ragtune {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout)


def train(work: Path) -> tuple[Path, str]:
    project = work / "project"
    p = ["-p", str(project)]
    if not (project / "config.json").exists():
        ragtune("project", "init", *p)
    ragtune("ingest", str(MINIWIKI / "passages.jsonl"), *p)
    _, training = held_out_split(MINIWIKI / "questions.dev.jsonl")
    qa = work / "train.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in training))
    data = work / "raft.jsonl"
    r = RECIPE["raft"]
    if not data.exists():
        ragtune("raft", "build", "--qa", str(qa), "--out", str(data), "--distractors", str(r["distractors"]),
                "--p-oracle", str(r["p_oracle"]), "--target", r["target"], "--seed", str(r["seed"]), *p)
    t = RECIPE["tune"]
    job = ragtune("tune", "start", "--reuse", "--train", str(data), "--base", t["base"], "--epochs", str(t["epochs"]),
                  "--lr", str(t["lr"]), "--max-seq-len", str(t["max_seq_len"]), "--seed", str(t["seed"]), *p)
    return project, job["id"]


def package(project: Path, job_id: str) -> dict:
    from ragtune.finetune.gguf_adapter import export_gguf_adapter
    from ragtune.finetune.jobs import job_dir, job_store
    from ragtune.packaged import READER_ADAPTER, smollm2_gguf

    job = job_store(project).get(job_id)
    if job.status != "succeeded":
        raise SystemExit(f"job {job_id} has not succeeded ({job.status})")
    data = Path(job.train_file)
    meta = [json.loads(x) for x in data.with_name(data.name.removesuffix(".jsonl") + ".meta.jsonl").open()]
    PACKAGE.mkdir(parents=True, exist_ok=True)
    # float32 as trained: a float16 copy changed 2 of 8 greedy answers in a spot check, and float32 fits the
    # package's 20 MB budget
    out = export_gguf_adapter(job_dir(project, job_id) / "adapter", smollm2_gguf(), PACKAGE / READER_ADAPTER)
    manifest = {
        "schema": "ragtune.reader/1",
        "recipe": RECIPE,
        "job": {"id": job.id, "config": job.config},
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "examples": sum(1 for m in meta if "oracle" in m),
        "held_out": {"source": "miniwiki/questions.dev.jsonl", "seed": SEED, "first": HELD_OUT},
        "questions": sorted({m["question"] for m in meta}),
        "oracle_chunks": sorted({m["oracle"] for m in meta if "oracle" in m}),
        "adapter_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "adapter_bytes": out.stat().st_size,
    }
    (PACKAGE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "bench" / ".work" / "reader")
    ap.add_argument("--from-job", nargs=2, metavar=("PROJECT", "JOB_ID"),
                    help="package a finished job of this recipe instead of training")
    args = ap.parse_args()
    project, job_id = (Path(args.from_job[0]), args.from_job[1]) if args.from_job else train(args.work)
    m = package(project, job_id)
    print(f"packaged {m['adapter_bytes'] / 2**20:.1f} MiB adapter from job {m['job']['id']} "
          f"({m['examples']} examples) into {PACKAGE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
