"""The drift report of a tuned model: what changed since its training data was built. Knowledge (documents
added, changed or removed since the job's corpus snapshot, and the training examples whose oracle passage is
gone or now says something else), questions (recent logged questions against the training questions:
an energy-distance permutation test on their embeddings, and the share no training question resembles) and
outcomes (per variant and time window, negative feedback and refusal rates with Wilson intervals; the latest
window against the earlier ones by Fisher's exact test). Each part says when it cannot be judged, and why."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from ragtune.app import corpus_snapshot
from ragtune.app.jobs import Jobs
from ragtune.app.variants import tuned_job
from ragtune.bakeoff.leakage import trained_questions
from ragtune.config import RetrainConfig
from ragtune.errors import RagtuneError
from ragtune.project import Project
from ragtune.raft.build import read_provenance
from ragtune.retrain.statistics import Rate, RateChange, change, energy_test, unresembled, wilson
from ragtune.serve.interactions import InteractionLog, log_path
from ragtune.serve.state import default_url, open_state, state_url

SCHEMA = "ragtune.drift/1"
DAY = 86400.0


class StaleExample(BaseModel):
    index: int
    question: str
    answer: str
    oracle: str
    state: str = Field(description="changed: the passage now says something else; gone: it is no longer indexed")


class KnowledgeDrift(BaseModel):
    judged: bool
    note: str = ""
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    examples: int = 0
    """Training examples with a known oracle passage."""
    stale: list[StaleExample] = []
    stale_share: float | None = None
    advised: bool = False


class QuestionDrift(BaseModel):
    judged: bool
    note: str = ""
    recent: int = 0
    training: int = 0
    statistic: float | None = None
    """Energy distance between the recent and the training questions' embeddings."""
    p_value: float | None = None
    unresembled: Rate | None = None
    """Recent questions no training question resembles at retrain.similarity or more."""
    examples: list[str] = []
    """A few of those questions."""
    advised: bool = False


class Window(BaseModel):
    start: float
    end: float
    requests: int
    rated: int = 0
    """Requests with feedback: a rating or a correction."""
    negative: Rate
    """Thumbs down or corrected, of the requests."""
    refusal: Rate


class VariantOutcomes(BaseModel):
    windows: list[Window]
    """Newest first."""
    judged: bool
    note: str = ""
    negative_change: RateChange | None = None
    """None when too few requests got feedback to judge it (retrain.min_feedback)."""
    refusal_change: RateChange | None = None
    """Latest window against the earlier ones together."""
    worse: bool = False


class OutcomeDrift(BaseModel):
    judged: bool
    note: str = ""
    variants: dict[str, VariantOutcomes] = {}
    advised: bool = False


class ModelDrift(BaseModel):
    model: str
    job: str
    knowledge: KnowledgeDrift
    questions: QuestionDrift
    outcomes: OutcomeDrift
    advised: bool
    reasons: list[str]


class DriftReport(BaseModel):
    schema_: str = Field(SCHEMA, alias="schema")
    created: float
    models: list[ModelDrift]
    advised: bool


def interaction_log(project: Project) -> InteractionLog | None:
    """The serve state's interaction log; None when it is the project's own file and nothing created it yet."""
    if state_url(project) == default_url(project) and not log_path(project).exists():
        return None
    return open_state(project)


def tuned_models(project: Project, named: list[str]) -> list[str]:
    """The tuned variants to report on: those named, else those served (weight above 0)."""
    for name in named:
        if tuned_job(name) is None:
            raise RagtuneError(f"{name!r} is not a tuned model; name one as ft:<job-id> or ft+rag:<job-id>")
    served = [n for n, w in project.config.serve.variants.items() if w > 0 and tuned_job(n)]
    models = named or served
    if not models:
        raise RagtuneError("no tuned model is served (serve.variants has no ft:<job-id> or ft+rag:<job-id> with "
                           "a weight above 0) and none was named: pass --model ft:<job-id>")
    return models


def knowledge(project: Project, job_id: str, train: Path, cfg: RetrainConfig) -> KnowledgeDrift:
    snap = corpus_snapshot.read(project.root, job_id)
    if snap is None:
        return KnowledgeDrift(judged=False, note=f"job {job_id} has no corpus snapshot (it was created before "
                              "ragtune recorded one, or in a project without an index): nothing to compare with")
    diff = corpus_snapshot.changes(snap, {d: s.content_hash for d, s in project.store.documents().items()})
    made = [p for p in read_provenance(train) or [] if p.oracle]
    if not made:
        return KnowledgeDrift(judged=True, added=diff.added, changed=diff.changed, removed=diff.removed,
                              note=f"{train} has no RAFT provenance (<name>.meta.jsonl): the documents are "
                                   "compared, not the training examples")
    states = corpus_snapshot.chunk_states(snap, project)
    stale = [StaleExample(index=p.index, question=p.question, answer=p.answer, oracle=str(p.oracle),
                          state=states[str(p.oracle)])
             for p in made if states.get(str(p.oracle), "current") != "current"]
    share = len(stale) / len(made)
    return KnowledgeDrift(judged=True, added=diff.added, changed=diff.changed, removed=diff.removed,
                          examples=len(made), stale=stale, stale_share=share, advised=share > cfg.max_stale_share)


def last_user(messages) -> str:
    return next((m["content"] for m in reversed(messages or []) if m.get("role") == "user"), "")


