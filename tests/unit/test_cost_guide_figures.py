"""The guide's two cost figures, reproduced with the inputs docs/cost-model.md documents (read from it),
and the bound that shows the literal reading of the second cannot hold."""

import re
from pathlib import Path

import pytest
import yaml

from ragtune.cost.breakeven import break_even
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import load_prices

DOC = Path(__file__).parents[2] / "docs" / "cost-model.md"


def block(label: str) -> dict:
    """The ```yaml block of the doc whose first line is '# <label>...'."""
    blocks = re.findall(r"```yaml\n(# [^\n]*\n.*?)```", DOC.read_text(), re.S)
    found = [b for b in blocks if b.startswith(f"# {label}")]
    assert len(found) == 1, label
    return yaml.safe_load(found[0])


def inference_per_day(approach: str, inputs: CostInputs) -> float:
    cost = estimate(inputs, load_prices(), (approach,))[approach]
    return next(line.per_query for line in cost.lines if line.category == "inference") * 1_000_000


def test_figure_1_break_even_near_500k_per_month(tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump(block("figure-1 prices")))
    inputs = CostInputs(**block("figure-1 inputs"))
    costs = estimate(inputs, load_prices(prices), ("rag", "ft"))
    assert costs["rag"].per_query == pytest.approx(0.0050006)  # 1,800 x $2.50/M + 50 x $10/M + 30 x $0.02/M
    be = break_even(costs["ft"], costs["rag"], inputs.months)
    # hand: (20,050 - 4,000.02 + 12 (800 - 870.002)) / (12 (0.0050006 - 0.0025))
    assert be.kind == "above"
    assert be.queries_per_month == pytest.approx((20_050 - 4_000.02 + 12 * (800 - 870.002)) / (12 * 0.0025006))
    assert be.queries_per_month == pytest.approx(500_000, rel=0.02)


def test_figure_1_does_not_hold_at_the_guides_midpoints():
    inputs = CostInputs(**{**block("figure-1 inputs"), "retrains_per_year": 4})
    costs = estimate(inputs, load_prices(), ("rag", "ft"))
    assert break_even(costs["ft"], costs["rag"], 12).queries_per_month > 2_000_000


def test_figure_2_fine_tuned_side_is_120_per_day():
    assert inference_per_day("ft", CostInputs(**block("figure-2 ft inputs"))) == pytest.approx(120.0)


def test_figure_2_rag_side_is_about_800_per_day_on_gpt_4o_mini():
    day = inference_per_day("rag", CostInputs(**block("figure-2 rag inputs")))
    assert day == pytest.approx(5200 * 0.15 + 50 * 0.60)  # $810
    assert day == pytest.approx(800, rel=0.02)


def test_figure_2_cannot_hold_for_gpt_4o():
    """Cost grows with context, so no context at all is the cheapest RAG on gpt-4o: already $1,000/day."""
    rag = {**block("figure-2 rag inputs"), "rag_model": "gpt-4o"}
    floor = inference_per_day("rag", CostInputs(**{**rag, "context_tokens": 0}))
    assert floor == pytest.approx(200 * 2.50 + 50 * 10.0) and floor > 800
    assert inference_per_day("rag", CostInputs(**rag)) == pytest.approx(13_500)
