"""Measurements folded into the decision: each evidence row, the verdicts, and the decide CLI. The bake-off
results are produced by running the bake-off on the fakes (bakeoff_fixture.py says which outcome each
scripted flavour makes)."""

import json
import os

import pytest
from typer.testing import CliRunner

from bakeoff_fixture import FT_MODEL, token_prices
from conftest import run_main
from ragtune.bakeoff.results import (
    Latency,
    MetricInterval,
    QualityMetrics,
    Tokens,
    VariantResult,
    read_results,
    write_results,
)
from ragtune.cli.app import app
from ragtune.cost.prices import load_prices
from ragtune.decide.engine import decide
from ragtune.decide.evidence import comparison_text, read_evidence, variant_per_query
from ragtune.decide.render import decision_markdown
from ragtune.decide.rules import load_rules
from test_decide_rules import ans

runner = CliRunner()
BETTER, WORSE, UNCLEAR, ALL = "better", "worse", "unclear", "all"
OVERLAP = dict(fewshot="close")  # a few-shot F1 (0.70) above RAG's: the strongest untrained variant
NOT_CHEAPER = token_prices(ft_per_m=4.0)  # the tuned model priced 10x per token: dearer than RAG per query
WITH_FEWSHOT_RAG = dict(names=("base", "fewshot", "rag", "fewshot+rag", "ft", "ft+rag"))  # fewshot+rag right on all


def decided(bakeoff_results, answers: dict, book=None, **flavour):
    a = ans(**answers)
    ev = read_evidence(bakeoff_results(**flavour), book or token_prices(), a.queries_per_month)
    return decide(a, ev)


