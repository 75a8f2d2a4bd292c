"""decide's reading of a bake-off, fact by fact and word by word, on results whose measurements are set
exactly (typed BakeoffResults, validated as the bake-off's own output is), so each verdict sits on or
next to its boundary. test_decide_evidence.py runs the same reading on bake-offs produced on the fakes."""

from __future__ import annotations

import pytest

from ragtune.bakeoff.results import (
    BakeoffResults,
    Latency,
    MetricInterval,
    Paired,
    PairedComparison,
    PricesUsed,
    QualityMetrics,
    QuestionSet,
    Tokens,
    VariantResult,
    write_results,
)
from ragtune.cost.breakeven import break_even
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import load_prices
from ragtune.decide.evidence import MISSING, interval, read_evidence, score, unpaired_verdict
from ragtune.errors import RagtuneError

NONE = MetricInterval(mean=None, low=None, high=None, n=0)
# a machine at $3.60/hour: a self-hosted model's USD per query is its seconds / 1000
BOOK = load_prices().model_copy(update={"self_hosted_per_hour": 3.6, "models": {}})


def _variant(f1=None, p50=800.0, seconds=0.9) -> VariantResult:
    f1m = MetricInterval(mean=f1[0], low=f1[1], high=f1[2], n=20) if f1 else NONE
    return VariantResult(model="self-hosted", retrieval=True, n=20, metrics=QualityMetrics(
        exact_match=NONE, f1=f1m, faithfulness=NONE, citation_correctness=NONE, refusal_precision=NONE,
        refusal_recall=NONE), latency_ms=Latency(p50=p50, p95=p50 * 2, mean=p50), tokens=Tokens(
        prompt_mean=600, completion_mean=40), seconds_per_query=seconds, cost_per_1k_queries=seconds)


def _paired(diff, low, high) -> Paired:
    c = PairedComparison(diff=diff, low=low, high=high, p_value=0.05, n=20)
    return Paired(f1=c, exact_match=c)


def _write(tmp_path, variants: dict[str, VariantResult], paired: dict[str, Paired]):
    results = BakeoffResults(created="2026-11-30T10:00:00Z", questions=QuestionSet(path="q.jsonl", n=24, answerable=20,
                                                                                   unanswerable=4),
                             prices=PricesUsed(as_of="2026-11", self_hosted_per_hour=3.6), variants=variants,
                             paired_vs_rag=paired)
    write_results(results, tmp_path)
    return tmp_path


@pytest.fixture
def full(tmp_path):
    variants = {"base": _variant((0.10, 0.05, 0.15), 500, 0.5),
                "fewshot": _variant((0.30, 0.22, 0.36), 600, 1.2),
                "rag": _variant((0.40, 0.33, 0.47), 1234.4, 0.9),
                "ft": _variant((0.45, 0.40, 0.50), 300, 0.3),
                "ft+rag": _variant((0.42, 0.35, 0.49), 850, 0.99)}
    paired = {"base": _paired(-0.3, -0.4, 0.01),  # unclear, but base is never a candidate
              "fewshot": _paired(-0.1, -0.18, 0.02),
              "ft": _paired(0.05, 0.01, 0.09),
              "ft+rag": _paired(0.02, -0.03, 0.07)}
    return _write(tmp_path, variants, paired)


def test_facts_and_words_of_a_full_bakeoff(full):
    ev = read_evidence(full, BOOK, 1e9)
    assert ev.per_query == pytest.approx({"fewshot": 0.0012, "rag": 0.0009, "ft": 0.0003, "ft+rag": 0.00099})
    assert ev.facts == {"bakeoff": True, "ft_vs_rag": "better", "ftrag_vs_rag": "unclear", "ft_vs_fewshot": "better",
                        "ft_cheaper": True, "ft_faster": True, "unclear": True, "above_break_even": True}
    assert ev.texts == {"ft_vs_rag": "+0.05 [+0.01, +0.09]", "ftrag_vs_rag": "+0.02 [-0.03, +0.07]",
                        "ft_f1": "0.45 [0.40, 0.50]", "fewshot_f1": "0.30 [0.22, 0.36]",
                        "rag_per_1k": "$0.9000", "rag_p50": "1,234 ms",
                        "unclear_list": "fewshot vs rag (F1 -0.10 [-0.18, +0.02]), "
                                        "ft+rag vs rag (F1 +0.02 [-0.03, +0.07])",
                        "ft_p50": "300 ms", "ft_per_1k": "$0.3000", "break_even": ev.break_even.threshold_text()}
    assert (ev.source, ev.created, ev.questions) == (str(full), "2026-11-30T10:00:00Z", 24)
    assert ev.results.variants["ft"].latency_ms.p50 == 300


