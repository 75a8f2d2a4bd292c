"""``ragtune report``: one decision report (Markdown and self-contained HTML) for a reader who never ran
the tool: the framework's answer, the bake-off table, and the cost curves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragtune.cli.common import JsonOpt, out, print_json
from ragtune.cli.options import AnswersOpt, InputsOpt, PricesOpt, collect_answers, cost_inputs


def report_cmd(
    bakeoff: Annotated[Path, typer.Option("--bakeoff", help="the bake-off output folder (results.json)")],
    answers: AnswersOpt = None,
    prices: PricesOpt = None,
    inputs: InputsOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="where decision.md, decision.html and figures/ go "
                                                              "(default: the bake-off folder)")] = None,
    json_: JsonOpt = False,
):
    """Write decision.md and decision.html: the recommendation with its reasons, what the bake-off measured,
    and the cost over the horizon. Questions not in --answers are asked."""
    from ragtune.cost.prices import load_prices
    from ragtune.decide import report
    from ragtune.decide.engine import decide
    from ragtune.decide.evidence import read_evidence

    a = collect_answers(answers, {})
    book = load_prices(prices)
    cfg = cost_inputs(inputs, {"queries_per_month": a.queries_per_month})
    d = decide(a, read_evidence(bakeoff, book, a.queries_per_month, cfg))
    md_path, html_path = report.write(out_dir or bakeoff, d, book, cfg)
    if json_:
        print_json({"recommendation": d.recommendation, "label": d.label, "markdown": str(md_path),
                    "html": str(html_path)})
    else:
        out.print(f"{d.label}: wrote {md_path} and {html_path}")
