"""The worked scenario of docs/retraining.md with SmolLM2-135M: a project holding only the demo knowledge base's
3.x pages, a LoRA tuned on RAFT examples of their facts and served closed-book (`ft:<job>`); then the 4.0 pages
arrive (seven facts change) and users correct the model's 3.x answers. Recorded: the drift report (does it name
the changed pages and the stale training examples), the tuned model's closed-book answers to the seven facts
before and after `ragtune retrain`, the retraining's bake-off (served vs retrained on held-out rewordings of the
facts) and the canary share it set. Everything runs through the CLI a user would run, except the weeks of served
traffic, which are written to the interaction log as `ragtune serve` records it (with past timestamps).

    .venv/bin/python bench/drift_scenario.py [--epochs 2] [--lr 2e-3]

Starts from scratch every run (the project lives in bench/.work/drift_scenario).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
from importlib.resources import files
from pathlib import Path

from _common import RAGTUNE, REPO, WORK, md_table, open_project, ragtune_json, write_results

KB = Path(str(files("ragtune") / "demo" / "kb"))
ROOT = WORK / "drift_scenario"
DAY = 86400.0
MODEL = "smollm2-135m"

# the 3.x workspace's pages at their lasting paths; at 4.0 two are rewritten in place, the limits page retired
PAGES_3X = {"api/rate-limits.md": "api/rate-limits-v3.md", "api/webhooks.md": "api/webhooks-v3.md",
            "admin/plan-limits.md": "admin/plan-limits-3x.md", "changelog/3.1.md": "changelog/3.1.md",
            "changelog/3.2.md": "changelog/3.2.md", "billing/refund-policy.txt": "billing/refund-policy.txt"}
PAGES_40 = {"api/rate-limits.md": "api/rate-limits.md", "api/webhooks.md": "api/webhooks.md",
            "billing/plans.md": "billing/plans.md", "changelog/4.0.md": "changelog/4.0.md",
            "api/authentication.md": "api/authentication.md", "security/audit-logs.md": "security/audit-logs.md"}

# (training phrasings, 3.x answer, 4.0 answer, the value that tells them apart (3.x, 4.0), held-out rewording)
FACTS = [
    (["What is the API rate limit of the Team plan?", "How many API requests per minute does the Team plan allow?"],
     "300 requests per minute", "600 requests per minute", ("300", "600"),
     "What is the API rate limit on the Team plan now?"),
    (["How many times is a failed webhook delivery retried?", "How often does Quillstack retry a failed webhook?"],
     "up to 3 times", "5 times", ("3", "5"), "How many times does a failed webhook delivery get retried?"),
    (["How many webhook endpoints can a workspace register?", "What is the limit on webhook endpoints per workspace?"],
     "up to 10 endpoints", "20 endpoints", ("10", "20"), "How many webhook endpoints may one workspace have?"),
    (["What is the default lifetime of an API key?", "How long is an API key valid by default?"],
     "365 days", "90 days", ("365", "90"), "What is the default API key lifetime?"),
    (["What is the maximum file size for uploads?", "How large can an uploaded file be?"],
     "50 MB per file", "200 MB per file", ("50", "200"), "What is the biggest file one can upload?"),
    (["How long do Business workspaces keep audit log events?", "What is the audit log retention on Business?"],
     "90 days", "180 days", ("90", "180"), "For how many days are audit log events kept on the Business plan?"),
    (["How many members can a Free workspace have?", "What is the member limit of the Free plan?"],
     "5 members", "3 members", ("5", "3"), "How many people can join a Free workspace?"),
]
STEADY = [
    ("Are monthly subscriptions refundable?", "Monthly subscriptions are not refundable", "billing/refund-policy.txt",
     "Can a monthly subscription be refunded?"),
    ("Within how many days can an annual subscription be refunded?", "within 14 days", "billing/refund-policy.txt",
     "How many days do I have to get a refund on an annual plan?"),
    ("Does the Free plan get refunds or credits?", "The Free plan has no fees and therefore no refunds or credits",
     "billing/refund-policy.txt", None),
]


def place(docs: Path, pages: dict[str, str]) -> None:
    for target, source in pages.items():
        (docs / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KB / source, docs / target)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def ragtune_code(*args: str) -> tuple[int, dict]:
    """A command whose exit code carries meaning (drift, retrain): the code and its JSON."""
    proc = subprocess.run([*RAGTUNE, *args, "--json"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    if proc.returncode not in (0, 4, 5, 6):
        raise SystemExit(f"ragtune {' '.join(args)} failed with exit code {proc.returncode}")
    return proc.returncode, json.loads(proc.stdout)


def says(answer: str, value: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(value)}(?![\d.])", answer) is not None


def closed_book(project: Path, job: str) -> list[dict]:
    """The tuned model asked each of the seven facts (their first training phrasing) without retrieval, as
    `ragtune ask --model ft:<job>` asks it; which value its answer gives."""
    from ragtune.app.variants import resolve
    from ragtune.project import Project

    p = Project(project)
    variant = resolve(p, f"ft:{job}")
    generator = p.generator(variant.generator)
    out = []
    for phrasings, old, new, (v3, v4), _ in FACTS:
        question = phrasings[0]
        text = generator.generate(variant.messages([{"role": "user", "content": question}]), max_tokens=48).text
        out.append({"question": question, "answer": text.strip(), "3.x": old, "4.0": new,
                    "says_3x": says(text, v3), "says_40": says(text, v4)})
    return out


def log_traffic(project: Path, old: str) -> None:
    """Weeks of the tuned model's answers approved, then, after the 4.0 release, corrections of its 3.x answers."""
    from ragtune.app.variants import resolve
    from ragtune.project import Project
    from ragtune.serve.interactions import Interaction
    from ragtune.serve.state import open_state

    p = Project(project)
    variant = resolve(p, f"ft:{old}")
    log, now, n = open_state(p), time.time(), 0
    asked = [(q, old_a, new_a) for qs, old_a, new_a, _, _ in FACTS for q in qs]
    for week in (3, 2):  # approvals of the 3.x values while they held
        for q, old_a, _ in asked:
            msgs = [{"role": "user", "content": q}]
            log.record(Interaction(f"a{n}", f"ft:{old}", True, 900.0, request=msgs, prompt=variant.messages(msgs),
                                   answer=old_a, created=now - week * 7 * DAY - n * 600))
            log.feedback(f"a{n}", "up")
            n += 1
    for q, old_a, new_a in asked:  # the latest week: the 3.x answers corrected with the 4.0 values
        msgs = [{"role": "user", "content": q}]
        log.record(Interaction(f"c{n}", f"ft:{old}", True, 900.0, request=msgs, prompt=variant.messages(msgs),
                               answer=old_a, created=now - 2 * DAY - n * 600))
        log.feedback(f"c{n}", "down", corrected=new_a)
        n += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-seq-len", type=int, default=512)
    ap.add_argument("--target", choices=["answer", "cot"], default="answer",
                    help="raft build's target: the served model answers closed-book, so the short cited answer")
    args = ap.parse_args()
    shutil.rmtree(ROOT, ignore_errors=True)
    docs, project = ROOT / "docs", ROOT / "project"
    ROOT.mkdir(parents=True)
    open_project(project)
    p = ["-p", str(project)]
    seconds: dict[str, float] = {}
    place(docs, PAGES_3X)
    ragtune_json("ingest", str(docs), *p)
    ragtune_json("project", "set", "generator.params.threads=1", "answer.reader=false", "retrain.min_questions=5",
                 "retrain.min_requests=5", *p)

    qa = [{"question": q, "answer": old_a} for qs, old_a, _, _, _ in FACTS for q in qs]
    qa += [{"question": q, "answer": a} for q, a, _, _ in STEADY]
    write_jsonl(ROOT / "train_qa.jsonl", qa)
    raft = ROOT / "raft.jsonl"
    built = ragtune_json("raft", "build", "--qa", str(ROOT / "train_qa.jsonl"), "--out", str(raft), "--p-oracle", "1.0",
                         "--distractors", "1", "--target", args.target, *p)
    t = time.perf_counter()
    job = ragtune_json("tune", "start", "--train", str(raft), "--base", MODEL, "--epochs", str(args.epochs), "--lr",
                       str(args.lr), "--max-seq-len", str(args.max_seq_len), "--no-detach", *p)
    seconds["tune"] = time.perf_counter() - t
    old = job["id"]
    print(f"tuned {old} in {seconds['tune']:.0f}s", flush=True)
    ragtune_json("project", "set", f'serve.variants={{"rag": 0.5, "ft:{old}": 0.5}}', *p)
    t = time.perf_counter()
    before = closed_book(project, old)
    seconds["ask_before"] = time.perf_counter() - t

    place(docs, PAGES_40)
    (docs / "admin" / "plan-limits.md").unlink()
    ragtune_json("ingest", str(docs), "--prune", *p)
    log_traffic(project, old)
    drift_code, drift = ragtune_code("drift", *p)
    regression = [{"_id": f"f{i}", "question": held, "answer": new_a} for i, (_, _, new_a, _, held) in enumerate(FACTS)]
    regression += [{"_id": f"s{i}", "question": held, "answer": a} for i, (_, a, _, held) in enumerate(STEADY) if held]
    write_jsonl(ROOT / "regression.jsonl", regression)
    t = time.perf_counter()
    retrain_code, run = ragtune_code("retrain", "--regression", str(ROOT / "regression.jsonl"), *p)
    seconds["retrain"] = time.perf_counter() - t
    new = run["job"]
    after = closed_book(project, new)
    bakeoff = json.loads((Path(run["bakeoff"]) / "results.json").read_text())
    m = drift["models"][0]
    write_results("drift_scenario", {
        "model": MODEL, "tune": {"old": old, "new": new, "config": job["config"], "raft_target": args.target,
                                 "examples": built["examples"], "retrain_data": run["data"]},
        "drift": {"exit_code": drift_code, "advised": drift["advised"], "reasons": m["reasons"],
                  "changed": m["knowledge"]["changed"], "removed": m["knowledge"]["removed"],
                  "added": m["knowledge"]["added"], "examples": m["knowledge"]["examples"],
                  "stale": [{"question": s["question"], "state": s["state"]} for s in m["knowledge"]["stale"]],
                  "stale_facts_named": sum(any(s["question"] in qs for s in m["knowledge"]["stale"])
                                           for qs, *_ in FACTS)},
        "before": before, "after": after,
        "accuracy": {"before_3x": sum(a["says_3x"] for a in before), "before_40": sum(a["says_40"] for a in before),
                     "after_3x": sum(a["says_3x"] for a in after), "after_40": sum(a["says_40"] for a in after)},
        "retrain": {"exit_code": retrain_code, "decision": run["decision"], "canary": run["canary"],
                    "bakeoff": {n: {k: v["metrics"][k]["mean"] for k in ("f1", "exact_match") if k in v["metrics"]}
                                for n, v in bakeoff["variants"].items()}},
        "seconds": seconds})
    print(table(json.loads((REPO / "bench" / "results" / "drift_scenario.json").read_text())))


