"""``ragtune retrain``: rebuild the training data from the current corpus and the approved feedback, tune,
bake the new model off against the served one on held-out questions, and put it behind a canary only when the
paired comparison says it is not worse. Each step is the existing service's (raft build, the jobs service,
the bake-off); this module orders them and records each outcome (retrain.state), so a killed run resumes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragtune.app.jobs import Jobs
from ragtune.app.variants import check_weights, resolve, tuned_job
from ragtune.bakeoff.leakage import check_leakage
from ragtune.bakeoff.results import Leakage, write_results
from ragtune.bakeoff.run import read_answers, run_bakeoff
from ragtune.bakeoff.scoring import paired_against
from ragtune.cost.prices import load_prices
from ragtune.errors import RagtuneError
from ragtune.evaluation.datasets import read_jsonl
from ragtune.evaluation.qa import QARow, Question, read_questions
from ragtune.finetune.trainer import TuneConfig
from ragtune.project import Project
from ragtune.retrain import state as records
from ragtune.retrain.data import build_data
from ragtune.retrain.state import Canary, DataStep, Decision, Inputs, RetrainState

Progress = Callable[..., None]
Notify = Callable[[str], None]


def served_model(project: Project, named: str | None) -> str:
    """The tuned variant to retrain: the one named, else the one served."""
    if named is not None:
        if tuned_job(named) is None:
            raise RagtuneError(f"{named!r} is not a tuned model; name one as ft:<job-id> or ft+rag:<job-id>")
        return named
    served = [n for n, w in project.config.serve.variants.items() if w > 0 and tuned_job(n)]
    if not served:
        raise RagtuneError("no tuned model is served (serve.variants has no ft:<job-id> or ft+rag:<job-id> with a "
                           "weight above 0): name the one to retrain with --model")
    if len(served) > 1:
        raise RagtuneError(f"several tuned models are served ({', '.join(served)}): name one with --model")
    return served[0]


def plan(project: Project, model: str | None, questions: Path | None, regression: Path | None,
         new_questions: Path | None, base: str | None, feedback: bool = True, continue_adapter: bool = False) -> Inputs:
    """The inputs of a run, checked before anything is written."""
    served = served_model(project, model)
    previous = Jobs(project.root).get(str(tuned_job(served)))
    if regression is None and project.config.retrain.regression_set:
        regression = Path(project.config.retrain.regression_set)
        regression = regression if regression.is_absolute() else project.root / regression
    if regression is None:
        raise RagtuneError("no regression set: pass --regression FILE.jsonl of held-out {_id, question, answer} "
                           "or set retrain.regression_set in the project config")
    for path in (questions, regression, new_questions):
        if path is not None and not path.is_file():
            raise RagtuneError(f"{path}: no such file")
    if continue_adapter and base not in (None, previous.base):
        raise RagtuneError(f"--continue-adapter trains {served}'s adapter further, which fits its base "
                           f"{previous.base} only; drop --base {base}")
    return Inputs(served=served, previous_job=previous.id, base=base or previous.base, backend=previous.backend,
                  continue_adapter=continue_adapter,
                  questions=str(questions.resolve()) if questions else None, regression=str(regression.resolve()),
                  new_questions=str(new_questions.resolve()) if new_questions else None, feedback=feedback)


def evaluation_questions(inputs: Inputs) -> list[Question]:
    """The fixed regression questions, then the new held-out ones (ids prefixed so the two never clash)."""
    out = []
    for prefix, path in (("regression:", inputs.regression), ("new:", inputs.new_questions)):
        if path:
            out += [Question(prefix + q.id, q.question, q.answer)
                    for q in read_questions(read_jsonl(Path(path), ("question",)))]
    return out


def nothing_new(data: DataStep) -> str | None:
    """Why retraining would teach nothing new (None when it would): every example is one the served model was
    trained on, its passage unchanged, and there is no new question and no new feedback."""
    if data.dropped_stale or data.new or data.feedback:
        return None
    return (f"nothing new to learn: all {data.kept} training questions' passages are unchanged, and there are no "
            "new questions (--questions) and no approved or corrected answers newly logged; the served model stays")


def tune(project: Project, state: RetrainState) -> str:
    """Create the job (recorded at once, so a kill never starts a second) and see it through, resuming an
    interrupted one from its checkpoint."""
    jobs = Jobs(project.root)
    if state.job is None:
        previous = jobs.get(state.inputs.previous_job)
        assert state.data is not None  # the data step comes first
        cfg = TuneConfig(**previous.config)
        if state.inputs.continue_adapter:  # a hosted job has no local adapter: its backend says so
            cfg.init_adapter = str(jobs.backend(previous).adapter(project.root, previous))
        job = jobs.create(Path(state.data.train), None, state.inputs.base, cfg, state.inputs.backend)
        state.job = job.id
        records.save(project.root, state)
        jobs.launch(job)
    else:
        job, _ = jobs.status(state.job)
        if job.shown_status == "queued":
            jobs.launch(job)
        elif job.shown_status in ("interrupted", "failed", "cancelled"):
            jobs.resume(job.id)
    job, _ = jobs.status(state.job)
    if job.status != "succeeded":
        raise RagtuneError(f"job {job.id} is {job.shown_status}{': ' + job.error if job.error else ''}; re-run "
                           f"'ragtune retrain --run {state.id}' to continue when it has finished (or to resume it)")
    return job.id


def candidate_name(state: RetrainState) -> str:
    """The retrained model in the served variant's form (``ft:`` or ``ft+rag:``)."""
    served, job = state.inputs.served, str(state.job)
    return served[: len(served) - len(state.inputs.previous_job)] + job