def test_break_even_prices_the_measured_generation(full):
    # the cost model, given the measured USD per query by hand, must reach the same break-even
    inputs = CostInputs(queries_per_month=50_000, months=6, inference_per_query={"rag": 0.0009, "ft": 0.0003,
                                                                                 "fewshot": 0.0012, "ft+rag": 0.00099})
    costs = estimate(inputs, BOOK, ("rag", "ft"))
    expected = break_even(costs["ft"], costs["rag"], 6)
    ev = read_evidence(full, BOOK, 50_000, CostInputs(months=6, queries_per_month=1))
    got = ev.break_even
    assert (got.challenger, got.incumbent, got.months, got.kind) == ("ft", "rag", 6, "above")
    assert got.queries_per_month == pytest.approx(expected.queries_per_month, rel=1e-12) and expected.kind == "above"
    assert ev.facts["above_break_even"] is False and expected.queries_per_month > 50_000
    assert ev.texts["break_even"] == f"{expected.queries_per_month:,.0f} queries/month"
    assert read_evidence(full, BOOK, 2 * expected.queries_per_month, CostInputs(months=6)).facts["above_break_even"]
    # the default horizon is a year; volume decides which side of the line we are on
    assert read_evidence(full, BOOK, 1).break_even.months == 12
    assert read_evidence(full, BOOK, 1).facts["above_break_even"] is False
    d = read_evidence(full, BOOK, 1e9).to_dict()
    assert d["break_even"] == read_evidence(full, BOOK, 1e9).break_even.to_dict()
    assert {k: d[k] for k in ("source", "created", "questions")} == {"source": str(full),
                                                                     "created": "2026-11-30T10:00:00Z", "questions": 24}
    assert d["facts"]["ft_vs_rag"] == "better" and d["texts"]["rag_p50"] == "1,234 ms"
    assert d["per_query"]["ft"] == pytest.approx(0.0003)


def test_ties_are_not_cheaper_or_faster(tmp_path):
    variants = {"rag": _variant((0.40, 0.33, 0.47), 800, 0.9), "ft": _variant((0.40, 0.30, 0.47), 800, 0.9)}
    ev = read_evidence(_write(tmp_path, variants, {"ft": _paired(0.0, -0.05, 0.05)}), BOOK, 1000)
    assert ev.facts["ft_cheaper"] is False and ev.facts["ft_faster"] is False
    assert ev.facts["ft_vs_rag"] == "unclear" and ev.facts["unclear"] is True
    assert ev.facts["ft_vs_fewshot"] == MISSING and ev.texts["fewshot_f1"] == "not measured"
    assert ev.texts["ftrag_vs_rag"] == "not measured" and ev.facts["ftrag_vs_rag"] == MISSING
    assert ev.texts["unclear_list"] == "ft vs rag (F1 +0.00 [-0.05, +0.05])"
    # dearer and slower by a little: still not
    variants["ft"] = _variant((0.40, 0.30, 0.47), 801, 0.901)
    ev = read_evidence(_write(tmp_path, variants, {}), BOOK, 1000)
    assert ev.facts["ft_cheaper"] is False and ev.facts["ft_faster"] is False and ev.facts["unclear"] is False
    assert ev.facts["ft_vs_rag"] == MISSING and ev.texts["ft_vs_rag"] == "not measured"


def test_without_a_tuned_variant_its_facts_are_missing(tmp_path):
    variants = {"base": _variant((0.1, 0.05, 0.15)), "rag": _variant((0.40, 0.33, 0.47), 800, 0.9)}
    ev = read_evidence(_write(tmp_path, variants, {"base": _paired(-0.3, -0.4, 0.01)}), BOOK, 1000)
    assert ev.facts == {"bakeoff": True, "ft_vs_rag": MISSING, "ftrag_vs_rag": MISSING, "ft_vs_fewshot": MISSING,
                        "ft_cheaper": MISSING, "ft_faster": MISSING, "unclear": False, "above_break_even": MISSING}
    assert ev.break_even is None and ev.to_dict()["break_even"] is None
    assert "ft_p50" not in ev.texts and "break_even" not in ev.texts and ev.texts["ft_f1"] == "not measured"
    assert ev.per_query == pytest.approx({"rag": 0.0009})  # base is not an approach to price


def test_a_bakeoff_without_rag_is_refused(tmp_path):
    folder = _write(tmp_path, {"ft": _variant((0.4, 0.3, 0.5))}, {})
    with pytest.raises(RagtuneError, match=r"results\.json: the bake-off has no 'rag' variant, the baseline every "
                                           r"comparison needs$"):
        read_evidence(folder, BOOK, 1000)


def test_words_for_unmeasured_values():
    assert interval(None) == "not measured" and score(None) == "not measured"
    assert interval(PairedComparison(diff=None, low=None, high=None, p_value=1.0, n=0)) == "not measured"
    assert score(NONE) == "not measured"
    assert score(MetricInterval(mean=0.5, low=0.25, high=0.75, n=4)) == "0.50 [0.25, 0.75]"


def test_unpaired_verdict_missing_either_side_and_touching_from_below():
    m = MetricInterval(mean=0.5, low=0.4, high=0.6, n=20)
    assert unpaired_verdict(None, m) == MISSING and unpaired_verdict(m, None) == MISSING
    assert unpaired_verdict(m, NONE) == MISSING
    # intervals that touch are not apart, from either side
    assert unpaired_verdict(MetricInterval(mean=0.3, low=0.2, high=0.4, n=20), m) == "unclear"
    assert unpaired_verdict(MetricInterval(mean=0.3, low=0.2, high=0.39, n=20), m) == "worse"

