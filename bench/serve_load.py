"""`ragtune serve` under load, and streaming time to first token with the packaged SmolLM2.

1. The fake generator (scripted) and hashing embedder, so the numbers are the server's own cost: auth, rate
   limiting, A/B assignment, hybrid retrieval over the packaged demo knowledge base, the interaction log.
   A bounded load loop on loopback (asyncio + httpx, one connection per client, each client sending its next
   request when the last is answered) at 1, 8 and 32 concurrent clients for --duration seconds each, after a
   short warm-up; every non-200 counts as an error.
2. SmolLM2 through llama.cpp, the `rag` variant, streamed with the official openai client: time to first
   token (request sent to first content delta, so it includes retrieval and the prompt's prefill) and decode
   tokens/s (completion tokens after the first, over the time from first to last delta), for --prompts
   questions from the demo set. Baseline in the same run: each prompt the server gave the model is then
   generated in this process by llama.cpp directly; "served / in-process time" is the serving overhead.
3. Concurrent generation: SmolLM2 on llama.cpp's parallel slots (one thread, --slots slots), the `base` variant
   (the question straight to the model: short prompts, so decoding dominates). The same --concurrent questions
   are answered one at a time by 1 client, then all at once by that many clients (one question each), in
   --rounds rounds ordered 1-N, N-1, ... so drift in the machine's load and the warm prompt cache favour
   neither; requests/s of each, their ratio, the server process's CPU seconds, and the load average. Each of
   --quants: the packaged Q4_1 file as shipped, and its matrices re-quantised to Q8_0 (the default since) and
   Q4_0 (llama.cpp's batched CPU kernels take those), answers compared with the packaged file's.

The client and the server share this machine's cores, so absolute numbers are pessimistic. --parts runs some
parts only and keeps the others' last results.

    .venv/bin/python bench/serve_load.py [--duration 12] [--prompts 5] [--no-smollm2] [--parts load,stream,concurrency]
        [--quants Q4_1,Q8_0,Q4_0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, WORK, machine_info, md_table, write_results

NAME = "serve_load"
ROOT = WORK / NAME
DEMO = REPO / "src" / "ragtune" / "demo"
LEVELS = (1, 8, 32)
WARMUP_S = 1.0


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in (DEMO / "questions.jsonl").read_text().splitlines() if line]


def make_project(folder: Path, generator: dict, serve: dict, answer: dict | None = None):
    from ragtune.config import ProjectConfig
    from ragtune.project import Project
    from ragtune.rag.ingest import ingest
    from ragtune.serve.state import key_store

    shutil.rmtree(folder, ignore_errors=True)
    data = ProjectConfig().model_dump()
    data.update(embedder={"type": "hashing", "params": {}}, generator=generator)
    data["serve"].update(serve)
    data["answer"].update(answer or {})
    project = Project(folder, ProjectConfig.model_validate(data))
    project.save()
    report = ingest(project, [DEMO / "kb"])
    _, key = key_store(project).create("bench", rate_limit_per_minute=10**9)
    print(f"  {folder.name}: {report.added} documents, {report.chunks} chunks", flush=True)
    return project, key


def start(root: Path, warm: bool) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "ragtune.cli.app", "serve", "-p", str(root), "--port", str(port)]
    proc = subprocess.Popen(cmd + ([] if warm else ["--no-warm"]), env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def percentiles(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    a = np.asarray(values)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


# --- 1. load with the fake generator ---------------------------------------------------------------------
async def load(url: str, key: str, clients: int, duration: float, qs: list[str]) -> dict:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()
    measure_from, end = start + WARMUP_S, start + WARMUP_S + duration

    async def client(n: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                     timeout=30) as http:
            i = n
            while (t0 := time.perf_counter()) < end:
                body = {"messages": [{"role": "user", "content": qs[i % len(qs)]}], "user": f"user-{n}-{i}"}
                i += clients
                try:
                    r = await http.post("/v1/chat/completions", json=body)
                    status = str(r.status_code)
                except httpx.HTTPError as e:
                    status = type(e).__name__
                t1 = time.perf_counter()
                if t0 >= measure_from and t1 <= end:  # only requests wholly inside the measured window
                    if status == "200":
                        latencies.append((t1 - t0) * 1000)
                    else:
                        errors[status] = errors.get(status, 0) + 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    return {"clients": clients, "requests": len(latencies), "errors": sum(errors.values()), "error_kinds": errors,
            "seconds": duration, "rps": len(latencies) / duration, "latency_ms": percentiles(latencies)}


def run_load(duration: float) -> dict:
    print("== load with the fake generator", flush=True)
    project, key = make_project(ROOT / "fake", {"type": "scripted", "params": {}},
                                {"rate_limit_burst": 10**6, "variants": {"rag": 0.9, "base": 0.1}})
    proc, url = start(project.root, warm=True)
    qs = questions()
    try:
        levels = {}
        for clients in LEVELS:
            levels[str(clients)] = r = asyncio.run(load(url, key, clients, duration, qs))
            print(f"  {clients:>2} clients: {r['rps']:.0f} req/s, p50 {r['latency_ms']['p50']:.1f} ms, "
                  f"p95 {r['latency_ms']['p95']:.1f} ms, p99 {r['latency_ms']['p99']:.1f} ms, "
                  f"{r['errors']} errors", flush=True)
    finally:
        stop(proc)
    from ragtune.serve.state import open_state

    rows = open_state(project).rows()
    share = sum(r["variant"] == "base" for r in rows) / len(rows)
    return {"duration_s": duration, "warmup_s": WARMUP_S, "levels": levels, "logged_interactions": len(rows),
            "ab_weights": {"rag": 0.9, "base": 0.1}, "base_share_observed": share}


# --- 2. SmolLM2 streaming ----------------------------------------------------------------------------------
def run_stream(prompts: int) -> dict:
    import openai

    from ragtune.generation.llamacpp import LlamaCppGenerator
    from ragtune.rag.prompts import STOP
    from ragtune.serve.state import open_state

    print("== streaming with SmolLM2 (llama.cpp)", flush=True)
    # the relevance gate off: every question reaches the model, which is what is being timed
    project, key = make_project(ROOT / "smollm2", {"type": "llamacpp", "params": {"context": 2048}}, {},
                                {"min_relevance": 0.0, "min_coverage": 0.0, "max_tokens": 64})
    t = time.perf_counter()
    proc, url = start(project.root, warm=True)
    startup = time.perf_counter() - t
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=300)
    log = open_state(project)
    local = LlamaCppGenerator(context=2048)
    local.generate([{"role": "user", "content": "warm up"}], max_tokens=1)
    per = []
    try:
        for q in questions()[:prompts]:
            t0 = time.perf_counter()
            first = last = None
            usage = None
            for chunk in client.chat.completions.create(model="rag", messages=[{"role": "user", "content": q}],
                                                        stream=True):
                now = time.perf_counter()
                if chunk.choices and chunk.choices[0].delta.content:
                    first = first or now
                    last = now
                if chunk.usage:
                    usage = chunk.usage
            total = time.perf_counter() - t0
            n = usage.completion_tokens
            decode = (n - 1) / (last - first) if first and last > first and n > 1 else None
            # baseline, right after: the same prompt the server gave the model, generated in this process
            prompt = log.rows()[-1]["prompt"]
            t1 = time.perf_counter()
            direct = local.generate(prompt, max_tokens=64, temperature=0.0, stop=STOP)
            per.append({"question": q, "ttft_ms": (first - t0) * 1000 if first else None, "total_s": total,
                        "direct_total_s": time.perf_counter() - t1,
                        "direct_completion_tokens": direct.completion_tokens, "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": n, "decode_tokens_per_s": decode})
            print(f"  ttft {per[-1]['ttft_ms']:.0f} ms, {n} tokens, {decode or 0:.1f} tok/s, prompt "
                  f"{usage.prompt_tokens} tokens; served {total:.2f} s vs in-process {per[-1]['direct_total_s']:.2f} s",
                  flush=True)
    finally:
        stop(proc)
    return {"prompts": len(per), "server_start_s": startup, "max_tokens": 64, "per_prompt": per,
            "ttft_ms": percentiles([p["ttft_ms"] for p in per if p["ttft_ms"] is not None]),
            "decode_tokens_per_s": percentiles([p["decode_tokens_per_s"] for p in per if p["decode_tokens_per_s"]]),
            "prompt_tokens_mean": sum(p["prompt_tokens"] for p in per) / max(1, len(per)),
            "served_over_direct": sum(p["total_s"] for p in per) / sum(p["direct_total_s"] for p in per)}


# --- 3. SmolLM2 concurrent generation ----------------------------------------------------------------------
async def answer_all(url: str, key: str, qs: list[str], clients: int, max_tokens: int) -> list[str]:
    """Each question once, ``clients`` at a time (a client takes the next question when its last is answered)."""
    import httpx

    todo, answers = list(enumerate(qs)), [""] * len(qs)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=900) as http:
            while todo:
                i, q = todo.pop(0)
                body = {"model": "base", "messages": [{"role": "user", "content": q}], "max_tokens": max_tokens,
                        "temperature": 0}
                r = await http.post("/v1/chat/completions", json=body)
                r.raise_for_status()
                answers[i] = r.json()["choices"][0]["message"]["content"]

    await asyncio.gather(*(client() for _ in range(clients)))
    return answers


def run_concurrency(quant: str, n: int, rounds: int, slots: int, max_tokens: int,
                    packaged_answers: list[str] | None) -> dict:
    """One model file's run. ``packaged_answers``: the packaged model's first window, which a re-quantised
    model's answers are compared with (None for the packaged model itself)."""
    import psutil

    print(f"== concurrent generation with SmolLM2 {quant} ({slots} slots, 1 thread): 1 vs {n} clients", flush=True)
    requantize = "" if quant == PACKAGED else quant  # the generator re-quantises the packaged file (cached)
    project, key = make_project(ROOT / f"slots-{quant.lower()}", {"type": "llamacpp", "params": {
        "requantize": requantize, "context": 1024, "threads": 1, "slots": slots}}, {"rate_limit_burst": 10**6})
    proc, url = start(project.root, warm=True)
    server = psutil.Process(proc.pid)
    qs = questions()[:n]
    windows, reference = [], None
    try:
        # both sizes of decode batch once, so neither measured window pays for its first graph and buffers
        asyncio.run(answer_all(url, key, ["warm up"], 1, 4))
        asyncio.run(answer_all(url, key, ["warm up"] * n, n, 4))
        for r in range(rounds):
            for clients in ((1, n) if r % 2 == 0 else (n, 1)):
                load, cpu, t = os.getloadavg()[0], sum(server.cpu_times()[:2]), time.perf_counter()
                answers = asyncio.run(answer_all(url, key, qs, clients, max_tokens))
                seconds = time.perf_counter() - t
                w = {"round": r, "clients": clients, "requests": n, "seconds": seconds, "rps": n / seconds,
                     "server_cpu_s": sum(server.cpu_times()[:2]) - cpu, "loadavg_1m": load}
                reference = reference or answers
                w["answers"] = answers
                w["same_answers"] = sum(a == b for a, b in zip(answers, reference, strict=True))
                windows.append(w)
                print(f"  round {r}, {clients} client(s): {w['rps']:.3f} req/s, server CPU {w['server_cpu_s']:.1f} s, "
                      f"load {load:.1f}, {w['same_answers']}/{n} answers as in the first window", flush=True)
    finally:
        stop(proc)

    def total(clients: int, key: str) -> float:
        return sum(w[key] for w in windows if w["clients"] == clients)

    rps = {c: sum(w["requests"] for w in windows if w["clients"] == c) / total(c, "seconds") for c in (1, n)}
    ratios = [b["rps"] / a["rps"] for a, b in zip([w for w in windows if w["clients"] == 1],
                                                  [w for w in windows if w["clients"] == n], strict=True)]
    reference = packaged_answers or windows[0]["answers"]
    same_as_packaged = sum(a == b for a, b in zip(windows[0]["answers"], reference, strict=True))
    return {"quant": quant, "concurrent": n, "rounds": rounds, "slots": slots, "threads": 1, "max_tokens": max_tokens,
            "variant": "base", "same_as_packaged": same_as_packaged, "windows": windows, "rps_1": rps[1],
            "rps_n": rps[n], "ratio": rps[n] / rps[1], "ratio_per_round": ratios,
            "server_cpu_s_per_request_1": total(1, "server_cpu_s") / total(1, "requests"),
            "server_cpu_s_per_request_n": total(n, "server_cpu_s") / total(n, "requests"),
            "loadavg_1m": [w["loadavg_1m"] for w in windows],
            "answers_identical": all(w["same_answers"] == n for w in windows)}