def bake_off(project: Project, state: RetrainState, progress: Progress) -> str:
    out = records.run_dir(project.root, state.id) / "bakeoff"
    questions = evaluation_questions(state.inputs)
    assert state.data is not None
    leakage = check_leakage([q.question for q in questions], [Path(state.data.train)])
    variants = [resolve(project, state.inputs.served), resolve(project, candidate_name(state))]
    results = run_bakeoff(project, questions, variants, out, load_prices(), progress=progress,
                          questions_path=state.inputs.regression, leakage=Leakage(**leakage))
    write_results(results, out)
    return str(out)


def decide(project: Project, state: RetrainState) -> Decision:
    """Promote when the paired F1 difference (candidate minus served, same questions) has its 95% interval above
    minus the margin: not worse, by the comparison's own uncertainty."""
    rows: dict[str, list[QARow]] = {}
    for r in read_answers(Path(str(state.bakeoff))):
        rows.setdefault(r.variant, []).append(r)
    served, candidate, margin = state.inputs.served, candidate_name(state), project.config.retrain.margin
    f1 = paired_against(rows, served)[candidate].f1
    if f1.diff is None or f1.low is None or f1.high is None:
        return Decision(candidate=candidate, served=served, n=f1.n, diff=None, low=None, high=None,
                        p_value=f1.p_value, margin=margin, promote=False,
                        text="no answerable question both answered: nothing to compare, the served model is kept")
    promote = f1.low >= -margin
    floor = f"{-margin:g}" if margin else "0"
    verdict = (f"not worse (the interval lies above {floor}): {candidate} goes behind a canary" if promote else
               f"possibly worse (the interval reaches below {floor}): {served} stays served alone")
    return Decision(candidate=candidate, served=served, n=f1.n, diff=f1.diff, low=f1.low, high=f1.high,
                    p_value=f1.p_value, margin=margin, promote=promote,
                    text=f"F1 {candidate} minus {served} on {f1.n} paired questions: {f1.diff:+.3f} "
                         f"[{f1.low:+.3f}, {f1.high:+.3f}], p={f1.p_value:.3g}; {verdict}")


def _save_weights(project: Project, weights: dict[str, float]) -> None:
    """The new A/B weights, checked as the server checks them, written atomically (a running server picks them up)."""
    cfg = project.config.model_copy(update={"serve": project.config.serve.model_copy(update={"variants": weights})})
    updated = Project(project.root, config=cfg)
    check_weights(updated)
    updated.save()


def canary(project: Project, decision: Decision) -> Canary:
    """The candidate takes retrain.canary_share of the served variant's traffic (of all traffic when the served
    one has none). Already there (a kill after the config was written): left as it is."""
    before = dict(project.config.serve.variants)
    weights = dict(before)
    if decision.candidate not in weights:
        share = project.config.retrain.canary_share
        served = weights.get(decision.served, 0.0)
        if served > 0:
            weights[decision.served] = served * (1 - share)
            weights[decision.candidate] = served * share
        else:
            weights[decision.candidate] = share / (1 - share) * sum(weights.values())
        _save_weights(project, weights)
    return Canary(before=before, after=weights)


def run(project: Project, inputs: Inputs | None, run_id: str | None = None,
        progress: Progress = lambda *a, **k: None, notify: Notify = lambda text: None) -> RetrainState:
    """Start a run with ``inputs``, or continue run ``run_id``; an unfinished run with the same inputs is
    continued rather than started again."""
    if run_id is not None:
        state = records.load(project.root, run_id)
    else:
        assert inputs is not None
        same = [s for s in records.runs(project.root) if not s.finished and s.inputs == inputs]
        state = same[-1] if same else records.new_state(project.root, inputs)
        if same:
            notify(f"continuing unfinished run {state.id}")
    if state.data is None:
        notify("building the training data from the current corpus and the approved feedback")
        evaluated = [q.question for q in evaluation_questions(state.inputs)]
        state.data = build_data(project, state.inputs, records.run_dir(project.root, state.id), evaluated,
                                lambda n: progress("RAFT", n))
        state.idle = nothing_new(state.data)
        records.save(project.root, state)
    if state.idle is not None:
        return state
    if state.job is None or state.bakeoff is None:
        notify("tuning")
        tune(project, state)
    if state.bakeoff is None:
        notify("baking off the retrained model against the served one")
        state.bakeoff = bake_off(project, state, progress)
        records.save(project.root, state)
    if state.decision is None:
        state.decision = decide(project, state)
        records.save(project.root, state)
    if state.decision.promote and state.canary is None:
        state.canary = canary(project, state.decision)
        records.save(project.root, state)
    return state


def settle(project: Project, run_id: str, promote: bool) -> RetrainState:
    """Move a canary to all of the served variant's traffic (promote) or take it away (roll back)."""
    state = records.load(project.root, run_id)
    if state.decision is None or state.canary is None:
        raise RagtuneError(f"run {run_id} has no canary to settle: "
                           + ("it has not finished" if state.decision is None else state.decision.text))
    if state.outcome is not None:
        raise RagtuneError(f"run {run_id} was already {state.outcome}")
    winner, loser = ((state.decision.candidate, state.decision.served) if promote
                     else (state.decision.served, state.decision.candidate))
    weights = dict(project.config.serve.variants)
    weights[winner] = weights.get(winner, 0.0) + weights.pop(loser, 0.0)
    _save_weights(project, weights)
    state.outcome = "promoted" if promote else "rolled back"
    records.save(project.root, state)
    return state
