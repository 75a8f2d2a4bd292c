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
from ragtune.decide.evidence import (
    MISSING,
    Ship,
    TunedStanding,
    apart_text,
    beats_verdict,
    between_tuned,
    comparison_text,
    read_evidence,
    rival_fact,
    score,
    strongest_tuned,
    to_ship,
)
from ragtune.errors import RagtuneError

NONE = MetricInterval(mean=None, low=None, high=None, n=0)
# a machine at $3.60/hour: a self-hosted model's USD per query is its seconds / 1000
BOOK = load_prices().model_copy(update={"self_hosted_per_hour": 3.6, "models": {}})


def _variant(f1=None, p50=800.0, seconds=0.9, retrieval=True, model="self-hosted") -> VariantResult:
    f1m = MetricInterval(mean=f1[0], low=f1[1], high=f1[2], n=20) if f1 else NONE
    return VariantResult(model=model, retrieval=retrieval, n=20, metrics=QualityMetrics(
        exact_match=NONE, f1=f1m, faithfulness=NONE, citation_correctness=NONE, refusal_precision=NONE,
        refusal_recall=NONE), latency_ms=Latency(p50=p50, p95=p50 * 2, mean=p50), tokens=Tokens(
        prompt_mean=600, completion_mean=40), seconds_per_query=seconds, cost_per_1k_queries=seconds)


def _paired(diff, low, high, p_holm=None, mdd=None) -> Paired:
    c = PairedComparison(diff=diff, low=low, high=high, p_value=0.05, n=20, p_holm=p_holm, mdd=mdd)
    return Paired(f1=c, exact_match=c)


def _write(tmp_path, variants: dict[str, VariantResult], paired: dict[str, Paired], best: str | None = None,
           vs_best: dict[str, Paired] | None = None, tuned_models: dict[str, str] | None = None,
           best_tuned: str | None = None, vs_tuned: dict[str, Paired] | None = None):
    results = BakeoffResults(created="2026-11-30T10:00:00Z", questions=QuestionSet(path="q.jsonl", n=24, answerable=20,
                                                                                   unanswerable=4),
                             prices=PricesUsed(as_of="2026-11", self_hosted_per_hour=3.6), variants=variants,
                             paired_vs_rag=paired, best_untrained=best, paired_vs_best_untrained=vs_best or {},
                             tuned_models=tuned_models or {}, best_tuned=best_tuned,
                             paired_vs_best_tuned=vs_tuned or {})
    write_results(results, tmp_path)
    return tmp_path


@pytest.fixture
def full(tmp_path):
    """Two labelled tuned models; fewshot+rag is the strongest untrained variant. raft+rag and plain+rag beat it
    (interval above 0, Holm p under 0.05), raft+rag by more; plain gains most but not after Holm's correction."""
    variants = {"base": _variant((0.10, 0.05, 0.15), 500, 0.5, retrieval=False),
                "fewshot": _variant((0.30, 0.22, 0.36), 600, 1.2, retrieval=False),
                "rag": _variant((0.40, 0.33, 0.47), 1234.4, 0.9),
                "fewshot+rag": _variant((0.48, 0.40, 0.55), 1300, 1.1),
                "raft": _variant((0.45, 0.40, 0.50), 300, 0.3, retrieval=False, model="ft:a"),
                "raft+rag": _variant((0.55, 0.47, 0.62), 850, 0.99, model="ft:a"),
                "plain": _variant((0.56, 0.46, 0.66), 310, 0.31, retrieval=False, model="ft:b"),
                "plain+rag": _variant((0.52, 0.45, 0.60), 900, 1.0, model="ft:b")}
    paired = {"base": _paired(-0.3, -0.4, 0.01), "fewshot": _paired(-0.1, -0.18, 0.02),
              "fewshot+rag": _paired(0.08, 0.03, 0.13, 0.01), "raft": _paired(0.05, 0.01, 0.09, 0.04),
              "raft+rag": _paired(0.15, 0.08, 0.22, 0.001), "plain": _paired(0.16, 0.02, 0.3, 0.3),
              "plain+rag": _paired(0.12, 0.05, 0.19, 0.002)}
    vs_best = {"base": _paired(-0.38, -0.48, -0.28, 0.001, 0.1), "fewshot": _paired(-0.18, -0.26, 0.01, 0.2, 0.12),
               "rag": _paired(-0.08, -0.13, -0.03, 0.06, 0.07), "raft": _paired(-0.03, -0.08, 0.02, 1.0, 0.09),
               "raft+rag": _paired(0.07, 0.01, 0.13, 0.049, 0.06), "plain": _paired(0.08, 0.02, 0.14, 0.3, 0.11),
               "plain+rag": _paired(0.04, 0.01, 0.07, 0.01, 0.05)}
    return _write(tmp_path, variants, paired, "fewshot+rag", vs_best, {"raft": "ft:a", "plain": "ft:b"})


