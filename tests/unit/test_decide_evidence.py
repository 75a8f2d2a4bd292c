"""Measurements folded into the decision: each evidence row, the verdicts, and the decide CLI."""

import json

import pytest
from typer.testing import CliRunner

from conftest import run_main
from decide_bakeoff_fixture import results, variant, write_results
from ragtune.cli.app import app
from ragtune.cost.prices import load_prices
from ragtune.decide.engine import decide
from ragtune.decide.evidence import paired_verdict, read_evidence, unpaired_verdict, variant_per_query
from ragtune.decide.rules import load_rules
from test_decide_rules import ans

runner = CliRunner()
BETTER, WORSE, UNCLEAR = (0.05, 0.01, 0.09), (-0.10, -0.18, -0.02), (0.01, -0.04, 0.06)
APART, OVERLAP = dict(ft_f1=(0.45, 0.40, 0.50)), dict(ft_f1=(0.34, 0.27, 0.41))


def decided(tmp_path, answers: dict, **measured):
    a = ans(**answers)
    ev = read_evidence(write_results(tmp_path / "b", **measured), load_prices(), a.queries_per_month)
    return decide(a, ev)


# (evidence row, answers, measurements, rules' answer, final answer)
CASES = [
    ("ft-measured-worse", dict(behaviour_problem=True), dict(ft=WORSE), "ft", "rag"),
    ("ftrag-measured-worse", dict(needs_both=True), dict(ftrag=WORSE), "ft+rag", "rag"),
    ("fewshot-not-beaten", dict(behaviour_problem=True), dict(ft=BETTER, **OVERLAP), "ft", "fewshot"),
    ("scale-not-cheaper", dict(latency_or_cost_pressure=True, queries_per_month=600_000), dict(ft_seconds=2.0),
     "ft", "rag"),
    ("scale-below-break-even", dict(latency_or_cost_pressure=True, queries_per_month=600_000), {}, "ft", "rag"),
    ("ftrag-measured-better", {}, dict(ftrag=BETTER), "rag", "ft+rag"),
    ("ft-measured-better", {}, dict(ft=BETTER, ftrag=UNCLEAR), "rag", "ft"),
    ("tuned-better-but-rules-hold", dict(knowledge_changes_weekly=True), dict(ft=BETTER), "rag", "rag"),
    ("ftrag-better-but-iterating", dict(still_iterating=True), dict(ft=UNCLEAR, ftrag=BETTER), "rag", "rag"),
    ("cost-favours-tuning", dict(queries_per_month=10**9), dict(ft=UNCLEAR), "rag", "ft"),
    ("fewshot-beaten-stable", dict(behaviour_problem=True, labelled_examples=30), APART, "fewshot", "ft"),
    ("fewshot-beaten-iterating", dict(behaviour_problem=True, still_iterating=True), APART, "fewshot", "fewshot"),
    ("scale-confirmed", dict(latency_or_cost_pressure=True, queries_per_month=10**9), {}, "ft", "ft"),
    ("ft-gain-unproven", dict(behaviour_problem=True), dict(ft=UNCLEAR, **APART), "ft", "ft"),
    ("ftrag-gain-unproven", dict(needs_both=True), dict(ftrag=UNCLEAR), "ft+rag", "ft+rag"),
]


@pytest.mark.parametrize("row,answers,measured,rules_said,final", CASES, ids=[c[0] for c in CASES])
def test_each_evidence_row(tmp_path, row, answers, measured, rules_said, final):
    d = decided(tmp_path, answers, **measured)
    assert (d.evidence_rule, d.rules_recommendation, d.recommendation) == (row, rules_said, final)
    assert d.overridden == (rules_said != final)
    assert "not measured" not in d.evidence_because  # every number the explanation names was measured


def test_cases_cover_every_evidence_row():
    assert {c[0] for c in CASES} == {e.id for e in load_rules().evidence}


def test_explanations_quote_the_measurements(tmp_path):
    d = decided(tmp_path, dict(behaviour_problem=True), ft=WORSE)
    assert "-0.10 [-0.18, -0.02]" in d.evidence_because
    d = decided(tmp_path, dict(latency_or_cost_pressure=True, queries_per_month=600_000))
    be = d.evidence.break_even
    assert be.kind == "above" and be.queries_per_month > 600_000
    assert f"{be.queries_per_month:,.0f} queries/month" in d.evidence_because and "500K" in d.evidence_because


def test_a_slower_tuned_model_is_a_caveat_under_latency_pressure(tmp_path):
    scale = dict(latency_or_cost_pressure=True, queries_per_month=10**9)
    d = decided(tmp_path, scale, ft_p50=900.0)
    assert d.recommendation == "ft"
    assert any("its median is 900 ms against RAG's 800 ms" in c for c in d.caveats)
    assert not any(c.startswith("Latency") for c in decided(tmp_path, scale).caveats)  # 300 ms: as the guide expects


