"""``ragtune retrain``: a new model from the current corpus and the approved feedback, measured against the served
one and, when not worse, put behind a canary; ``--promote``/``--rollback RUN`` settles the canary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragtune.cli.common import (
    DEFAULT_PROJECT,
    EXIT_NOT_PROMOTED,
    EXIT_NOTHING_TO_RETRAIN,
    JsonOpt,
    ProjectOpt,
    console,
    open_project,
    out,
    print_json,
    progress_bars,
)
from ragtune.errors import RagtuneError
from ragtune.retrain.state import RetrainState


def retrain_cmd(
    model: Annotated[str | None, typer.Option("--model", "-m", help="the tuned model to retrain, ft:<job-id> or "
                                              "ft+rag:<job-id> (default: the one served)")] = None,
    questions: Annotated[Path | None, typer.Option(help="new training questions, JSONL of {question, answer[, "
                                                       "source]} (never evaluation questions)")] = None,
    regression: Annotated[Path | None, typer.Option(help="the fixed held-out questions both models are compared "
                                                        "on (default: retrain.regression_set)")] = None,
    new_questions: Annotated[Path | None, typer.Option(help="new held-out questions, compared on too")] = None,
    base: Annotated[str | None, typer.Option(help="base model to tune (default: the served model's base)")] = None,
    feedback: Annotated[bool, typer.Option(help="also train on the approved and corrected logged answers")] = True,
    continue_adapter: Annotated[bool, typer.Option(help="continue the served model's LoRA adapter instead of "
                                                        "training a fresh one on the base")] = False,
    run: Annotated[str | None, typer.Option("--run", help="continue this run (an unfinished run with the same "
                                            "inputs is continued anyway)")] = None,
    promote: Annotated[str | None, typer.Option("--promote", help="give run RUN's canary all of the served "
                                                "model's traffic", metavar="RUN")] = None,
    rollback: Annotated[str | None, typer.Option("--rollback", help="take run RUN's canary out of serving",
                                                 metavar="RUN")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Rebuild the training data (current corpus, approved feedback; never evaluation questions), tune, bake off
    against the served model on the regression set plus new questions, and put the new model behind a canary
    share (retrain.canary_share) only when the paired F1 comparison says it is not worse. Every step is recorded
    in retrain/<run>/state.json; re-running continues a killed run. Exit code 0: the new model is behind a canary
    (or --promote/--rollback did it); 5: not promoted, it may be worse; 6: nothing new to train on; 2: error."""
    from ragtune.retrain.pipeline import plan, settle
    from ragtune.retrain.pipeline import run as run_pipeline

    if promote and rollback:
        raise RagtuneError("--promote and --rollback exclude each other")
    p = open_project(project)
    if promote or rollback:
        state = settle(p, str(promote or rollback), promote=bool(promote))
    else:
        inputs = None if run else plan(p, model, questions, regression, new_questions, base, feedback,
                                         continue_adapter)
        with progress_bars(not json_) as progress:
            state = run_pipeline(p, inputs, run, progress, console.print)
    if json_:
        print_json(state.model_dump(mode="json", by_alias=True))
    else:
        _print(state)
    if state.idle is not None:
        raise typer.Exit(EXIT_NOTHING_TO_RETRAIN)
    if state.decision is not None and not state.decision.promote:
        raise typer.Exit(EXIT_NOT_PROMOTED)


def _print(s: RetrainState) -> None:
    out.print(f"retraining run {s.id}: {s.inputs.served} (job {s.inputs.previous_job})", highlight=False)
    if s.data:
        d = s.data
        out.print(f"  data: {d.train}: {d.kept} examples carried ({d.dropped_stale} stale dropped), {d.new} new "
                  f"questions, {d.feedback} from new feedback ({d.superseded} superseded); {d.held_out} held out as "
                  "evaluation questions", highlight=False)
        if d.lineage:
            out.print(f"  lineage (jobs whose data fed it): {' <- '.join(a.job for a in d.lineage)}", highlight=False)
    if s.idle:
        out.print(f"  {s.idle}", highlight=False)
    if s.job:
        out.print(f"  job: {s.job}")
    if s.bakeoff:
        out.print(f"  bake-off: {s.bakeoff}", highlight=False)
    if s.decision:
        out.print(f"  decision: {s.decision.text}", highlight=False)
    if s.canary:
        out.print(f"  serve.variants: {s.canary.before} -> {s.canary.after}", highlight=False)
    if s.outcome:
        out.print(f"  {s.outcome}")
