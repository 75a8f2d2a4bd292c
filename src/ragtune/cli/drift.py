"""``ragtune drift``: is the served tuned model stale? Exit 0 fine, 4 retraining advised, 2 error."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import DEFAULT_PROJECT, EXIT_RETRAIN_ADVISED, JsonOpt, ProjectOpt, open_project, out, print_json
from ragtune.retrain.drift import ModelDrift
from ragtune.retrain.statistics import Rate, RateChange


def _rate(r: Rate | None) -> str:
    return "–" if r is None or r.rate is None else f"{r.rate:.1%} [{r.low:.1%}, {r.high:.1%}] (n={r.n})"


def drift_cmd(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="a tuned model to report on, ft:<job-id> "
                                                    "or ft+rag:<job-id> (repeatable; default: the served ones)")]
    = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """What changed since each tuned model's training data was built: documents and stale training examples,
    recent questions against the training questions, feedback and refusals over time. Thresholds: the
    project's retrain settings. Exit code 0: nothing advises retraining; 4: retraining advised; 2: error."""
    from ragtune.retrain.drift import interaction_log, report

    p = open_project(project)
    log = interaction_log(p)
    r = report(p, model or [], log.rows() if log is not None else None)
    if json_:
        print_json(r.model_dump(mode="json", by_alias=True))
    else:
        for m in r.models:
            _print(m)
    if r.advised:
        raise typer.Exit(EXIT_RETRAIN_ADVISED)


def _print(m: ModelDrift) -> None:
    verdict = "retraining advised: " + "; ".join(m.reasons) if m.advised else "no retraining advised"
    out.print(f"{m.model} (job {m.job}): {verdict}", highlight=False)
    k = m.knowledge
    if not k.judged:
        out.print(f"  knowledge: not judged: {k.note}")
    else:
        out.print(f"  knowledge: {len(k.added)} documents added, {len(k.changed)} changed, {len(k.removed)} removed")
        for label, docs in (("changed", k.changed), ("removed", k.removed), ("added", k.added)):
            for d in docs:
                out.print(f"    {label}: {d}")
        if k.note:
            out.print(f"    ({k.note})")
        elif k.stale_share is not None:
            out.print(f"    {len(k.stale)} of {k.examples} training examples are stale ({k.stale_share:.0%})")
            for s in k.stale:
                out.print(f"    [{s.state}] {s.oracle}: {s.question} -> {s.answer}")
    q = m.questions
    out.print(f"  questions: not judged: {q.note}" if not q.judged else
              f"  questions: {q.recent} recent vs {q.training} trained; energy distance {q.statistic:.4f}, "
              f"p={q.p_value:.3g}; resembling no training question: {_rate(q.unresembled)}")
    o = m.outcomes
    if not o.judged:
        out.print(f"  outcomes: not judged: {o.note}")
    t = Table("variant", "window", "requests", "negative feedback", "refused", title="outcomes by window (newest first)")
    for name, v in o.variants.items():
        for i, w in enumerate(v.windows):
            t.add_row(name if i == 0 else "", str(i), str(w.requests), _rate(w.negative), _rate(w.refusal))
        if v.judged:
            t.add_row("", "latest vs before", "", _change(v.negative_change), _change(v.refusal_change))
    if o.variants:
        out.print(t)
    for name, v in o.variants.items():
        if v.judged and v.note:
            out.print(f"  {name}: {v.note}", highlight=False)


def _change(c: RateChange | None) -> str:
    return "–" if c is None or c.diff is None or c.p_value is None else f"{c.diff:+.1%} (p={c.p_value:.3g})"
