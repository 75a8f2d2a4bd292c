"""``ragtune cost``: monthly and horizon cost of each approach, and the break-even volume."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ragtune.cli.common import JsonOpt, out, print_json
from ragtune.cli.options import BakeoffOpt, InputsOpt, PricesOpt, cost_inputs
from ragtune.config import field_help
from ragtune.cost.model import CostInputs


def _o(name: str) -> Any:
    return typer.Option(help=field_help(CostInputs, name))


def measured_inference(bakeoff: Path, book) -> dict[str, float]:
    """Per-query generation cost of each approach the bake-off ran, priced with the price book (fine-tuning:
    the strongest tuned model's, when several were measured)."""
    from ragtune.decide.evidence import approach_variants, read_results, variant_per_query

    results = read_results(bakeoff)
    return {a: variant_per_query(results.variants[n], book, results.prices.models)
            for a, n in approach_variants(results).items()}


def cost_cmd(
    queries_per_month: Annotated[float | None, _o("queries_per_month")] = None,
    months: Annotated[int | None, _o("months")] = None,
    question_tokens: Annotated[float | None, _o("question_tokens")] = None,
    prompt_tokens: Annotated[float | None, _o("prompt_tokens")] = None,
    context_tokens: Annotated[float | None, _o("context_tokens")] = None,
    fewshot_tokens: Annotated[float | None, _o("fewshot_tokens")] = None,
    answer_tokens: Annotated[float | None, _o("answer_tokens")] = None,
    corpus_tokens: Annotated[float | None, _o("corpus_tokens")] = None,
    update_tokens_per_month: Annotated[float | None, _o("update_tokens_per_month")] = None,
    retrains_per_year: Annotated[float | None, _o("retrains_per_year")] = None,
    base_model: Annotated[str | None, _o("base_model")] = None,
    rag_model: Annotated[str | None, _o("rag_model")] = None,
    ft_model: Annotated[str | None, _o("ft_model")] = None,
    embedding_model: Annotated[str | None, _o("embedding_model")] = None,
    inputs: InputsOpt = None,
    prices: PricesOpt = None,
    bakeoff: BakeoffOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="also write cost.md, cost.html and the plots "
                                                              "here")] = None,
    print_prices: Annotated[bool, typer.Option("--print-prices", help="print the shipped price file (a starting "
                                               "point for --prices) and exit")] = False,
    json_: JsonOpt = False,
):
    """One-time, monthly and total cost of few-shot prompting, RAG, fine-tuning and fine-tuned RAG, and the
    volume above which fine-tuning costs less than RAG: computed from a dated price file."""
    from ragtune.cost import report
    from ragtune.cost.model import estimate
    from ragtune.cost.prices import default_prices_text, load_prices

    if print_prices:
        out.print(default_prices_text(), markup=False, highlight=False)
        return
    book = load_prices(prices)
    cfg = cost_inputs(inputs, {k: v for k, v in locals().items() if k in CostInputs.model_fields})  # the options
    if bakeoff:
        cfg = cfg.model_copy(update={"inference_per_query": {**cfg.inference_per_query,
                                                             **measured_inference(bakeoff, book)}})
    costs = estimate(cfg, book)
    md = report.markdown(costs, cfg, book.as_of, heading="#")
    if out_dir:
        from ragtune.reporting.html import render_html

        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "cost.md").write_text(md, encoding="utf-8")
        (out_dir / "cost.html").write_text(render_html("ragtune cost", md, report.figures(costs, cfg)),
                                           encoding="utf-8")
    if json_:
        print_json({"prices_as_of": book.as_of, "inputs": cfg.model_dump(),
                    "approaches": {a: c.to_dict(cfg.queries_per_month, cfg.months) for a, c in costs.items()},
                    "break_even": [b.to_dict() for b in report.break_evens(costs, cfg.months)]})
        return
    from rich.markdown import Markdown

    out.print(Markdown(md), soft_wrap=False)
