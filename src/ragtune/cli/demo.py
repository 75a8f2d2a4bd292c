from __future__ import annotations

from rich.text import Text

from ragtune.app.demo import DemoAnswer, kb_path, run_demo
from ragtune.app.variants import Variant, resolve
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, open_project, out, print_json, progress_bars
from ragtune.cli.options import BaseUrlOpt, ExamplesOpt, ModelOpt, print_answer
from ragtune.evaluation.outcome import Outcome
from ragtune.rag.ingest import ingest

_STYLE = {Outcome.RIGHT_ANSWER: "bold green", Outcome.RIGHT_REFUSAL: "bold green", Outcome.WRONG: "bold red",
          Outcome.WRONG_REFUSAL: "bold red"}
RULE = ("right answer: the answer holds the reference (lower case, punctuation and articles ignored); right "
        "refusal: a refusal where the documents hold no answer")


def _show(d: DemoAnswer) -> None:
    print_answer(d.answer)
    reference = f"{d.reference} ({d.source})" if d.reference else "(not in the documents)"
    out.print(Text.assemble(("   reference: ", "dim"), (reference, "dim"), ("  ", ""),
                            (d.outcome.value, _STYLE[d.outcome])), "\n")


def _how(v: Variant) -> str:
    """The model and what shapes its prompt: "smollm2-135m, worked examples and passages cut to 150 words"."""
    parts = [part for part, on in (("worked examples", v.shots),
                                   (f"passages cut to {v.context_words} words", v.context_words)) if on]
    return f"{v.model}{', ' + ' and '.join(parts) if parts else ''}"


def demo_cmd(project: ProjectOpt = DEFAULT_PROJECT, model: ModelOpt = None, base_url: BaseUrlOpt = None,
             examples: ExamplesOpt = None, json_: JsonOpt = False):
    """Index the shipped example knowledge base (a fictional SaaS product's docs), ask it the demo questions,
    and score each answer against its reference."""
    p = open_project(project)
    if not p.config_path.exists():
        p.save()
    with progress_bars(not json_) as progress:
        report = ingest(p, [kb_path()], progress=progress)
    if not json_:
        out.print(f"indexed {report.added + report.updated + report.unchanged} pages into {report.chunks or 'existing'}"
                  f" chunks in {report.seconds:.1f}s ({p.root})\n")
    v = resolve(p, "rag", model=model, base_url=base_url, examples=examples)
    score = run_demo(p, v, shown=lambda d: None if json_ else _show(d))
    if json_:
        print_json({"ingest": report.to_dict(), "model": v.model, "worked_examples": bool(v.shots),
                    "context_words": v.context_words, "answers": [d.to_dict() for d in score.answers],
                    "score": score.to_dict(), "rule": RULE})
        return
    counts = ", ".join(f"{o.value}: {n}" for o, n in score.counts().items())
    out.print(Text.assemble(("Score: ", "bold"), (f"{score.right} of {len(score.answers)} right", "bold"),
                            f" ({counts}) with {_how(v)}"))
    out.print(Text(RULE, style="dim"))
