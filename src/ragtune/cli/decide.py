"""``ragtune decide``: the guide's questions (flags, a YAML file, or asked interactively) and, with
--bakeoff, its measurements, to a recommendation with every reason shown."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ragtune.cli.common import JsonOpt, console, out, print_json
from ragtune.cli.options import AnswersOpt, BakeoffOpt, PricesOpt, collect_answers
from ragtune.config import field_help
from ragtune.decide.answers import Answers


def _q(name: str) -> Any:
    return typer.Option(help=field_help(Answers, name))


def decide_cmd(
    knowledge_changes_weekly: Annotated[bool | None, _q("knowledge_changes_weekly")] = None,
    needs_citations: Annotated[bool | None, _q("needs_citations")] = None,
    behaviour_problem: Annotated[bool | None, _q("behaviour_problem")] = None,
    labelled_examples: Annotated[int | None, _q("labelled_examples")] = None,
    queries_per_month: Annotated[int | None, _q("queries_per_month")] = None,
    latency_or_cost_pressure: Annotated[bool | None, _q("latency_or_cost_pressure")] = None,
    still_iterating: Annotated[bool | None, _q("still_iterating")] = None,
    needs_both: Annotated[bool | None, _q("needs_both")] = None,
    answers: AnswersOpt = None,
    bakeoff: BakeoffOpt = None,
    prices: PricesOpt = None,
    json_: JsonOpt = False,
):
    """RAG, fine-tuning, fine-tuned RAG, or few-shot prompting first: the guide's decision framework,
    with each answer's implication, the caveats that apply, and what to measure next."""
    from ragtune.cost.prices import load_prices
    from ragtune.decide.engine import decide
    from ragtune.decide.evidence import read_evidence
    from ragtune.decide.render import decision_markdown

    given = {k: v for k, v in locals().items() if k in Answers.model_fields}  # the question flags, by name
    a = collect_answers(answers, given)
    evidence = read_evidence(bakeoff, load_prices(prices), a.queries_per_month) if bakeoff else None
    d = decide(a, evidence)
    if json_:
        print_json(d.to_dict())
        return
    from rich.markdown import Markdown

    out.print(Markdown(decision_markdown(d)), soft_wrap=False)
    if d.overridden:
        console.print(f"measurements changed the rules' answer: {d.rules_recommendation} → {d.recommendation}")
