"""Measurements folded into the decision: each evidence row, the verdicts, and the decide CLI. The bake-off
results are produced by running the bake-off on the fakes (bakeoff_fixture.py says which outcome each
scripted flavour makes)."""

import json

import pytest
from typer.testing import CliRunner

from bakeoff_fixture import FT_MODEL, token_prices
from conftest import run_main
from ragtune.bakeoff.results import (Latency, MetricInterval, PairedComparison, QualityMetrics, Tokens,
                                     VariantResult, read_results, write_results)
from ragtune.cli.app import app
from ragtune.cost.prices import load_prices
from ragtune.decide.engine import decide
from ragtune.decide.evidence import paired_verdict, read_evidence, unpaired_verdict, variant_per_query
from ragtune.decide.rules import load_rules
from test_decide_rules import ans

runner = CliRunner()
BETTER, WORSE, UNCLEAR = "better", "worse", "unclear"
OVERLAP = dict(fewshot="close")  # a few-shot F1 whose interval overlaps a better tuned model's
NOT_CHEAPER = token_prices(ft_per_m=4.0)  # the tuned model priced 10x per token: dearer than RAG per query


def decided(bakeoff_results, answers: dict, book=None, **flavour):
    a = ans(**answers)
    ev = read_evidence(bakeoff_results(**flavour), book or token_prices(), a.queries_per_month)
    return decide(a, ev)


# (evidence row, answers, flavour of the bake-off, price book, rules' answer, final answer)
CASES = [
    ("ft-measured-worse", dict(behaviour_problem=True), dict(ft=WORSE), None, "ft", "rag"),
    ("ftrag-measured-worse", dict(needs_both=True), dict(ftrag=WORSE), None, "ft+rag", "rag"),
    ("fewshot-not-beaten", dict(behaviour_problem=True), dict(ft=BETTER, **OVERLAP), None, "ft", "fewshot"),
    ("scale-not-cheaper", dict(latency_or_cost_pressure=True, queries_per_month=600_000), {}, NOT_CHEAPER,
     "ft", "rag"),
    ("scale-below-break-even", dict(latency_or_cost_pressure=True, queries_per_month=600_000), {}, None, "ft", "rag"),
    ("ftrag-measured-better", {}, dict(ftrag=BETTER), None, "rag", "ft+rag"),
    ("ft-measured-better", {}, dict(ft=BETTER, ftrag=UNCLEAR), None, "rag", "ft"),
    ("tuned-better-but-rules-hold", dict(knowledge_changes_weekly=True), dict(ft=BETTER), None, "rag", "rag"),
    ("ftrag-better-but-iterating", dict(still_iterating=True), dict(ft=UNCLEAR, ftrag=BETTER), None, "rag", "rag"),
    ("cost-favours-tuning", dict(queries_per_month=10**9), dict(ft=UNCLEAR), None, "rag", "ft"),
    ("fewshot-beaten-stable", dict(behaviour_problem=True, labelled_examples=30), {}, None, "fewshot", "ft"),
    ("fewshot-beaten-iterating", dict(behaviour_problem=True, still_iterating=True), {}, None, "fewshot", "fewshot"),
    ("scale-confirmed", dict(latency_or_cost_pressure=True, queries_per_month=10**9), {}, None, "ft", "ft"),
    ("ft-gain-unproven", dict(behaviour_problem=True), dict(ft=UNCLEAR), None, "ft", "ft"),
    ("ftrag-gain-unproven", dict(needs_both=True), dict(ftrag=UNCLEAR), None, "ft+rag", "ft+rag"),
]


@pytest.mark.parametrize("row,answers,flavour,book,rules_said,final", CASES, ids=[c[0] for c in CASES])
def test_each_evidence_row(bakeoff_results, row, answers, flavour, book, rules_said, final):
    d = decided(bakeoff_results, answers, book, **flavour)
    assert (d.evidence_rule, d.rules_recommendation, d.recommendation) == (row, rules_said, final)
    assert d.overridden == (rules_said != final)
    assert "not measured" not in d.evidence_because  # every number the explanation names was measured