def test_facts_and_words_of_a_full_bakeoff(full):
    ev = read_evidence(full, BOOK, 1e9)
    assert ev.approaches == {"fewshot": "fewshot", "rag": "rag", "ft": "raft", "ft+rag": "raft+rag"}
    assert ev.per_query == pytest.approx({"fewshot": 0.0012, "rag": 0.0009, "ft": 0.0003, "ft+rag": 0.00099})
    assert ev.facts == {"bakeoff": True, "best_untrained": "fewshot+rag", "tuned_vs_best": "better",
                        "ft_vs_best": "unclear", "ftrag_vs_best": "better", "fewshot_vs_best": "unclear",
                        "rag_vs_best": "unclear", "fewshot_measured": True, "ft_cheaper": True, "ft_faster": True,
                        "unclear": True, "above_break_even": True, "tuned_rival": MISSING}
    detect = ", smallest difference this run could detect"
    assert ev.texts == {
        "rag_per_1k": "$0.9000", "rag_p50": "1,234 ms",
        "unclear_list": f"fewshot vs fewshot+rag (F1 -0.18 [-0.26, +0.01], Holm p 0.200{detect} 0.12), "
                        f"rag vs fewshot+rag (F1 -0.08 [-0.13, -0.03], Holm p 0.060{detect} 0.07), "
                        f"raft vs fewshot+rag (F1 -0.03 [-0.08, +0.02], Holm p 1.000{detect} 0.09), "
                        f"plain vs fewshot+rag (F1 +0.08 [+0.02, +0.14], Holm p 0.300{detect} 0.11)",
        "best_untrained": "fewshot+rag", "best_f1": "0.48 [0.40, 0.55]",
        "best_what": "the worked-examples prompt with retrieval: each example a question, its retrieved passages and "
                     "a short cited answer, before the grounded prompt",
        "ft_vs_best": f"-0.03 [-0.08, +0.02], Holm p 1.000{detect} 0.09",
        "ftrag_vs_best": f"+0.07 [+0.01, +0.13], Holm p 0.049{detect} 0.06",
        "rag_vs_best": f"-0.08 [-0.13, -0.03], Holm p 0.060{detect} 0.07",
        "fewshot_vs_best": f"-0.18 [-0.26, +0.01], Holm p 0.200{detect} 0.12",
        "tuned": "raft+rag", "tuned_model": "ft:a", "tuned_vs_best": f"+0.07 [+0.01, +0.13], Holm p 0.049{detect} 0.06",
        "tuned_apart": "raft+rag is measurably better than fewshot+rag",
        "ft_p50": "300 ms", "ft_per_1k": "$0.3000", "break_even": ev.break_even.threshold_text(),
        # plain+rag beats fewshot+rag too, but these results pair no tuned variants with each other
        "rivals": "plain+rag (ft:b, F1 0.52 [0.45, 0.60]) against raft+rag: not paired in this bake-off"}
    assert (ev.source, ev.created, ev.questions) == (str(full), "2026-11-30T10:00:00Z", 24)
    assert ev.results.variants["raft"].latency_ms.p50 == 300
    assert ev.results.tuned_models == {"raft": "ft:a", "plain": "ft:b"}