PARTS = ("load", "stream", "concurrency")
PACKAGED = "Q4_1"
QUANTS = (PACKAGED, "Q8_0", "Q4_0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=12.0, help="measured seconds per concurrency level")
    ap.add_argument("--prompts", type=int, default=5)
    ap.add_argument("--no-smollm2", action="store_true")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    ap.add_argument("--concurrent", type=int, default=8, help="clients in the concurrent windows")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--quants", default=",".join(QUANTS), help=f"concurrency: comma-separated model files, of "
                    f"{', '.join(QUANTS)} ({PACKAGED}: the packaged one; the others re-quantised from it)")
    args = ap.parse_args()
    parts = set(args.parts.split(",")) - ({"stream", "concurrency"} if args.no_smollm2 else set())
    if parts - set(PARTS):
        raise SystemExit(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    quants = args.quants.split(",")
    if set(quants) - set(QUANTS) or PACKAGED not in quants:
        raise SystemExit(f"--quants takes some of {', '.join(QUANTS)}, {PACKAGED} among them (the reference)")
    path = RESULTS / f"{NAME}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    payload = {k: v for k, v in old.items() if k in PARTS}
    # when each kept part was measured (files written before this record hold one date for all)
    kept = {"date": old["machine"]["date"], "loadavg": old["machine"]["loadavg_at_start"][0]} if old else None
    now = machine_info()
    payload["measured"] = {k: old.get("measured", {}).get(k, kept) for k in payload}
    payload["measured"].update({k: {"date": now["date"], "loadavg": now["loadavg_at_start"][0]} for k in parts})
    if "load" in parts:
        payload["load"] = run_load(args.duration)
    if "stream" in parts:
        payload["stream"] = run_stream(args.prompts)
    if "concurrency" in parts:
        runs = [run_concurrency(PACKAGED, args.concurrent, args.rounds, args.slots, args.max_tokens, None)]
        runs += [run_concurrency(q, args.concurrent, args.rounds, args.slots, args.max_tokens,
                                 runs[0]["windows"][0]["answers"]) for q in quants if q != PACKAGED]
        payload["concurrency"] = runs
    write_results(NAME, payload)
    print()
    print(table(payload))


def table(p: dict) -> str:
    load = p["load"]
    rows = [[f"{r['clients']}", r["requests"], r["rps"], r["latency_ms"]["p50"], r["latency_ms"]["p95"],
             r["latency_ms"]["p99"], r["errors"]] for r in load["levels"].values()]
    out = md_table(["concurrent clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows)
    out += (f"\n\nFake generator, `rag` 90% / `base` 10% by user; {load['duration_s']:g} s measured per level. "
            f"{load['logged_interactions']:,} interactions logged; observed `base` share "
            f"{load['base_share_observed']:.1%}.")
    s = p.get("stream")
    if s:
        out += "\n\n" + md_table(
            ["SmolLM2 streaming (rag)", "prompts", "TTFT p50 ms", "TTFT p95 ms", "decode tok/s p50",
             "decode tok/s mean", "prompt tokens (mean)", "served / in-process time", "server start s"],
            [["llama.cpp, max_tokens 64", s["prompts"], s["ttft_ms"]["p50"], s["ttft_ms"]["p95"],
              s["decode_tokens_per_s"]["p50"], s["decode_tokens_per_s"]["mean"], s["prompt_tokens_mean"],
              s["served_over_direct"], s["server_start_s"]]])
    runs = p.get("concurrency")
    if runs:
        c = runs[0]
        n = c["concurrent"]
        out += "\n\n" + md_table(
            ["SmolLM2 concurrent generation (base)", "req/s, 1 client", f"req/s, {n} clients", "ratio",
             "ratio per round", "server CPU s / request, 1 client", f"server CPU s / request, {n} clients",
             "answers as in the first window", f"answers as {PACKAGED}'s", "load average (1 min) per window"],
            [[r["quant"] + (" (packaged)" if r["quant"] == PACKAGED else f" (from {PACKAGED})"), r["rps_1"],
              r["rps_n"], r["ratio"], " / ".join(f"{x:.2f}" for x in r["ratio_per_round"]),
              r["server_cpu_s_per_request_1"], r["server_cpu_s_per_request_n"],
              " / ".join(f"{w['same_answers']}/{w['requests']}" for w in r["windows"]),
              f"{r['same_as_packaged']}/{n}", " / ".join(f"{x:.1f}" for x in r["loadavg_1m"])] for r in runs])
        out += (f"\n\nConcurrent generation: llama.cpp, {c['slots']} slots, {c['threads']} thread, max_tokens "
                f"{c['max_tokens']}; {c['rounds']} rounds of {n} questions each way, interleaved; windows in the order "
                f"run ({' / '.join(str(w['clients']) for w in c['windows'])} clients).")
    if p.get("measured"):
        out += "\n\nMeasured: " + "; ".join(f"{k} {m['date']} (load average at start {m['loadavg']})"
                                             for k, m in p["measured"].items() if m) + "."
    return out


if __name__ == "__main__":
    main()