def test_cases_cover_every_evidence_row():
    assert {c[0] for c in CASES} == {e.id for e in load_rules().evidence}


def test_the_produced_measurements_are_the_scripted_ones(bakeoff_results):
    """Hand-computed from bakeoff_fixture's scripts: what every decision above rests on."""
    r = read_results(bakeoff_results(ft=WORSE, ftrag=BETTER))
    assert r.variants["rag"].metrics.f1.mean == pytest.approx(0.5)
    assert r.variants["ft"].metrics.f1.mean == pytest.approx(0.2)
    assert r.paired_vs_rag["ft"].f1.diff == pytest.approx(-0.3)  # ft loses 6 of rag's 10 right answers of 20
    assert r.paired_vs_rag["ft+rag"].f1.diff == pytest.approx(0.3)  # ft+rag gets 6 more right
    assert r.paired_vs_rag["ft"].f1.high < 0 < r.paired_vs_rag["ft+rag"].f1.low
    unclear = read_results(bakeoff_results(ft=UNCLEAR)).paired_vs_rag["ft"].f1
    assert unclear.diff == pytest.approx(0.0) and unclear.low < 0 < unclear.high
    assert r.variants["base"].metrics.refusal_recall.mean == 0.0
    assert r.variants["rag"].metrics.refusal_recall.mean == 1.0
    assert r.questions.n == 24 and r.questions.unanswerable == 4


def test_explanations_quote_the_measurements(bakeoff_results):
    d = decided(bakeoff_results, dict(behaviour_problem=True), ft=WORSE)
    paired = d.evidence.results.paired_vs_rag["ft"].f1
    assert paired.text().startswith("-0.30 [") and paired.text() in d.evidence_because
    d = decided(bakeoff_results, dict(latency_or_cost_pressure=True, queries_per_month=600_000))
    be = d.evidence.break_even
    assert be.kind == "above" and be.queries_per_month > 600_000
    assert f"{be.queries_per_month:,.0f} queries/month" in d.evidence_because and "500K" in d.evidence_because


def test_a_slower_tuned_model_is_a_caveat_under_latency_pressure(bakeoff_results, tmp_path):
    scale = dict(latency_or_cost_pressure=True, queries_per_month=10**9)
    d = decided(bakeoff_results, scale)
    assert d.recommendation == "ft" and not any(c.startswith("Latency") for c in d.caveats)  # the fake is fast
    # the fakes cannot be slow deterministically: the same run, with the tuned model's median set above RAG's
    results = read_results(bakeoff_results())
    rag_p50 = results.variants["rag"].latency_ms.p50
    slow = results.variants["ft"].model_copy(update={"latency_ms": Latency(p50=rag_p50 + 100, p95=rag_p50 + 200,
                                                                           mean=rag_p50 + 100)})
    write_results(results.model_copy(update={"variants": {**results.variants, "ft": slow}}), tmp_path)
    d = decide(ans(**scale), read_evidence(tmp_path, token_prices(), 10**9))
    assert d.recommendation == "ft"
    assert any(f"its median is {rag_p50 + 100:,.0f} ms against RAG's {rag_p50:,.0f} ms" in c for c in d.caveats)


def test_no_row_when_measurements_agree(bakeoff_results):
    d = decided(bakeoff_results, dict(needs_citations=True), ft=UNCLEAR, ftrag=UNCLEAR)
    assert d.evidence_rule is None and d.recommendation == "rag"
    assert any("span zero" in m and "ft vs rag" in m for m in d.measure_next)  # too few questions to tell


def test_tuned_recommendation_without_a_tuned_variant_asks_for_one(bakeoff_results):
    d = decided(bakeoff_results, dict(behaviour_problem=True), names=("base", "rag"))
    assert d.recommendation == "ft" and d.evidence_rule is None
    assert d.facts["ft_vs_rag"] == "missing" and d.facts["above_break_even"] == "missing"
    assert any("no tuned variant" in m for m in d.measure_next)


@pytest.mark.parametrize("d,expected", [((0.1, 0.01, 0.2), "better"), ((-0.1, -0.2, -0.01), "worse"),
                                        ((0.1, 0.0, 0.2), "unclear"), ((-0.1, -0.2, 0.0), "unclear"),
                                        (None, "missing"), ((None, None, None), "missing")])