def test_no_row_when_measurements_agree(tmp_path):
    d = decided(tmp_path, dict(needs_citations=True), ft=UNCLEAR, ftrag=UNCLEAR)
    assert d.evidence_rule is None and d.recommendation == "rag"
    assert any("span zero" in m and "ft vs rag" in m for m in d.measure_next)  # too few questions to tell


def test_tuned_recommendation_without_a_tuned_variant_asks_for_one(tmp_path):
    d = decided(tmp_path, dict(behaviour_problem=True), variants=["base", "rag"])
    assert d.recommendation == "ft" and d.evidence_rule is None
    assert d.facts["ft_vs_rag"] == "missing" and d.facts["above_break_even"] == "missing"
    assert any("no tuned variant" in m for m in d.measure_next)


@pytest.mark.parametrize("d,expected", [((0.1, 0.01, 0.2), "better"), ((-0.1, -0.2, -0.01), "worse"),
                                        ((0.1, 0.0, 0.2), "unclear"), (None, "missing")])
def test_paired_verdict(d, expected):
    assert paired_verdict(dict(zip(("diff", "low", "high"), d)) if d else None) == expected


def test_unpaired_verdict_needs_intervals_apart():
    m = lambda mean, lo, hi: {"mean": mean, "low": lo, "high": hi}  # noqa: E731
    assert unpaired_verdict(m(.5, .41, .6), m(.3, .2, .4)) == "better"
    assert unpaired_verdict(m(.3, .2, .4), m(.5, .41, .6)) == "worse"
    assert unpaired_verdict(m(.5, .4, .6), m(.3, .2, .4)) == "unclear"  # touching intervals are not apart
    assert unpaired_verdict(m(None, None, None), m(.3, .2, .4)) == "missing"


def test_measured_cost_is_repriced_with_the_price_book():
    book = load_prices()
    hosted = variant("gpt-4o-mini", True, (0.4, 0.3, 0.5), 99.0, prompt=1000, completion=100)
    assert variant_per_query(hosted, book, {}) == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
    local = variant("smollm2-135m", True, (0.4, 0.3, 0.5), 99.0, seconds=1.8)  # book: $0.10/hour
    assert variant_per_query(local, book, {}) == pytest.approx(1.8 * 0.10 / 3600)
    quoted = variant("vendor-x", True, (0.4, 0.3, 0.5), 2.5)  # hosted, priced only by the bake-off
    assert variant_per_query(quoted, book, {"vendor-x": {"input_per_m": 1, "output_per_m": 2}}) == 0.0025
    unknown = variant("ft:job-9", False, (0.4, 0.3, 0.5), 99.0, seconds=3.6)  # self-hosted, book's default machine
    assert variant_per_query(unknown, book, {}) == pytest.approx(3.6 * book.self_hosted_per_hour / 3600)


def test_bad_bakeoff_folders_are_named(tmp_path, monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", _answers_file(tmp_path), "--bakeoff", tmp_path)
    assert code == 2 and "results.json" in err and "ragtune bakeoff" in err
    (tmp_path / "results.json").write_text(json.dumps({"schema": "other"}))
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", _answers_file(tmp_path), "--bakeoff", tmp_path)
    assert code == 2 and "ragtune.bakeoff/1" in err
    (tmp_path / "results.json").write_text(json.dumps(results(variants=["base", "ft"])))
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", _answers_file(tmp_path), "--bakeoff", tmp_path)
    assert code == 2 and "no 'rag' variant" in err
    broken = results()
    del broken["variants"]["ft"]["seconds_per_query"]
    (tmp_path / "results.json").write_text(json.dumps(broken))
    code, _, err = run_main(monkeypatch, capsys, "decide", "--answers", _answers_file(tmp_path), "--bakeoff", tmp_path)
    assert code == 2 and "variant 'ft' lacks seconds_per_query" in err


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


def test_decide_with_a_bakeoff_prints_the_measurements_and_the_switch(tmp_path):
    folder = write_results(tmp_path / "b", ft=WORSE)
    r = runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(folder)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "Recommendation: fine-tuning" not in text and "Recommendation: RAG" in text
    assert "The guide's rules alone said fine-tuning" in text and "-0.10 [-0.18, -0.02]" in text
    assert "measurements changed the rules' answer: ft → rag" in " ".join(r.stderr.split())
    d = json.loads(runner.invoke(app, ["decide", *FLAGS, "--bakeoff", str(folder), "--json"]).stdout)
    assert d["overridden"] and d["evidence_rule"] == "ft-measured-worse"
    assert d["evidence"]["facts"]["ft_vs_rag"] == "worse"