def _vs(results_dir, **vs_best):
    """The full bake-off with some comparisons against the strongest untrained variant replaced."""
    from ragtune.bakeoff.results import read_results

    r = read_results(results_dir)
    write_results(r.model_copy(update={"paired_vs_best_untrained": {**r.paired_vs_best_untrained, **vs_best}}),
                  results_dir)
    return results_dir


def test_without_a_tuned_model_that_beats_the_strongest_untrained_the_largest_gain_is_weighed(full):
    # raft+rag and plain+rag no longer survive Holm's correction: plain (+0.08) is the largest gain
    _vs(full, **{"raft+rag": _paired(0.07, 0.01, 0.13, 0.05), "plain+rag": _paired(0.04, 0.01, 0.07, None)})
    # plain+rag has no Holm p recorded: its interval alone counts, so it beats
    ev = read_evidence(full, BOOK, 1000)
    assert ev.texts["tuned"] == "plain+rag" and ev.facts["tuned_vs_best"] == "better"
    assert ev.approaches == {"fewshot": "fewshot", "rag": "rag", "ft": "plain", "ft+rag": "plain+rag"}
    _vs(full, **{"plain+rag": _paired(0.04, 0.0, 0.07, 0.01)})  # an interval touching 0 does not beat
    ev = read_evidence(full, BOOK, 1000)
    assert ev.texts["tuned"] == "plain" and ev.facts["tuned_vs_best"] == "unclear"
    assert ev.facts["ft_vs_best"] == "unclear" and ev.facts["ftrag_vs_best"] == "unclear"
    assert ev.texts["tuned_apart"] == ("the run cannot tell plain from fewshot+rag: with these 20 questions it could "
                                       "detect an F1 difference of about 0.11 (80% power), so a smaller one would go "
                                       "unseen")
    assert ev.per_query["ft"] == pytest.approx(0.00031) and ev.texts["ft_p50"] == "310 ms"


def test_tuned_models_measurably_worse_than_the_strongest_untrained(full):
    worse = {n: _paired(-0.2, -0.3, -0.1, 0.01, None) for n in ("raft", "raft+rag", "plain", "plain+rag")}
    worse["plain"] = _paired(-0.1, -0.2, -0.01, 0.02, None)  # the least bad: weighed
    ev = read_evidence(_vs(full, **worse), BOOK, 1000)
    assert ev.texts["tuned"] == "plain" and ev.facts["tuned_vs_best"] == "worse"
    assert ev.facts["ft_vs_best"] == "worse" and ev.facts["ftrag_vs_best"] == "worse"
    assert ev.texts["tuned_apart"] == "plain is measurably worse than fewshot+rag"
    assert ev.texts["tuned_vs_best"] == "-0.10 [-0.20, -0.01], Holm p 0.020"  # no detectable difference recorded


def test_a_tuned_variant_without_a_comparison_ranks_below_one_that_beats(full):
    # plain's comparison has no questions in common (diff None): ranked by its F1 (0.56), never above a winner
    ev = read_evidence(_vs(full, plain=_paired(None, None, None)), BOOK, 1000)
    assert ev.texts["tuned"] == "raft+rag"
    _vs(full, **{n: _paired(None, None, None) for n in ("raft", "raft+rag", "plain+rag")})
    _vs(full, plain=_paired(0.01, -0.1, 0.12, 1.0))
    assert read_evidence(full, BOOK, 1000).texts["tuned"] == "plain"  # the only one with a comparison: +0.01


