"""The record of one retraining run (``retrain/<run>/state.json`` in the project): its inputs, then each step's
outcome as it finishes (the data, the job, the bake-off, the decision, the canary, the promotion). A step that
is recorded is done; a re-run starts at the first one that is not, so a kill at any point loses at most the step
in flight, which itself resumes (the RAFT journal, the job's checkpoints, the bake-off's generation cache)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ragtune import versioned_file
from ragtune.errors import RagtuneError
from ragtune.versioned_file import Versioned

SCHEMA = "ragtune.retrain/2"  # 2: the data step records its lineage and when it read the log
FOLDER = "retrain"  # in the project


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    served: str = Field(description="the tuned variant being served, ft:<job> or ft+rag:<job>")
    previous_job: str
    base: str
    backend: str
    questions: str | None = Field(None, description="new training questions with answers (JSONL)")
    regression: str = Field(description="the fixed held-out questions both models are compared on")
    new_questions: str | None = Field(None, description="new held-out questions, compared on too")
    feedback: bool = Field(True, description="train on the approved and corrected logged answers")
    continue_adapter: bool = Field(False, description="continue the served model's LoRA adapter instead of "
                                   "training a fresh one on the base")


class Ancestor(BaseModel):
    job: str
    train: str
    """The data it was tuned on."""
    run: str | None
    """The retraining run that made it; None for the model the lineage began with."""


class DataStep(BaseModel):
    train: str
    kept: int
    """Examples carried from the previous job's data (itself carrying its lineage's) whose passage is current."""
    dropped_stale: int
    new: int
    """The new training questions (--questions)."""
    feedback: int
    """Approved or corrected answers logged since the lineage last read the log, the latest per question."""
    superseded: int
    """Examples of a question a later one answers again (only the latest is trained on)."""
    held_out: int
    """Training inputs left out because they are (nearly) evaluation questions."""
    lineage: list[Ancestor] = []
    """The jobs whose data fed this one, newest first: the previous job, the one it was retrained from, ..."""
    log_until: float | None = None
    """When the interaction log was read (or, with --no-feedback, the lineage's last reading): retraining the
    model this run makes takes only interactions logged after it."""


class Decision(BaseModel):
    candidate: str
    served: str
    n: int
    diff: float | None
    low: float | None
    high: float | None
    p_value: float
    margin: float
    promote: bool
    text: str


class Canary(BaseModel):
    before: dict[str, float]
    after: dict[str, float]


class RetrainState(Versioned):
    model_config = ConfigDict(populate_by_name=True)
    schema_: str = Field(SCHEMA, alias="schema")
    older = ("ragtune.retrain/1",)
    id: str
    created: str
    inputs: Inputs
    data: DataStep | None = None
    job: str | None = None
    bakeoff: str | None = None
    decision: Decision | None = None
    canary: Canary | None = None
    outcome: Literal["promoted", "rolled back"] | None = None
    """What ``retrain --promote`` or ``--rollback`` did with the canary."""
    idle: str | None = None
    """Why no model was trained: the rebuilt data holds nothing the served model was not already taught."""

    @property
    def finished(self) -> bool:
        return self.idle is not None or (self.decision is not None
                                         and (not self.decision.promote or self.canary is not None))


def runs_dir(project_root: Path) -> Path:
    return Path(project_root) / FOLDER


def new_state(project_root: Path, inputs: Inputs) -> RetrainState:
    now = dt.datetime.now(dt.UTC)
    state = RetrainState(id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}",
                         created=now.isoformat(timespec="seconds"), inputs=inputs)
    save(project_root, state)
    return state


def run_dir(project_root: Path, run_id: str) -> Path:
    return runs_dir(project_root) / run_id


def save(project_root: Path, state: RetrainState) -> None:
    versioned_file.save(run_dir(project_root, state.id) / "state.json", state, indent=2)


def load(project_root: Path, run_id: str) -> RetrainState:
    path = run_dir(project_root, run_id) / "state.json"
    if not path.is_file():
        known = ", ".join(s.id for s in runs(project_root)) or "none yet"
        raise RagtuneError(f"no retraining run {run_id!r} in {project_root} (runs: {known})")
    return versioned_file.load(path, RetrainState, "a retraining record")


def by_job(project_root: Path) -> dict[str, RetrainState]:
    """Each job a run of the project tuned, with that run (a job tuned otherwise is absent)."""
    return {s.job: s for s in runs(project_root) if s.job}


def runs(project_root: Path) -> list[RetrainState]:
    """Every run of the project, oldest first (ids begin with their UTC start time)."""
    folder = runs_dir(project_root)
    ids = sorted(p.parent.name for p in folder.glob("*/state.json")) if folder.is_dir() else []
    return [load(project_root, i) for i in ids]
