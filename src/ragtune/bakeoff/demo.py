"""The bake-off's whole loop on the shipped example data: index the demo knowledge base, build RAFT data
from the support set's questions (the short answers on its "**Answer:**" lines; they also serve as few-shot
examples), tune a small model on it (reusing a finished job on the same data), and hand the demo questions
to the bake-off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.app.demo import DEMO, demo_questions_path, kb_path
from ragtune.app.reuse import finished_job
from ragtune.jsonl import read_lines, write_jsonl
from ragtune.project import Project

# Small enough to tune on a laptop CPU in minutes.
DEMO_TUNE: dict[str, Any] = {"epochs": 2.0, "lr": 1e-3, "max_seq_len": 1024, "batch_size": 4, "grad_accum": 2}
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


@dataclass
class DemoInputs:
    questions: Path
    fewshot: Path
    ft_model: str | None
    """ft:<job-id> of the model tuned on the demo's RAFT data, when it was asked to tune one."""


def demo_inputs(project: Project, out_dir: Path, tune: bool, base: str, fewshot: Path | None = None,
                stages: dict[str, float] | None = None,
                progress: Callable[..., None] = lambda s, n, total=None: None,
                notify: Callable[[str], None] = lambda text: None) -> DemoInputs:
    """Index the demo knowledge base into ``project`` and write the support set's questions to ``out_dir``;
    with ``tune``, build RAFT data there and tune ``base`` on it, or reuse the finished
    job that already did. Each stage's seconds go to ``stages``."""
    from ragtune.rag.ingest import ingest

    stages = {} if stages is None else stages
    if not project.config_path.exists():
        project.save()
    t = time.perf_counter()
    ingest(project, [kb_path()], progress=progress)
    stages["ingest"] = time.perf_counter() - t
    train_qa = write_support_qa(out_dir / "train_qa.jsonl")
    ft_model = _tuned_on_raft(project, out_dir, train_qa, base, stages, progress, notify) if tune else None
    return DemoInputs(demo_questions_path(), fewshot or train_qa, ft_model)


def _tuned_on_raft(project: Project, out_dir: Path, train_qa: Path, base: str, stages: dict[str, float],
                   progress: Callable[[str, int], None], notify: Callable[[str], None]) -> str:
    from ragtune.app.jobs import Jobs
    from ragtune.finetune.trainer import TuneConfig
    from ragtune.raft.build import RaftConfig, build, raft_builder, read_qa

    raft = out_dir / "raft.jsonl"
    t = time.perf_counter()
    if not raft.exists():  # a build finishes by renaming its journal: an existing file is complete
        build(raft_builder(project, RaftConfig()), read_qa(train_qa), raft, progress=lambda n: progress("RAFT", n))
    stages["raft_build"] = time.perf_counter() - t
    t = time.perf_counter()
    done = finished_job(project.root, raft, base, DEMO_TUNE)
    if done is None:
        notify(f"tuning {base} on the RAFT data (minutes on a laptop CPU)")
        ft_model = Jobs(project.root).start(raft, None, base, TuneConfig(**DEMO_TUNE)).model_name
    else:
        ft_model = done.model_name
    stages["tune"] = time.perf_counter() - t
    return ft_model
