"""The shipped example data as bake-off inputs: the support set's questions and the short answers on
its "**Answer:**" lines train RAFT and serve as few-shot examples; the demo questions are evaluated."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from ragtune.jsonl import read_lines, write_jsonl

DEMO = files("ragtune") / "demo"
_ANSWER, _SOURCE = "**Answer:**", "**Source:**"


def support_qa() -> list[dict]:
    rows = []
    for line in read_lines(Path(str(DEMO / "finetune" / "support.jsonl"))):
        messages = json.loads(line)["messages"]
        reply = messages[-1]["content"]
        short = next(x[len(_ANSWER):].strip() for x in reply.splitlines() if x.startswith(_ANSWER))
        source = next((x[len(_SOURCE):].strip() for x in reply.splitlines() if x.startswith(_SOURCE)), "")
        rows.append({"question": messages[-2]["content"], "answer": short, "source": source})
    return rows


def write_support_qa(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, support_qa())
    return path


def demo_questions_path() -> Path:
    return Path(str(DEMO / "questions.jsonl"))


def kb_path() -> Path:
    return Path(str(DEMO / "kb"))
