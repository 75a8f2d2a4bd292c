from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from rich.text import Text

from ragtune.app.variants import resolve
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, out, print_json, progress_bars
from ragtune.cli.options import BaseUrlOpt, ModelOpt, print_answer
from ragtune.rag.answer import answer
from ragtune.rag.checkers import checker
from ragtune.rag.ingest import ingest

DEMO = files("ragtune") / "demo"
ANSWERABLE_SHOWN = 4


def demo_questions() -> list[dict]:
    rows = [json.loads(line) for line in (DEMO / "questions.jsonl").read_text().splitlines() if line.strip()]
    answerable = [r for r in rows if r["answer"]][:ANSWERABLE_SHOWN]
    return answerable + [r for r in rows if not r["answer"]][:1]


def demo_cmd(project: ProjectOpt = DEFAULT_PROJECT, model: ModelOpt = None, base_url: BaseUrlOpt = None,
             json_: JsonOpt = False):
    """Index the shipped example knowledge base (a fictional SaaS product's docs) and ask it questions."""
    p = open_project(project)
    if not p.config_path.exists():
        p.save()
    with progress_bars(not json_) as progress:
        report = ingest(p, [Path(str(DEMO / "kb"))], progress=progress)
    if not json_:
        out.print(f"indexed {report.added + report.updated + report.unchanged} pages into {report.chunks or 'existing'}"
                  f" chunks in {report.seconds:.1f}s ({p.root})\n")
    v = resolve(p, "rag", model=model, base_url=base_url)
    gen = p.generator(v.generator)
    answers = []
    for q in demo_questions():
        a = answer(q["question"], p.retriever, gen, p.config.answer, mode=p.config.retrieval.mode, system=v.system,
                   checker=checker(p.config.checker))
        answers.append({**a.to_dict(), "reference": q["answer"]})
        if not json_:
            print_answer(a)
            out.print(Text(f"   reference: {q['answer'] or '(not in the documents)'}\n", style="dim"))
    if json_:
        print_json({"ingest": report.to_dict(), "answers": answers})
