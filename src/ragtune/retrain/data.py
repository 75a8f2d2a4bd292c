"""The training data of a retraining run: what the lineage taught that still holds (retrain.lineage), the new
training questions, and the approved and corrected answers logged since the lineage last read the log; one
example per question, the latest winning (a correction supersedes an earlier approval or correction, and the
lineage's example of that question); nothing that is (nearly) an evaluation question. Written with its
provenance, so the next retraining of the model trained on it carries it on."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ragtune.app.jobs import Jobs
from ragtune.bakeoff.leakage import overlapping, trained_questions
from ragtune.errors import RagtuneError
from ragtune.evaluation.answer_metrics import normalize
from ragtune.jsonl import read_lines
from ragtune.project import Project
from ragtune.raft.build import (
    QA,
    Provenance,
    RaftBuilder,
    RaftConfig,
    build,
    raft_builder,
    read_config,
    read_provenance,
    read_qa,
    write_config,
    write_provenance,
)
from ragtune.rag.prompts import final_answer
from ragtune.retrain.drift import interaction_log
from ragtune.retrain.lineage import Example, Logged, inherit
from ragtune.retrain.state import DataStep, Inputs
from ragtune.serve.export import export_finetune


def logged_answers(project: Project, folder: Path, since: float | None, builder: RaftBuilder) -> list[Logged]:
    """Approved and corrected answers to interactions logged since ``since``, oldest first, each with the passage
    it is checked against in later retrainings (found as RAFT finds a question's oracle)."""
    log = interaction_log(project)
    if log is None:
        return []
    exported = folder / "feedback.jsonl"
    export_finetune(log, exported, "up", since=since, force=True)
    out = []
    for line, question in zip(read_lines(exported), trained_questions(exported), strict=True):
        answer = final_answer(json.loads(line)["messages"][-1]["content"])
        out.append(Logged(question, answer, line, builder.oracle(QA(question, answer))))
    return out


def build_data(project: Project, inputs: Inputs, folder: Path, evaluated: list[str],
               progress: Callable[[int], None]) -> DataStep:
    previous = Jobs(project.root).get(inputs.previous_job)
    settings = read_config(Path(previous.train_file)) or RaftConfig()  # the served model's answer format
    builder = raft_builder(project, settings)
    inherited = inherit(project, previous)
    new = read_qa(Path(inputs.questions)) if inputs.questions else []
    log_until, fresh = inherited.log_since, []
    if inputs.feedback:
        log_until = time.time()
        fresh = logged_answers(project, folder, inherited.log_since, builder)
    candidates: list[tuple[str, Example]] = [*(("kept", e) for e in inherited.examples),  # oldest first
                                             *(("new", e) for e in new), *(("feedback", e) for e in fresh)]
    held = set(overlapping([e.question for _, e in candidates], evaluated))
    usable = [(source, e) for source, e in candidates if e.question not in held]
    latest = list({normalize(e.question): (source, e) for source, e in usable}.values())  # the later one stays
    counts = Counter(source for source, _ in latest)
    raft = folder / "raft.jsonl"
    questions = [e for _, e in latest if isinstance(e, QA)]
    if questions and not raft.exists():  # a build appears only when whole (its journal resumes otherwise)
        build(builder, questions, raft, progress=progress)
    built = [p for p in read_provenance(raft) or [] if p.oracle] if questions else []  # skipped: no example
    logged = [e for _, e in latest if isinstance(e, Logged)]
    rows = [Provenance(i, p.question, p.answer, p.oracle, p.with_oracle) for i, p in enumerate(built)]
    rows += [Provenance(len(built) + i, e.question, e.answer, e.oracle, False, logged=True)
             for i, e in enumerate(logged)]
    examples = [line for line in read_lines(raft) if line.strip()] if questions else []
    if not examples and not logged:
        raise RagtuneError("nothing to train on: no current training question, no --questions and no approved "
                           "or corrected logged answer")
    train = folder / "train.jsonl"
    tmp = train.with_name("train.jsonl.tmp")
    tmp.write_text("".join(line + "\n" for line in examples + [e.line for e in logged]), encoding="utf-8")
    tmp.replace(train)
    write_provenance(train, rows)  # before the job snapshots its passages and the next retraining reads them
    write_config(train, settings)  # the next retraining of this model builds its data the same way
    return DataStep(train=str(train), kept=counts["kept"], dropped_stale=inherited.stale, new=len(new),
                    feedback=counts["feedback"], superseded=len(usable) - len(latest),
                    held_out=len(candidates) - len(usable), lineage=inherited.lineage, log_until=log_until)
