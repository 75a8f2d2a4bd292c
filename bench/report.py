"""Regenerate the measured tables in bench/README.md from bench/results/*.json.

Each benchmark's table sits between `<!-- BEGIN name -->` and `<!-- END name -->`; the text is
produced by that benchmark script's own table() function, so the README and the JSON cannot disagree.

    .venv/bin/python bench/report.py          # rewrite README.md
    .venv/bin/python bench/report.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
NAMES = ["embed_throughput", "ingest_scifact", "retrieval_scifact", "search_latency", "qa_miniwiki", "store_choice",
         "generation_engines", "tune_speed", "tune_quality", "bakeoff_miniwiki",
         "serve_load", "store_backends", "embed_scaling", "ingest_bigfile", "retrieval_tuning", "bm25_build",
         "worked_examples", "drift_scenario", "store_keywords", "reader_default", "ingest_peers", "search_scaling"]


def _module(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def machine_line(m: dict) -> str:
    v = m.get("versions", {})
    keys = ("ragtune", "onnxruntime", "chromadb", "bm25s", "sentence-transformers", "torch", "xllamacpp")
    vers = ", ".join(f"{k} {v[k]}" for k in keys if k in v)
    return (f"_Measured {m['date']} on {m['cpu_count']} CPUs ({m['cpu_model']}), {m.get('mem_total_gib')} GiB RAM, "
            f"load average at start {m['loadavg_at_start'][0]}; Python {v.get('python')}, {vers}. "
            f"Source: `results/{{name}}.json`._")


def section(name: str) -> str:
    path = BENCH / "results" / f"{name}.json"
    if not path.exists():
        return f"_Not run yet: `.venv/bin/python bench/{name}.py` writes `results/{name}.json`._"
    payload = json.loads(path.read_text())
    return _module(name).table(payload) + "\n\n" + machine_line(payload["machine"]).replace("{name}", name)


def render(text: str) -> str:
    for name in NAMES:
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no markers for {name}")
        body = section(name)
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new != old:
            raise SystemExit("bench/README.md is out of date: run .venv/bin/python bench/report.py")
        print("bench/README.md is up to date")
        return
    README.write_text(new, encoding="utf-8")
    print(f"updated {README}")


if __name__ == "__main__":
    main()