# (evidence row, answers, flavour of the bake-off, price book, rules' answer, final answer). A tuned flavour
# "better" (+0.30 over RAG on 20 questions) does not survive Holm's correction; "all" (+0.50) does.
SCALE = dict(latency_or_cost_pressure=True, queries_per_month=600_000)
FEW_EXAMPLES = dict(behaviour_problem=True, labelled_examples=30)
CASES = [
    ("prompt-enough", dict(behaviour_problem=True), dict(ft=BETTER), None, "ft", "rag"),
    ("ft-only-with-retrieval", dict(behaviour_problem=True), dict(ft=UNCLEAR, ftrag=ALL), None, "ft", "ft+rag"),
    ("ftrag-only-without-retrieval", dict(needs_both=True), dict(ft=ALL, ftrag=UNCLEAR), None, "ft+rag", "ft+rag"),
    ("scale-not-cheaper", SCALE, dict(ft=ALL), NOT_CHEAPER, "ft", "rag"),
    ("scale-below-break-even", SCALE, dict(ft=ALL), None, "ft", "rag"),
    ("ftrag-measured-better", {}, dict(ft=UNCLEAR, ftrag=ALL), None, "rag", "ft+rag"),
    ("ft-measured-better", {}, dict(ft=ALL, ftrag=UNCLEAR), None, "rag", "ft"),
    ("tuned-better-but-rules-hold", dict(knowledge_changes_weekly=True), dict(ft=ALL), None, "rag", "rag"),
    ("ftrag-better-but-iterating", dict(still_iterating=True), dict(ft=UNCLEAR, ftrag=ALL), None, "rag", "rag"),
    ("fewshot-rag-better", {}, dict(ft=UNCLEAR, **WITH_FEWSHOT_RAG), None, "rag", "fewshot+rag"),
    ("cost-alone-not-enough", dict(queries_per_month=10**9), dict(ft=UNCLEAR), None, "rag", "rag"),
    ("fewshot-beaten-stable", FEW_EXAMPLES, dict(ft=ALL), None, "fewshot", "ft"),
    ("fewshot-beaten-by-ftrag", FEW_EXAMPLES, dict(ft=UNCLEAR, ftrag=ALL), None, "fewshot", "ft+rag"),
    ("fewshot-beaten-iterating", dict(behaviour_problem=True, still_iterating=True), dict(ft=ALL), None, "fewshot",
     "fewshot"),
    ("prompt-beats-fewshot", FEW_EXAMPLES, dict(ft=UNCLEAR, **WITH_FEWSHOT_RAG), None, "fewshot", "fewshot+rag"),
    ("scale-confirmed", dict(latency_or_cost_pressure=True, queries_per_month=10**9), dict(ft=ALL), None, "ft", "ft"),
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
    # 6 wins of 20: the interval excludes 0, but the sign-flip p (about 2/64) times the run's comparisons does not
    # stay under 0.05; 10 wins (about 2/1024) does
    assert r.best_untrained == "rag" and not r.paired_vs_best_untrained["ft+rag"].f1.differs()
    assert read_results(bakeoff_results(ft=ALL)).paired_vs_best_untrained["ft"].f1.differs()
    unclear = read_results(bakeoff_results(ft=UNCLEAR)).paired_vs_rag["ft"].f1
    assert unclear.diff == pytest.approx(0.0) and unclear.low < 0 < unclear.high
    assert r.variants["base"].metrics.refusal_recall.mean == 0.0
    assert r.variants["rag"].metrics.refusal_recall.mean == 1.0
    assert r.questions.n == 24 and r.questions.unanswerable == 4


def test_fine_tuning_is_not_recommended_unless_it_beats_the_strongest_prompt(bakeoff_results):
    """The rules say fine-tuning (a behaviour problem); ft gains +0.30 F1 on RAG and +0.10 on few-shot, which the
    run cannot tell apart: ship the strongest prompt, named, with what the run could have detected."""
    d = decided(bakeoff_results, dict(behaviour_problem=True), ft=BETTER, **OVERLAP)
    ev = d.evidence
    assert (d.evidence_rule, d.rules_recommendation, d.recommendation) == ("prompt-enough", "ft", "fewshot")
    assert d.label == "few-shot prompting first" and ev.facts["best_untrained"] == "fewshot"
    vs = ev.results.paired_vs_best_untrained["ft"].f1
    assert vs.diff == pytest.approx(0.1) and not vs.differs()
    assert "No tuned model beat the strongest variant that needs no training, fewshot (F1 0.70 [" in d.evidence_because
    assert (f"the run cannot tell ft from fewshot: with these 20 questions it could detect an F1 difference of about "
            f"{vs.mdd:.2f} (80% power)") in d.evidence_because
    assert d.evidence_because.endswith("Ship fewshot: worked examples (a question and its short answer) before the "
                                       "question, without retrieval.")
    # the same tuned model, once it clearly beats the strongest prompt (all 20 right, +0.30 on few-shot is still
    # not enough: 6 wins), and once few-shot is weak: fine-tuning only where it beats
    assert decided(bakeoff_results, dict(behaviour_problem=True), ft=ALL, **OVERLAP).recommendation == "fewshot"
    strong = decided(bakeoff_results, dict(behaviour_problem=True), ft=ALL)
    assert strong.recommendation == "ft" and strong.evidence_rule is None and strong.facts["tuned_vs_best"] == "better"


def test_ship_fewshot_rag_names_the_prompt(bakeoff_results):
    d = decided(bakeoff_results, dict(needs_both=True), ft=UNCLEAR, ftrag=BETTER, **WITH_FEWSHOT_RAG)
    assert (d.evidence_rule, d.recommendation, d.label) == ("prompt-enough", "fewshot+rag",
                                                             "few-shot RAG (worked examples with retrieval)")
    assert "Ship fewshot+rag: the worked-examples prompt with retrieval" in d.evidence_because
    md = decision_markdown(d)
    assert "Strongest untrained variant: **fewshot+rag**, the worked-examples prompt with retrieval" in md
    vs = d.evidence.results.paired_vs_best_untrained["ft+rag"].f1
    assert "| ft+rag | ft:job-1 | " in md and comparison_text(vs) in md and "| (itself) |" in md


def test_explanations_quote_the_measurements(bakeoff_results):
    d = decided(bakeoff_results, dict(behaviour_problem=True), ft=WORSE)
    assert d.evidence_rule == "prompt-enough"
    paired = d.evidence.results.paired_vs_best_untrained["ft+rag"].f1  # ft+rag (+0) is the strongest tuned one
    assert comparison_text(paired) in d.evidence_because and "ft+rag (ft:job-1)" in d.evidence_because
    d = decided(bakeoff_results, dict(latency_or_cost_pressure=True, queries_per_month=600_000), ft=ALL)
    be = d.evidence.break_even
    assert be.kind == "above" and be.queries_per_month > 600_000
    assert f"{be.queries_per_month:,.0f} queries/month" in d.evidence_because and "500K" in d.evidence_because


def test_a_slower_tuned_model_is_a_caveat_under_latency_pressure(bakeoff_results, tmp_path):
    scale = dict(latency_or_cost_pressure=True, queries_per_month=10**9)
    d = decided(bakeoff_results, scale, ft=ALL)
    assert d.recommendation == "ft" and not any(c.startswith("Latency") for c in d.caveats)  # the fake is fast
    # the fakes cannot be slow deterministically: the same run, with the tuned model's median set above RAG's
    results = read_results(bakeoff_results(ft=ALL))
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
    unclear = next(m for m in d.measure_next if m.startswith("More evaluation questions"))
    assert "ft vs rag (F1 +0.00 [" in unclear and "smallest difference this run could detect 0.20" in unclear


def test_tuned_recommendation_without_a_tuned_variant_asks_for_one(bakeoff_results):
    d = decided(bakeoff_results, dict(behaviour_problem=True), names=("base", "rag"))
    assert d.recommendation == "ft" and d.evidence_rule is None
    assert d.facts["tuned_vs_best"] == "missing" and d.facts["above_break_even"] == "missing"
    assert any("no tuned variant" in m for m in d.measure_next)
    assert any(m.startswith("Measure few-shot prompts") for m in d.measure_next)  # neither few-shot variant ran
    assert not any(m.startswith("Re-run the bake-off with this version") for m in d.measure_next)


def test_results_before_the_strongest_untrained_comparison_ask_for_a_rerun(bakeoff_results, tmp_path):
    results = read_results(bakeoff_results(ft=ALL))
    write_results(results.model_copy(update={"best_untrained": None, "paired_vs_best_untrained": {}}), tmp_path)
    d = decide(ans(behaviour_problem=True), read_evidence(tmp_path, token_prices(), 10_000))
    assert d.recommendation == "ft" and d.evidence_rule is None and d.facts["tuned_vs_best"] == "missing"
    assert any(m.startswith("Re-run the bake-off with this version") for m in d.measure_next)
    assert not any("no tuned variant" in m for m in d.measure_next)


def test_labelled_tuned_models_are_weighed_by_label(bakeoff_results, tmp_path):
    """The same run with the tuned model labelled raft, and a second, weaker one labelled plain: decide weighs
    raft (it beats the strongest untrained variant), costs it as fine-tuning, and says so by name."""
    results = read_results(bakeoff_results(ft=ALL, ftrag=UNCLEAR))
    v, vs_best = results.variants, results.paired_vs_best_untrained
    weaker = read_results(bakeoff_results(ft=UNCLEAR, ftrag=UNCLEAR))
    write_results(results.model_copy(update={
        "variants": {n: v[n] for n in ("base", "fewshot", "rag")} | {"raft": v["ft"], "raft+rag": v["ft+rag"],
                                                                     "plain": weaker.variants["ft"]},
        "paired_vs_best_untrained": {n: vs_best[n] for n in ("base", "fewshot")}
        | {"raft": vs_best["ft"], "raft+rag": vs_best["ft+rag"], "plain": weaker.paired_vs_best_untrained["ft"]},
        "tuned_models": {"raft": FT_MODEL, "plain": "ft:job-2"}}), tmp_path)
    ev = read_evidence(tmp_path, token_prices(), 10_000)
    assert ev.approaches == {"fewshot": "fewshot", "rag": "rag", "ft": "raft", "ft+rag": "raft+rag"}
    d = decide(ans(), ev)
    assert (d.evidence_rule, d.recommendation) == ("ft-measured-better", "ft")
    assert ev.facts["ft_vs_best"] == "better" and ev.texts["tuned"] == "raft"
    assert comparison_text(vs_best["ft"].f1) in d.evidence_because


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
    assert code == 2 and f"{path}: not a bake-off result" in err and "ragtune.bakeoff/2" in err
    good = json.loads((bakeoff_results() / "results.json").read_text())
    path.write_text(json.dumps({**good, "schema": "ragtune.bakeoff/3"}))
    code, _, err = decide_on(tmp_path)
    assert code == 2 and f"{path}: bake-off results of schema version 3; this ragtune reads versions 1, 2" in err
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
    with open(os.devnull) as nothing:
        monkeypatch.setattr("sys.stdin", nothing)
        code, _, err = run_main(monkeypatch, capsys, "decide", *FLAGS[:-1])
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
    assert "The guide's rules alone said fine-tuning" in text and "Ship rag: the grounded prompt" in text
    assert "No tuned model beat the strongest variant that needs no training, rag" in text
    assert "F1 vs strongest untrained" in text
    assert "measurements changed the rules' answer: ft → rag" in " ".join(r.stderr.split())
    d = json.loads(runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(folder), "--json"]).stdout)
    assert d["overridden"] and d["evidence_rule"] == "prompt-enough"
    assert d["evidence"]["facts"]["tuned_vs_best"] == "unclear" and d["evidence"]["facts"]["best_untrained"] == "rag"
    # the same flags on a run where the tuned model beats the strongest untrained variant: fine-tuning stands
    d = json.loads(runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(bakeoff_results(ft=ALL)), "--json"]).stdout)
    assert d["recommendation"] == "ft" and not d["overridden"]
    assert d["evidence"]["facts"]["tuned_vs_best"] == "better"