def table(result: dict) -> str:
    acc, d, r = result["accuracy"], result["drift"], result["retrain"]
    old, new = result["tune"]["old"], result["tune"]["new"]
    rows = [["tuned on the 3.x pages (served)", f"{acc['before_3x']}/7", f"{acc['before_40']}/7"],
            ["after `ragtune retrain`", f"{acc['after_3x']}/7", f"{acc['after_40']}/7"]]
    bake = r["bakeoff"]
    decision = r["decision"]
    canary = r["canary"]["after"].get(f"ft:{new}") if r["canary"] else None
    lines = [md_table(["SmolLM2-135M LoRA, closed-book, on the seven changed facts", "gives the 3.x value",
                       "gives the 4.0 value"], rows), "",
             f"Drift report: exit {d['exit_code']}, {len(d['changed'])} pages changed, {len(d['removed'])} removed, "
             f"{len(d['added'])} added; {len(d['stale'])} of {d['examples']} training examples stale, naming "
             f"{d['stale_facts_named']} of the 7 changed facts. Retraining: {result['tune']['retrain_data']['feedback']} "
             f"corrected answers and {result['tune']['retrain_data']['kept']} still-current examples trained on "
             f"({result['tune']['retrain_data']['dropped_stale']} stale dropped); bake-off F1 on "
             f"{decision['n']} held-out rewordings: served {bake[f'ft:{old}']['f1']:.2f}, retrained "
             f"{bake[f'ft:{new}']['f1']:.2f}; decision: {decision['text']}; canary share of all traffic: "
             f"{'none' if canary is None else f'{canary:.2f}'}; `retrain` exit {r['exit_code']}. Training "
             f"{result['tune']['config']['epochs']:g} epochs at lr {result['tune']['config']['lr']:g} on RAFT's "
             f"{result['tune'].get('raft_target', 'cot')} target: first tune "
             f"{result['seconds']['tune']:.0f}s, whole retrain {result['seconds']['retrain']:.0f}s."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
