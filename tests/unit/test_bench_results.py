"""Each recorded mini-wiki bake-off (bench/results/bakeoff_miniwiki.json: a run per model and label) is read
through the typed results, its reported numbers follow from the per-question scores recorded beside it (means,
the strongest untrained variant, paired differences and their intervals, detectable differences, Holm's
adjustment), and its README table still renders from it; a result of another schema version is refused by
name."""

import importlib.util
import json
import math
from pathlib import Path
from statistics import NormalDist, mean, stdev

import pytest

from ragtune.bakeoff.results import BakeoffResults, PairedComparison, parse_results
from ragtune.errors import RagtuneError

BENCH = Path(__file__).resolve().parents[2] / "bench"
UNTRAINED = ("base", "fewshot", "rag", "fewshot+rag")
RUNS = json.loads((BENCH / "results" / "bakeoff_miniwiki.json").read_text())["runs"]


def _bench_report():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=RUNS, ids=[f"{r['model']}{'-' + r['label'] if r.get('label') else ''}" for r in RUNS])
def recorded(request) -> tuple[dict, BakeoffResults, dict[str, dict[str, dict[str, float]]]]:
    run = request.param
    return run["bakeoff"], parse_results(run["bakeoff"], "bakeoff_miniwiki.json"), run["per_question"]


def test_the_recorded_bakeoff_reads_through_the_models_and_the_readme_is_current(recorded):
    raw, results, _ = recorded
    assert results.schema_version == 2
    assert list(results.variants)[:4] == list(UNTRAINED)  # every untrained variant, then the tuned ones
    tuned = list(results.variants)[4:]
    assert {t.removesuffix("+rag") for t in tuned} == set(results.tuned_models)
    assert results.to_dict() == raw  # nothing lost or renamed in a round trip
    readme = (BENCH / "README.md").read_text(encoding="utf-8")
    assert _bench_report().render(readme) == readme


def test_each_variants_means_are_those_of_its_per_question_scores(recorded):
    _, results, scores = recorded
    assert set(scores) == set(results.variants)
    for name, v in results.variants.items():
        for metric in ("f1", "exact_match"):
            got = getattr(v.metrics, metric)
            values = list(scores[name][metric].values())
            assert got.n == len(values) and got.mean == pytest.approx(mean(values), abs=1e-12), (name, metric)
            assert got.low <= got.mean <= got.high


def test_the_strongest_untrained_variant_is_the_untrained_one_with_the_highest_mean_f1(recorded):
    _, results, scores = recorded
    means = {n: mean(scores[n]["f1"].values()) for n in UNTRAINED}
    assert results.best_untrained == max(means, key=means.get)
    assert set(results.paired_vs_best_untrained) == set(results.variants) - {results.best_untrained}
    assert set(results.paired_vs_rag) == set(results.variants) - {"rag"}


def test_the_strongest_tuned_variant_is_the_tuned_one_with_the_highest_mean_f1(recorded):
    _, results, scores = recorded
    tuned = [n for n in results.variants if n not in UNTRAINED]
    means = {n: mean(scores[n]["f1"].values()) for n in tuned}
    assert results.best_tuned == (max(means, key=means.get) if tuned else None)  # a run that tuned nothing: none
    assert set(results.paired_vs_best_tuned) == set(tuned) - {results.best_tuned}


def test_a_version_1_result_reads_without_the_comparisons_between_tuned_variants(recorded):
    raw, _, _ = recorded
    older = {k: v for k, v in raw.items() if k not in ("best_tuned", "paired_vs_best_tuned")}
    results = parse_results({**older, "schema": "ragtune.bakeoff/1"}, "v1.json")
    assert results.schema_version == 1 and results.best_tuned is None and results.paired_vs_best_tuned == {}
    assert results.paired_vs_best_untrained == parse_results(raw, "v2.json").paired_vs_best_untrained


def _groups(results: BakeoffResults) -> list[tuple[str | None, dict]]:
    """Every (baseline, comparisons against it) the run made: RAG, the strongest untrained and tuned variants."""
    return [("rag", results.paired_vs_rag), (results.best_untrained, results.paired_vs_best_untrained),
            (results.best_tuned, results.paired_vs_best_tuned)]


def _check_paired(got: PairedComparison, variant: dict[str, float], baseline: dict[str, float]) -> None:
    common = [q for q in variant if q in baseline]
    diffs = [variant[q] - baseline[q] for q in common]
    assert got.n == len(common) and got.diff == pytest.approx(mean(diffs), abs=1e-12)
    assert got.low <= got.diff <= got.high and 0 < got.p_value <= 1
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)  # 80% power, two-sided alpha 0.05, paired
    assert got.mdd == pytest.approx(z * stdev(diffs) / math.sqrt(len(diffs)), rel=1e-9)


def test_every_comparison_is_the_paired_difference_of_the_per_question_scores(recorded):
    _, results, scores = recorded
    for baseline, group in _groups(results):
        for name, paired in group.items():
            for metric in ("f1", "exact_match"):
                _check_paired(getattr(paired, metric), scores[name][metric], scores[baseline][metric])