def test_paired_verdict(d, expected):
    paired = PairedComparison(diff=d[0], low=d[1], high=d[2], p_value=0.05, n=20) if d else None
    assert paired_verdict(paired) == expected


def test_unpaired_verdict_needs_intervals_apart():
    m = lambda mean, lo, hi: MetricInterval(mean=mean, low=lo, high=hi, n=20)  # noqa: E731
    assert unpaired_verdict(m(.5, .41, .6), m(.3, .2, .4)) == "better"
    assert unpaired_verdict(m(.3, .2, .4), m(.5, .41, .6)) == "worse"
    assert unpaired_verdict(m(.5, .4, .6), m(.3, .2, .4)) == "unclear"  # touching intervals are not apart
    assert unpaired_verdict(m(.3, .3, .4), m(.5, .2, .6)) == "unclear"  # one inside the other: not apart
    assert unpaired_verdict(m(None, None, None), m(.3, .2, .4)) == "missing"


def variant(model, cost_per_1k=99.0, seconds=0.9, prompt=640.0, completion=35.0) -> VariantResult:
    """A variant's measurements as the bake-off writes them; only what pricing reads matters here."""
    none = MetricInterval(mean=None, low=None, high=None, n=0)
    return VariantResult(model=model, retrieval=True, n=20, metrics=QualityMetrics(
        exact_match=none, f1=none, faithfulness=none, citation_correctness=none, refusal_precision=none,
        refusal_recall=none), latency_ms=Latency(p50=800, p95=900, mean=850),
        tokens=Tokens(prompt_mean=prompt, completion_mean=completion), seconds_per_query=seconds,
        cost_per_1k_queries=cost_per_1k)


def test_measured_cost_is_repriced_with_the_price_book():
    book = load_prices()
    hosted = variant("gpt-4o-mini", prompt=1000, completion=100)
    assert variant_per_query(hosted, book, {}) == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    local = variant("smollm2-135m", seconds=1.8)  # book: $0.10/hour
    assert variant_per_query(local, book, {}) == pytest.approx(1.8 * 0.10 / 3600)
    quoted = variant("vendor-x", 2.5)  # hosted, priced only by the bake-off
    assert variant_per_query(quoted, book, {"vendor-x": {"input_per_m": 1, "output_per_m": 2}}) == 0.0025
    unknown = variant("ft:job-9", seconds=3.6)  # self-hosted, book's default machine
    assert variant_per_query(unknown, book, {}) == pytest.approx(3.6 * book.self_hosted_per_hour / 3600)


def test_a_model_only_the_bakeoff_priced_keeps_the_bakeoffs_cost(bakeoff_results, tmp_path):
    """The bake-off's own price entries (results.prices.models) are what evidence falls back on."""
    results = read_results(bakeoff_results())
    priced = results.prices.model_copy(update={"models": {FT_MODEL: {"input_per_m": 1.0, "output_per_m": 0.0}}})
    write_results(results.model_copy(update={"prices": priced}), tmp_path)
    book = load_prices()
    ev = read_evidence(tmp_path, book, 1000)
    assert ev.per_query["ft"] == pytest.approx(results.variants["ft"].cost_per_1k_queries / 1000)
    rag = results.variants["rag"]  # a model neither priced: the book's default machine for its seconds
    assert ev.per_query["rag"] == pytest.approx(rag.seconds_per_query * book.self_hosted_per_hour / 3600)