def test_results_before_the_strongest_untrained_comparison(tmp_path):
    """best_untrained None: nothing is claimed against it; the run's unclear list is against RAG; the tuned model
    weighed is the one of highest mean F1 (an unmeasured F1 counts as 0)."""
    variants = {"rag": _variant((0.40, 0.33, 0.47), 800, 0.9), "ft": _variant((0.42, 0.30, 0.50), 700, 0.5,
                                                                            retrieval=False),
                "ft+rag": _variant((0.41, 0.35, 0.47), 900, 1.0), "other": _variant(None, 100, 0.1, retrieval=False)}
    paired = {"ft": _paired(0.02, -0.05, 0.09), "ft+rag": _paired(0.01, 0.002, 0.02)}
    ev = read_evidence(_write(tmp_path, variants, paired), BOOK, 1000)
    assert ev.texts["unclear_list"] == "ft vs rag (F1 +0.02 [-0.05, +0.09])"
    assert ev.facts == {"bakeoff": True, "best_untrained": MISSING, "tuned_vs_best": MISSING, "ft_vs_best": MISSING,
                        "ftrag_vs_best": MISSING, "fewshot_vs_best": MISSING, "rag_vs_best": MISSING,
                        "fewshot_measured": False, "ft_cheaper": True, "ft_faster": True, "unclear": True,
                        "above_break_even": ev.facts["above_break_even"], "tuned_rival": "none"}
    assert ev.approaches == {"rag": "rag", "ft": "ft", "ft+rag": "ft+rag"}
    assert "best_untrained" not in ev.texts and "tuned" not in ev.texts
    assert strongest_tuned(ev.results) == "ft"


def test_the_strongest_untrained_variant_compares_as_same(tmp_path):
    variants = {"fewshot": _variant((0.5, 0.4, 0.6), retrieval=False), "rag": _variant((0.4, 0.3, 0.5))}
    ev = read_evidence(_write(tmp_path, variants, {}, "fewshot", {"rag": _paired(-0.1, -0.2, 0.0, 0.5)}), BOOK, 1000)
    assert ev.facts["fewshot_vs_best"] == "same" and ev.facts["rag_vs_best"] == "unclear"
    assert ev.texts["best_what"] == ("worked examples (a question and its short answer) before the question, "
                                     "without retrieval")
    ev = read_evidence(_write(tmp_path, variants, {}, "rag", {"fewshot": _paired(0.1, 0.0, 0.2, 0.5)}), BOOK, 1000)
    assert ev.facts["rag_vs_best"] == "same" and ev.facts["fewshot_vs_best"] == "unclear"
    assert ev.facts["tuned_vs_best"] == MISSING and "tuned" not in ev.texts and ev.facts["fewshot_measured"]
    only = {"fewshot+rag": _variant((0.5, 0.4, 0.6)), "rag": _variant((0.4, 0.3, 0.5))}
    assert read_evidence(_write(tmp_path, only, {}, "rag", {}), BOOK, 1000).facts["fewshot_measured"]


@pytest.mark.parametrize("d, verdict", [((0.1, 0.01, 0.2, 0.049), "better"), ((0.1, 0.01, 0.2, 0.05), "unclear"),
                                        ((0.1, 0.01, 0.2, None), "better"), ((-0.1, -0.2, -0.01, 0.01), "worse"),
                                        ((0.1, 0.0, 0.2, 0.01), "unclear"), ((-0.1, -0.2, 0.0, 0.01), "unclear"),
                                        ((None, None, None, None), MISSING)])
def test_beats_verdict(d, verdict):
    c = PairedComparison(diff=d[0], low=d[1], high=d[2], p_value=0.01, n=20, p_holm=d[3])
    assert beats_verdict(c) == verdict and beats_verdict(None) == MISSING


