"""What a retraining carries from the model it retrains. A retraining's data records where each example came
from (``<data>.meta.jsonl``, as ``raft build`` does), so the previous job's data holds its whole lineage: the
original training questions and every earlier retraining's questions, approved answers and corrections that
still held. Each is re-checked against the current corpus as the first retraining checks the original ones:
its passage (the oracle, or for a logged answer the passage it was checked against) unchanged since the job's
snapshot, it is carried (a RAFT example built again over the current index, a logged answer copied as
written); changed or gone, it is dropped, since its answer may be wrong now."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragtune.app import corpus_snapshot
from ragtune.app.jobs import Jobs
from ragtune.finetune.jobs import Job
from ragtune.jsonl import read_lines
from ragtune.project import Project
from ragtune.raft.build import QA, read_provenance
from ragtune.retrain import state as records
from ragtune.retrain.state import Ancestor, RetrainState


@dataclass(frozen=True)
class Logged:
    """An approved or corrected logged answer, trained on as written."""

    question: str
    answer: str
    line: str
    """The chat example (JSON)."""
    oracle: str | None
    """The passage it was checked against; None when the index had none to offer (it cannot go stale)."""


Example = QA | Logged


@dataclass(frozen=True)
class Inheritance:
    examples: list[Example]
    """The previous data's examples whose passage is current, in its order."""
    stale: int
    lineage: list[Ancestor]
    log_since: float | None
    """Interactions logged before this were read by an earlier retraining of the lineage."""


def ancestors(project_root: Path, job: Job, made_by: dict[str, RetrainState]) -> list[Ancestor]:
    """``job``, the job it was retrained from, and so on back to the one tuned otherwise (``made_by``: each job a
    retraining run tuned, with that run)."""
    jobs, out = Jobs(project_root), []
    while True:
        run = made_by.get(job.id)
        out.append(Ancestor(job=job.id, train=job.train_file, run=run.id if run else None))
        if run is None:
            return out
        job = jobs.get(run.inputs.previous_job)


def inherit(project: Project, previous: Job) -> Inheritance:
    train = Path(previous.train_file)
    snap = corpus_snapshot.read(project.root, previous.id)
    state = corpus_snapshot.chunk_states(snap, project) if snap else {}
    made = [p for p in read_provenance(train) or [] if p.oracle or p.logged]  # no oracle: RAFT skipped it
    current = [p for p in made if p.oracle is None or state.get(p.oracle, "current") == "current"]
    lines = [line for line in read_lines(train) if line.strip()] if any(p.logged for p in current) else []
    examples: list[Example] = [Logged(p.question, p.answer, lines[p.index], p.oracle) if p.logged
                               else QA(p.question, p.answer, chunk_id=str(p.oracle)) for p in current]
    made_by = records.by_job(project.root)  # every run's record, read once for the whole lineage
    run = made_by.get(previous.id)
    return Inheritance(examples, len(made) - len(current), ancestors(project.root, previous, made_by),
                       run.data.log_until if run and run.data else None)
