"""Shared helpers for the benchmark scripts: paths, machine info, results files, Markdown tables,
progress lines, and running a step in a child process to measure its peak RSS."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SCIFACT = DATA / "scifact"
MINIWIKI = DATA / "miniwiki"

RESULT_TAG = "RESULT-JSON "


# --- machine and versions ----------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("ragtune", "numpy", "onnxruntime", "chromadb", "bm25s", "sentence-transformers", "torch",
                 "transformers", "tokenizers", "xllamacpp", "psutil"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def src_digest() -> str:
    """sha256 of ragtune's source, so a result can be matched to the code that produced it."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((REPO / "src" / "ragtune").rglob("*.py")):
        h.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def machine_info() -> dict:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "cpu_model": _cpu_model(),
        "mem_total_gib": _mem_total_gib(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                                           "HF_HUB_OFFLINE") if k in os.environ},
        "versions": versions(),
        "ragtune_src_sha256": src_digest(),
    }


# --- results -----------------------------------------------------------------------------------
def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine_info(), **payload}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    print(f"wrote {path.relative_to(REPO)}")
    return path


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def md_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines)


# --- progress ----------------------------------------------------------------------------------
class Progress:
    """Counts items per stage and prints a line every ``every`` items (and flushes, for child pipes)."""

    def __init__(self, label: str, every: int = 500, total: int | None = None):
        self.label, self.every, self.total = label, every, total
        self.counts: dict[str, int] = {}
        self.next_print: dict[str, int] = {}
        self.t0 = time.perf_counter()

    def __call__(self, stage: str, n: int = 1, total: int | None = None) -> None:
        c = self.counts.get(stage, 0) + n
        self.counts[stage] = c
        if c >= self.next_print.get(stage, self.every):
            self.next_print[stage] = (c // self.every + 1) * self.every
            total = f"/{self.total}" if self.total and stage in ("docs", "files", "queries", "questions") else ""
            print(f"  [{self.label}] {stage}: {c}{total}  ({time.perf_counter() - self.t0:.1f}s)", flush=True)

    def stage(self, stage: str) -> Callable[[int], None]:
        return lambda n: self(stage, n)


# --- timing searches -----------------------------------------------------------------------------
class PrecomputedEmbedder:
    """Returns vectors computed before the timed loop, so a search's time excludes query embedding."""

    def __init__(self, vectors: dict, dimension: int):
        self.vectors, self.dimension = vectors, dimension

    def embed(self, texts):
        import numpy as np

        return np.stack([self.vectors[t] for t in texts])


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values``, to 2 decimals."""
    import numpy as np

    return round(float(np.percentile(values, q)), 2)


def timed_embeddings(embedder, queries: list[str], warmup: list[str]) -> tuple[list[float], dict]:
    """(each query's embedding time in ms, the warm-up's left out; each query's vector). The caller has loaded the
    model (its load is part of what some benchmarks time)."""
    embed_ms, vectors = [], {}
    for q in warmup + queries:
        t = time.perf_counter_ns()
        vectors[q] = embedder.embed([q])[0]
        embed_ms.append((time.perf_counter_ns() - t) / 1e6)
    return embed_ms[len(warmup):], vectors


def precomputed(project, vectors: dict):
    """A retriever like the project's that is handed the queries' ``vectors``: its searches are timed without
    embedding."""
    from ragtune.retrieval.retriever import Retriever

    full = project.retriever
    return Retriever(project.store, project.bm25, PrecomputedEmbedder(vectors, project.embedder.dimension),
                     candidates=full.candidates, rrf_k=full.rrf_k, reranker=full.reranker)


def search_times(variants: dict, queries: list[str], warmup: list[str], k: int, label: str) -> dict[str, list[float]]:
    """Milliseconds per search of each variant, (retriever, mode, where), every variant in turn on each query
    after a warm-up pass. A filtered search (the filter keeps category c0) that returns another chunk stops the
    benchmark: a fast wrong answer is no result."""
    times: dict[str, list[float]] = {v: [] for v in variants}
    for q in warmup:
        for retriever, mode, where in variants.values():
            retriever.search(q, k=k, mode=mode, where=where)
    progress = Progress(label, every=50, total=len(queries))
    for q in queries:
        for name, (retriever, mode, where) in variants.items():
            t = time.perf_counter_ns()
            hits = retriever.search(q, k=k, mode=mode, where=where)
            times[name].append((time.perf_counter_ns() - t) / 1e6)
            if where and any(h.chunk.metadata.get("category") != "c0" for h in hits):
                raise SystemExit(f"filter leak in {name}")
        progress("queries", 1)
    return times


def ndcg_by_mode(retriever, queries: dict, qrels: dict, modes: tuple[str, ...], timed: str, label: str) -> dict:
    """nDCG@10 of each search mode over the judged ``queries`` (documents ranked from the top 100 chunks) as
    ``{mode}_ndcg@10``, and the p50 / p95 milliseconds of the ``timed`` mode's searches as ``{label}_p50_ms`` /
    ``{label}_p95_ms`` when it is among ``modes``."""
    import numpy as np

    from ragtune.evaluation.retrieval import doc_ranking, ndcg_at_k

    out, times = {}, []
    for mode in modes:
        scores = []
        for qid, text in queries.items():
            t = time.perf_counter()
            ranked = doc_ranking(retriever, text, mode, 100)
            if mode == timed:
                times.append(time.perf_counter() - t)
            scores.append(ndcg_at_k(ranked, qrels[qid], 10))
        out[f"{mode}_ndcg@10"] = round(float(np.mean(scores)), 4)
    if times:
        ms = [1000 * t for t in times]
        out[f"{label}_p50_ms"], out[f"{label}_p95_ms"] = pct(ms, 50), pct(ms, 95)
    return out


# --- projects ----------------------------------------------------------------------------------
def open_project(root: Path, config=None):
    """A ragtune project in ``root``; a new one gets ``config`` (default: the default config) saved."""
    from ragtune.project import Project

    project = Project(root, config)
    if not project.config_path.exists():
        project.save()
    return project


def ensure_ingested(root: Path, corpus: Path, config=None, every: int = 500):
    """Ingest ``corpus`` into the project at ``root`` (incremental: a complete index is left as is)."""
    from ragtune.rag.ingest import ingest

    project = open_project(root, config)
    progress = Progress(root.name, every)
    report = ingest(project, [corpus], progress=progress)
    print(f"  ingest {root.relative_to(REPO) if root.is_relative_to(REPO) else root}: added {report.added}, "
          f"unchanged {report.unchanged}, {report.chunks} new chunks, {report.seconds:.1f}s", flush=True)
    return project, report


def dir_size_mib(path: Path) -> float:
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20, 1)


# --- the CLI, as a user runs it ----------------------------------------------------------------
RAGTUNE = [sys.executable, "-m", "ragtune.cli.app"]


def ragtune_json(*args: str) -> dict | list:
    """``ragtune ARGS --json``: its JSON from stdout; progress and messages pass through on stderr."""
    proc = subprocess.run([*RAGTUNE, *args, "--json"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"ragtune {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout)


# --- child processes for peak RSS ----------------------------------------------------------------
def peak_rss_mib() -> float:
    """Peak resident set of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit_result(obj: dict) -> None:
    """Called by a child: the last stdout line carries its result to the parent."""
    obj = {**obj, "peak_rss_mib": round(peak_rss_mib(), 1)}
    print(RESULT_TAG + json.dumps(obj), flush=True)


def run_child(script: Path, args: Sequence[str], python: str = sys.executable) -> dict:
    """Run ``python script args`` in a fresh interpreter, stream its output, and return the dict it
    emitted, plus its wall time and peak RSS as the kernel accounts it for that child alone."""
    cmd = [python, "-u", str(script), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
        else:
            sys.stdout.write("    " + line)
            sys.stdout.flush()
    rc = proc.wait()
    wall = time.perf_counter() - t0
    if rc != 0 or result is None:
        raise SystemExit(f"child {' '.join(cmd)} failed with exit code {rc}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["child_wall_seconds"] = round(wall, 3)
    # RUSAGE_CHILDREN is the max over all children so far: it identifies this child only if it rose.
    result["rusage_children_maxrss_mib"] = round(after / 1024, 1) if after > before else None
    return result