def test_the_holm_adjustment_runs_over_the_distinct_comparisons_of_the_run(recorded):
    _, results, _ = recorded
    tests: dict[tuple[frozenset[str], str], PairedComparison] = {}
    for baseline, group in _groups(results):
        for name, paired in group.items():
            for metric in ("f1", "exact_match"):
                c = getattr(paired, metric)
                same = tests.setdefault((frozenset((name, baseline)), metric), c)
                assert (same.p_value, same.p_holm) == (c.p_value, c.p_holm)  # mirrored: one test, adjusted once
    ranked = sorted(tests.values(), key=lambda c: c.p_value)
    m, running = len(ranked), 0.0
    for i, c in enumerate(ranked):  # step-down: the i-th smallest p times (m - i), monotone, capped at 1
        running = max(running, min(1.0, (m - i) * c.p_value))
        assert c.p_holm == pytest.approx(running, abs=1e-12)


def test_a_result_of_another_version_is_refused_by_name():
    payload = json.loads((BENCH / "results" / "bakeoff_miniwiki.json").read_text())
    newer = {**payload["runs"][0]["bakeoff"], "schema": "ragtune.bakeoff/3"}
    with pytest.raises(RagtuneError, match=r"^x.json: bake-off results of schema version 3; this ragtune reads "
                                           r"versions 1, 2 \(ragtune.bakeoff/2\)"):
        parse_results(newer, "x.json")
    with pytest.raises(RagtuneError, match=r"^x.json: not a bake-off result"):
        parse_results(payload, "x.json")  # the benchmark's wrapper, not a bake-off result


def _tau_b(x: list[float], y: list[float]) -> float | None:
    """Kendall's tau-b by its definition: (concordant - discordant) over the pairs not tied in each ranking;
    undefined (None) when either ranking ties everything."""
    pairs = [(i, j) for i in range(len(x)) for j in range(i + 1, len(x))]
    signs = [((x[i] > x[j]) - (x[i] < x[j]), (y[i] > y[j]) - (y[i] < y[j])) for i, j in pairs]
    untied = sum(a != 0 for a, _ in signs) * sum(b != 0 for _, b in signs)
    return sum(a * b for a, b in signs) / math.sqrt(untied) if untied else None


def test_the_judged_sample_ranks_and_counts_as_its_variants_scores_say():
    run = next(r for r in RUNS if r.get("judged"))  # the run whose answers the LLM judge graded
    judged = parse_results(run["judged"]["bakeoff"], "judged")
    assert judged.questions.n == judged.questions.answerable == run["judged"]["questions"]
    assert set(judged.variants) == set(run["per_question"])  # every variant, on the same questions
    f1 = {n: v.metrics.f1.mean for n, v in judged.variants.items()}
    verdict = {n: v.metrics.judge_correct.mean for n, v in judged.variants.items()}
    ranking, sanity = judged.judge.ranking, judged.judge.sanity
    assert ranking.by_f1 == sorted(f1, key=lambda n: -f1[n]) and ranking.by_judge == sorted(verdict, key=lambda n: -verdict[n])
    names = list(f1)
    tau = _tau_b([f1[n] for n in names], [verdict[n] for n in names])
    assert ranking.kendall_tau == (None if tau is None else pytest.approx(tau))
    assert ranking.disagreements == [(a, b) for i, a in enumerate(ranking.by_f1) for b in ranking.by_f1[i + 1:]
                                     if f1[a] > f1[b] and verdict[a] < verdict[b]]
    # every answer to every sampled question was judged once per variant (the judge grades answerable ones only)
    assert sanity.judged == sum(v.n for v in judged.variants.values()) == len(names) * judged.questions.n
    assert sanity.exact.agree <= sanity.exact.n and sanity.empty.agree <= sanity.empty.n


def test_the_judged_sample_shows_the_unrelated_answers_check_and_warns_on_a_lenient_judge():
    judged = next(r for r in RUNS if r.get("judged"))["judged"]
    table = _bench_report()._module("bakeoff_miniwiki").judged_table
    sanity = judged["bakeoff"]["judge"]["sanity"]
    recorded = sanity.pop("unrelated")  # a run recorded before the check renders as it was
    empty = f"judged not correct {sanity['empty']['agree']}/{sanity['empty']['n']}"
    assert f"{empty}. By F1:" in table(judged) and "sharing no word" not in table(judged)
    # 75% warns, 80% does not; the recorded judge (13/70) warns
    for (n, agree), warned in (((20, 15), True), ((20, 16), False), ((recorded["n"], recorded["agree"]), True)):
        sanity["unrelated"] = {"n": n, "agree": agree}
        text = table(judged)
        assert (f"{empty}; answers sharing no word with the reference judged not correct "
                f"{agree}/{n} (nearly all should be).") in text
        assert ("The judge passes answers that share no word with the reference: its verdicts should not be used "
                "to rank the variants. By F1:" in text) is warned
        assert ("should be). By F1:" in text) is not warned