def questions(project: Project, train: Path, rows: list[dict], now: float, cfg: RetrainConfig) -> QuestionDrift:
    recent = [q for r in rows if now - cfg.window_days * DAY < r["created"] <= now and (q := last_user(r["request"]))]
    if len(recent) < cfg.min_questions:
        return QuestionDrift(judged=False, recent=len(recent),
                             note=f"too few recent questions to judge: {len(recent)} logged with their text in the "
                                  f"last {cfg.window_days:g} days, needs {cfg.min_questions} (retrain.min_questions)")
    if not train.is_file():
        return QuestionDrift(judged=False, recent=len(recent), note=f"the training file {train} is gone")
    trained = trained_questions(train)
    x, y = project.embedder.embed(recent), project.embedder.embed(trained)
    test = energy_test(x, y)
    alone = unresembled(x, y, cfg.similarity)
    share = wilson(int(alone.sum()), len(recent))
    return QuestionDrift(judged=True, recent=len(recent), training=len(trained), statistic=test.statistic,
                         p_value=test.p_value, unresembled=share,
                         examples=[q for q, a in zip(recent, alone, strict=True) if a][:5],
                         advised=test.p_value < cfg.alpha and (share.rate or 0.0) > cfg.max_novel_share)


def _window(rows: list[dict], start: float, end: float) -> Window:
    inside = [r for r in rows if start < r["created"] <= end]
    negative = sum(r["rating"] == "down" or bool(r["corrected"]) for r in inside)
    rated = sum(r["rating"] is not None or bool(r["corrected"]) for r in inside)
    return Window(start=start, end=end, requests=len(inside), rated=rated, negative=wilson(negative, len(inside)),
                  refusal=wilson(sum(bool(r["refused"]) for r in inside), len(inside)))


def variant_outcomes(rows: list[dict], now: float, cfg: RetrainConfig) -> VariantOutcomes:
    width = cfg.window_days * DAY
    windows = [_window(rows, now - (i + 1) * width, now - i * width) for i in range(cfg.windows)]
    latest = windows[0]
    earlier = _window(rows, windows[-1].start, windows[0].start)
    if latest.requests < cfg.min_requests or earlier.requests < cfg.min_requests:
        return VariantOutcomes(windows=windows, judged=False,
                               note=f"too little traffic to judge: {latest.requests} requests in the latest window "
                                    f"and {earlier.requests} before it; needs {cfg.min_requests} in each "
                                    "(retrain.min_requests)")
    # with hardly any feedback, a steady negative rate says nothing about the answers: it is not judged
    rated = min(latest.rated, earlier.rated) >= cfg.min_feedback
    neg = change(earlier.negative, latest.negative) if rated else None
    ref = change(earlier.refusal, latest.refusal)
    worse = any(c.p_value is not None and c.p_value < cfg.alpha and (c.diff or 0.0) > 0 for c in (neg, ref) if c)
    note = "" if rated else (f"too little feedback to judge negative feedback: {latest.rated} requests rated or "
                             f"corrected in the latest window and {earlier.rated} before it; needs "
                             f"{cfg.min_feedback} in each (retrain.min_feedback); refusals are judged")
    return VariantOutcomes(windows=windows, judged=True, note=note, negative_change=neg, refusal_change=ref,
                           worse=worse)


def outcomes(job_id: str, rows: list[dict], now: float, cfg: RetrainConfig) -> OutcomeDrift:
    served = [r for r in rows if r["status"] == 200]
    by_variant: dict[str, list[dict]] = {}
    for r in served:
        by_variant.setdefault(r["variant"], []).append(r)
    variants = {name: variant_outcomes(rs, now, cfg) for name, rs in sorted(by_variant.items())}
    own = {n: v for n, v in variants.items() if tuned_job(n) == job_id}
    if not own:
        return OutcomeDrift(judged=False, variants=variants, note=f"no logged request was answered by job {job_id}")
    judged = [v for v in own.values() if v.judged]
    return OutcomeDrift(judged=bool(judged), variants=variants, advised=any(v.worse for v in judged),
                        note="" if judged else "; ".join(f"{n}: {v.note}" for n, v in own.items()))


def model_drift(project: Project, model: str, rows: list[dict] | None, now: float) -> ModelDrift:
    cfg = project.config.retrain
    job_id = str(tuned_job(model))
    job = Jobs(project.root).get(job_id)
    train = Path(job.train_file)
    know = knowledge(project, job.id, train, cfg)
    if rows:
        quest, outc = questions(project, train, rows, now, cfg), outcomes(job.id, rows, now, cfg)
    else:
        missing = f"no interactions logged in {project.root} (they are recorded by 'ragtune serve')"
        quest, outc = QuestionDrift(judged=False, note=missing), OutcomeDrift(judged=False, note=missing)
    reasons = []
    if know.advised:
        reasons.append(f"{len(know.stale)} of {know.examples} training examples teach a passage that is gone or "
                       f"changed ({know.stale_share:.0%} > {cfg.max_stale_share:.0%})")
    if quest.advised and quest.unresembled is not None:
        reasons.append(f"recent questions differ from the training questions (energy test p={quest.p_value:.3g}); "
                       f"{quest.unresembled.rate:.0%} resemble none of them (> {cfg.max_novel_share:.0%})")
    if outc.advised:
        reasons.append("negative feedback or refusals rose significantly in the latest window: "
                       + ", ".join(n for n, v in outc.variants.items() if v.worse))
    return ModelDrift(model=model, job=job.id, knowledge=know, questions=quest, outcomes=outc,
                      advised=bool(reasons), reasons=reasons)


def report(project: Project, named: list[str], rows: list[dict] | None, now: float | None = None) -> DriftReport:
    """``rows`` from the interaction log (None when nothing was logged); ``now`` ends the latest window."""
    now = time.time() if now is None else now
    models = [model_drift(project, m, rows, now) for m in tuned_models(project, named)]
    return DriftReport(created=now, models=models, advised=any(m.advised for m in models))