def test_comparison_and_apart_words():
    c = PairedComparison(diff=0.02, low=-0.03, high=0.07, p_value=0.5, n=20, p_holm=0.9, mdd=0.123)
    assert comparison_text(c) == "+0.02 [-0.03, +0.07], Holm p 0.900, smallest difference this run could detect 0.12"
    assert comparison_text(c.model_copy(update={"p_holm": None, "mdd": None})) == "+0.02 [-0.03, +0.07]"
    assert comparison_text(None) == "not measured"
    assert comparison_text(c.model_copy(update={"diff": None})) == "not measured"
    assert apart_text(c, "raft", "rag", 30) == ("the run cannot tell raft from rag: with these 30 questions it could "
                                                "detect an F1 difference of about 0.12 (80% power), so a smaller one "
                                                "would go unseen")
    assert apart_text(c.model_copy(update={"mdd": None}), "raft", "rag", 30) == "the run cannot tell raft from rag"
    assert apart_text(None, "raft", "rag", 30) == "not measured"
    assert apart_text(c.model_copy(update={"diff": None}), "raft", "rag", 30) == "not measured"


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
    assert d["facts"]["ftrag_vs_best"] == "better" and d["texts"]["rag_p50"] == "1,234 ms"
    assert d["per_query"]["ft"] == pytest.approx(0.0003) and d["approaches"]["ft"] == "raft"


def test_ties_are_not_cheaper_or_faster(tmp_path):
    variants = {"rag": _variant((0.40, 0.33, 0.47), 800, 0.9), "ft": _variant((0.40, 0.30, 0.47), 800, 0.9)}
    ev = read_evidence(_write(tmp_path, variants, {"ft": _paired(0.0, -0.05, 0.05)}), BOOK, 1000)
    assert ev.facts["ft_cheaper"] is False and ev.facts["ft_faster"] is False
    assert ev.facts["unclear"] is True and ev.texts["unclear_list"] == "ft vs rag (F1 +0.00 [-0.05, +0.05])"
    # dearer and slower by a little: still not
    variants["ft"] = _variant((0.40, 0.30, 0.47), 801, 0.901)
    ev = read_evidence(_write(tmp_path, variants, {}), BOOK, 1000)
    assert ev.facts["ft_cheaper"] is False and ev.facts["ft_faster"] is False and ev.facts["unclear"] is False
    # cheaper and faster by a little: both
    variants["ft"] = _variant((0.40, 0.30, 0.47), 799, 0.899)
    ev = read_evidence(_write(tmp_path, variants, {}), BOOK, 1000)
    assert ev.facts["ft_cheaper"] is True and ev.facts["ft_faster"] is True


def test_without_a_tuned_variant_its_facts_are_missing(tmp_path):
    variants = {"base": _variant((0.1, 0.05, 0.15)), "rag": _variant((0.40, 0.33, 0.47), 800, 0.9)}
    ev = read_evidence(_write(tmp_path, variants, {"base": _paired(-0.3, -0.4, 0.01)}, "rag",
                              {"base": _paired(-0.3, -0.4, 0.01)}), BOOK, 1000)
    assert ev.facts == {"bakeoff": True, "best_untrained": "rag", "tuned_vs_best": MISSING, "ft_vs_best": MISSING,
                        "ftrag_vs_best": MISSING, "fewshot_vs_best": MISSING, "rag_vs_best": "same",
                        "fewshot_measured": False, "ft_cheaper": MISSING, "ft_faster": MISSING, "unclear": True,
                        "above_break_even": MISSING, "tuned_rival": "none"}
    assert ev.break_even is None and ev.to_dict()["break_even"] is None
    assert "ft_p50" not in ev.texts and "break_even" not in ev.texts and "tuned" not in ev.texts
    assert ev.texts["ft_vs_best"] == "not measured" and ev.texts["best_f1"] == "0.40 [0.33, 0.47]"
    assert ev.per_query == pytest.approx({"rag": 0.0009})  # base is not an approach to price
    assert strongest_tuned(ev.results) is None


def test_a_bakeoff_without_rag_is_refused(tmp_path):
    folder = _write(tmp_path, {"ft": _variant((0.4, 0.3, 0.5))}, {})
    with pytest.raises(RagtuneError, match=r"results\.json: the bake-off has no 'rag' variant, the baseline every "
                                           r"comparison needs$"):
        read_evidence(folder, BOOK, 1000)


def test_words_for_unmeasured_values():
    assert score(None) == "not measured" and score(NONE) == "not measured"
    assert score(MetricInterval(mean=0.5, low=0.25, high=0.75, n=4)) == "0.50 [0.25, 0.75]"


