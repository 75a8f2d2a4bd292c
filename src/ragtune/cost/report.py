"""The cost section of a report: a table per approach, the break-even sentences, and two figures."""

from __future__ import annotations

import numpy as np

from ragtune.cost.breakeven import BreakEven, break_even
from ragtune.cost.model import CATEGORIES, LABELS, ApproachCost, CostInputs

CURVES = "Total cost against query volume"
BREAKDOWN = "Cost breakdown per approach"


def break_evens(costs: dict[str, ApproachCost], months: int) -> list[BreakEven]:
    """Each tuned approach against RAG, the guide's comparison."""
    return [break_even(costs[a], costs["rag"], months) for a in ("ft", "ft+rag") if a in costs and "rag" in costs]


def markdown(costs: dict[str, ApproachCost], inputs: CostInputs, as_of: str, heading: str = "##") -> str:
    q, m = inputs.queries_per_month, inputs.months
    measured = (" `*`: inference cost per query measured by the bake-off."
                if any(c.measured for c in costs.values()) else "")
    lines = [f"{heading} Cost over {m} months at {q:,.0f} queries/month", "",
             f"Prices as of {as_of} (price file); engineer time is included.{measured}", "",
             "| approach | one-time | per month | per 1,000 queries | total, " + f"{m} months |",
             "|---|---:|---:|---:|---:|"]
    for name, c in sorted(costs.items(), key=lambda kv: kv[1].total(q, m)):
        star = "*" if c.measured else ""
        lines.append(f"| {LABELS[name]}{star} | ${c.one_time:,.0f} | ${c.monthly(q):,.0f} | "
                     f"${1000 * c.per_query:,.3f} | ${c.total(q, m):,.0f} |")
    lines += ["", *(f"- {b.sentence()}" for b in break_evens(costs, m)), ""]
    return "\n".join(lines)


def figures(costs: dict[str, ApproachCost], inputs: CostInputs) -> dict[str, str]:
    from ragtune.reporting.plots import line_chart, stacked_bars

    q, m = inputs.queries_per_month, inputs.months
    crossings = [b for b in break_evens(costs, m) if b.queries_per_month]
    top = max([q * 10, 1e5] + [3 * (b.queries_per_month or 0) for b in crossings])
    volumes = np.logspace(3, np.log10(top), 60)
    markers = [(b.queries_per_month, f"{LABELS[b.challenger]} = RAG: {b.queries_per_month:,.0f}/mo") for b in crossings]
    if q > 0:
        markers.append((q, f"your volume: {q:,.0f}/mo"))
    curves = line_chart(volumes, {LABELS[a]: [c.total(v, m) for v in volumes] for a, c in costs.items()},
                        xlabel="queries per month", ylabel=f"total USD over {m} months", log_x=True, log_y=True,
                        markers=markers)
    parts = {cat: [c.breakdown(q, m)[cat] for c in costs.values()] for cat in CATEGORIES}
    breakdown = stacked_bars([LABELS[a] for a in costs], parts, ylabel=f"USD over {m} months at {q:,.0f}/mo")
    return {CURVES: curves, BREAKDOWN: breakdown}