def test_bad_bakeoff_folders_are_named(bakeoff_results, tmp_path, monkeypatch, capsys):
    def decide_on(folder):
        return run_main(monkeypatch, capsys, "decide", "--answers", _answers_file(tmp_path), "--bakeoff", folder)

    code, _, err = decide_on(tmp_path)
    assert code == 2 and "results.json" in err and "ragtune bakeoff" in err
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema": "other"}))
    code, _, err = decide_on(tmp_path)
    assert code == 2 and f"{path}: not a bake-off result" in err and "ragtune.bakeoff/1" in err
    good = json.loads((bakeoff_results() / "results.json").read_text())
    path.write_text(json.dumps({**good, "schema": "ragtune.bakeoff/2"}))
    code, _, err = decide_on(tmp_path)
    assert code == 2 and f"{path}: bake-off results of schema version 2; this ragtune reads version 1" in err
    code, _, err = decide_on(bakeoff_results(names=("base", "ft")))
    assert code == 2 and "no 'rag' variant" in err
    del good["variants"]["ft"]["seconds_per_query"]
    path.write_text(json.dumps(good))
    code, _, err = decide_on(tmp_path)
    assert code == 2 and "variants.ft.seconds_per_query: Field required" in err and str(path) in err


def _answers_file(tmp_path, **kw):
    path = tmp_path / "answers.yaml"
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in ans(**kw).model_dump().items()))
    return path


# The decide CLI: flags, an answers file, interactive prompts, --bakeoff.

FLAGS = ["--no-knowledge-changes-weekly", "--no-needs-citations", "--behaviour-problem", "--labelled-examples", "300",
         "--queries-per-month", "20000", "--no-latency-or-cost-pressure", "--no-still-iterating", "--no-needs-both"]


def test_decide_from_flags_json():
    r = runner.invoke(app, ["decide", *FLAGS, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["recommendation"] == "ft" and d["decided_by"] == "behaviour" and d["evidence"] is None
    assert [c["answer"] for c in d["chain"]] == ["no", "no", "yes", "300", "20,000", "no", "no", "no"]


def test_decide_from_a_file_with_flags_overriding_it(tmp_path):
    path = _answers_file(tmp_path, needs_citations=True)
    r = runner.invoke(app, ["decide", "--answers", str(path), "--json"])
    assert json.loads(r.stdout)["recommendation"] == "rag"
    r = runner.invoke(app, ["decide", "--answers", str(path), "--no-needs-citations", "--behaviour-problem", "--json"])
    assert json.loads(r.stdout)["recommendation"] == "ft"


def test_decide_asks_what_was_not_given():
    # knowledge, citations, behaviour, examples (-1 is refused, asked again), volume, pressure, iterating, both
    r = runner.invoke(app, ["decide", "--json"], input="n\nn\ny\n-1\n20\n1000\nn\nn\nn\n")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)  # prompts went to stderr: stdout is only the JSON
    assert d["recommendation"] == "fewshot" and d["decided_by"] == "behaviour-not-ready"
    assert "cannot be negative" in r.stderr and "Must answers cite their sources?" in r.stderr
    r = runner.invoke(app, ["decide", *FLAGS[:-1], "--json"], input="y\n")  # only the last question asked
    assert json.loads(r.stdout)["recommendation"] == "ft+rag"


def test_decide_without_an_answer_says_which(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    code, out, err = run_main(monkeypatch, capsys, "decide", *FLAGS[:-1])
    assert code == 2 and "Do you need both domain behaviour and current knowledge?" in err and "--needs-both" in err


def test_bad_answers_files_are_rejected(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.yaml"
    path.write_text("knowledge_changes_weekly: false\nlabeled_examples: 3\n")
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", path)
    assert code == 2 and "unknown question(s) labeled_examples" in err
    path.write_text(_answers_file(tmp_path).read_text().replace("labelled_examples: 200", "labelled_examples: -5"))
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", path)
    assert code == 2 and "labelled_examples" in err and "greater than or equal to 0" in err


def test_decide_with_a_bakeoff_prints_the_measurements_and_the_switch(bakeoff_results):
    folder = bakeoff_results(ft=WORSE)
    r = runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(folder)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "Recommendation: fine-tuning" not in text and "Recommendation: RAG" in text
    paired = read_results(folder).paired_vs_rag["ft"].f1.text()
    assert "The guide's rules alone said fine-tuning" in text and paired.startswith("-0.30") and paired in text
    assert "measurements changed the rules' answer: ft → rag" in " ".join(r.stderr.split())
    d = json.loads(runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(folder), "--json"]).stdout)
    assert d["overridden"] and d["evidence_rule"] == "ft-measured-worse"
    assert d["evidence"]["facts"]["ft_vs_rag"] == "worse"