def _tuned(results_dir, best_tuned: str, **vs_tuned):
    """The full bake-off with its tuned variants paired with ``best_tuned``."""
    from ragtune.bakeoff.results import read_results

    r = read_results(results_dir)
    write_results(r.model_copy(update={"best_tuned": best_tuned, "paired_vs_best_tuned": vs_tuned}), results_dir)
    return results_dir


def test_the_weighed_tuned_model_against_a_rival_the_run_cannot_tell_from_it(full):
    # raft+rag (+0.07 over fewshot+rag) is weighed over plain+rag (+0.04), which also beats fewshot+rag; paired
    # with each other, plain+rag against raft+rag spans 0
    ev = read_evidence(_tuned(full, "raft+rag", raft=_paired(-0.1, -0.2, -0.05, 0.01), plain=_paired(0.01, -0.1, 0.12, 1.0),
                              **{"plain+rag": _paired(-0.03, -0.08, 0.02, 0.5, 0.06)}), BOOK, 1000)
    assert ev.texts["tuned"] == "raft+rag" and ev.facts["tuned_rival"] == "unclear"
    assert ev.texts["rivals"] == ("plain+rag (ft:b, F1 0.52 [0.45, 0.60]) against raft+rag: F1 difference "
                                  "-0.03 [-0.08, +0.02], Holm p 0.500, smallest difference this run could detect 0.06")
    detect = ", smallest difference this run could detect"
    assert ev.tuned == [
        TunedStanding("raft", "ft:a", "0.45 [0.40, 0.50]", "unclear", f"-0.03 [-0.08, +0.02], Holm p 1.000{detect} 0.09",
                      "worse", "-0.10 [-0.20, -0.05], Holm p 0.010"),
        TunedStanding("raft+rag", "ft:a", "0.55 [0.47, 0.62]", "better", f"+0.07 [+0.01, +0.13], Holm p 0.049{detect} 0.06",
                      "same", "(itself)"),
        TunedStanding("plain", "ft:b", "0.56 [0.46, 0.66]", "unclear", f"+0.08 [+0.02, +0.14], Holm p 0.300{detect} 0.11",
                      "unclear", "+0.01 [-0.10, +0.12], Holm p 1.000"),
        TunedStanding("plain+rag", "ft:b", "0.52 [0.45, 0.60]", "better", f"+0.04 [+0.01, +0.07], Holm p 0.010{detect} 0.05",
                      "unclear", f"-0.03 [-0.08, +0.02], Holm p 0.500{detect} 0.06")]
    row = ev.tuned[3]
    assert ev.to_dict()["tuned"][3] == {"variant": "plain+rag", "model": "ft:b", "f1": "0.52 [0.45, 0.60]",
                                        "vs_best_untrained": "better", "vs_best_untrained_text": row.vs_best_untrained_text,
                                        "vs_weighed": "unclear", "vs_weighed_text": row.vs_weighed_text}
    # plain beats fewshot+rag too (by less than raft+rag): two rivals the run cannot tell from raft+rag
    ev = read_evidence(_vs(full, plain=_paired(0.06, 0.02, 0.10, 0.01)), BOOK, 1000)
    assert ev.texts["tuned"] == "raft+rag" and ev.facts["tuned_rival"] == "unclear"
    assert ev.texts["rivals"] == ("plain (ft:b, F1 0.56 [0.46, 0.66]) against raft+rag: F1 difference +0.01 [-0.10, "
                                  "+0.12], Holm p 1.000; plain+rag (ft:b, F1 0.52 [0.45, 0.60]) against raft+rag: F1 "
                                  "difference -0.03 [-0.08, +0.02], Holm p 0.500, smallest difference this run could "
                                  "detect 0.06")
    # measurably worse than the weighed one: no rival left (plain, unclear against it, did not beat fewshot+rag)
    _vs(full, plain=_paired(0.08, 0.02, 0.14, 0.3))
    ev = read_evidence(_tuned(full, "raft+rag", **{"plain+rag": _paired(-0.03, -0.05, -0.01, 0.04)}), BOOK, 1000)
    assert ev.facts["tuned_rival"] == "none" and ev.texts["rivals"] == ""
    assert [t.vs_weighed for t in ev.tuned] == [MISSING, "same", MISSING, "worse"]


def test_a_pair_is_read_either_way_round(full):
    # the bake-off paired raft+rag with plain+rag (the strongest tuned one there): read from raft+rag's side,
    # the difference and its interval change sign
    r = read_evidence(_tuned(full, "plain+rag", **{"raft+rag": _paired(0.03, -0.02, 0.08, 0.5)}), BOOK, 1000).results
    assert between_tuned(r, "raft+rag", "plain+rag").text() == "+0.03 [-0.02, +0.08]"
    turned = between_tuned(r, "plain+rag", "raft+rag")
    assert (turned.diff, turned.low, turned.high, turned.p_holm) == (-0.03, -0.08, 0.02, 0.5)
    assert between_tuned(r, "raft", "plain+rag") is None and between_tuned(r, "raft", "raft+rag") is None
    assert between_tuned(r, "plain+rag", "raft") is None  # the strongest, but raft was not paired with it
    r = read_evidence(_tuned(full, "plain+rag", **{"raft+rag": _paired(None, None, None)}), BOOK, 1000).results
    assert between_tuned(r, "plain+rag", "raft+rag") is None and between_tuned(r, "raft+rag", "plain+rag").diff is None
    ev = read_evidence(full, BOOK, 1000)
    assert ev.facts["tuned_rival"] == MISSING  # before schema version 2: plain+rag beats too, unpaired


def test_rival_fact_prefers_unclear_to_missing():
    def standing(verdict):
        return TunedStanding("x", "ft:x", "0.5", "better", "", verdict, "")
    assert rival_fact([]) == "none" and rival_fact([standing("better")]) == "none"
    assert rival_fact([standing(MISSING), standing("unclear")]) == "unclear"
    assert rival_fact([standing("better"), standing(MISSING)]) == MISSING


def test_what_to_ship(full, tmp_path):
    ev = read_evidence(full, BOOK, 1000)
    assert to_ship(ev, "ft+rag") == Ship("raft+rag", "ft:a", "the tuned model raft with retrieval, F1 0.55 [0.47, 0.62]")
    assert to_ship(ev, "ft") == Ship("raft", "ft:a", "the tuned model raft without retrieval, F1 0.45 [0.40, 0.50]")
    assert to_ship(ev, "fewshot+rag") == Ship(
        "fewshot+rag", "self-hosted", "the worked-examples prompt with retrieval: each example a question, its "
        "retrieved passages and a short cited answer, before the grounded prompt; no training, F1 0.48 [0.40, 0.55]")
    assert to_ship(ev, "rag").text() == ("`rag`, model `self-hosted`: the grounded prompt over retrieved passages, "
                                         "answering with citations; no training, F1 0.40 [0.33, 0.47]")
    assert to_ship(None, "ft") is None
    only = {"rag": _variant((0.4, 0.3, 0.5)), "tuned": _variant((0.5, 0.4, 0.6), retrieval=False, model="ft:t")}
    ev = read_evidence(_write(tmp_path, only, {}, "rag", {"tuned": _paired(0.1, 0.05, 0.15, 0.01)}), BOOK, 1000)
    assert to_ship(ev, "fewshot") == Ship(None, None, "fewshot: not measured in this bake-off")
    assert to_ship(ev, "fewshot").text() == "fewshot: not measured in this bake-off"
    assert to_ship(ev, "ft+rag") == Ship(None, "ft:t", "the tuned model of tuned (ft:t) with retrieval, a form this "
                                                       "bake-off did not measure")
    ev = read_evidence(_write(tmp_path, {"rag": _variant((0.4, 0.3, 0.5))}, {}, "rag"), BOOK, 1000)
    assert to_ship(ev, "ft") == Ship(None, None, "no tuned model was measured: tune one and re-run the bake-off "
                                                 "with --ft-model")
