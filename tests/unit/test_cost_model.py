"""Cost arithmetic against hand-computed cases, break-even kinds, the price file, and the cost CLI."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import run_main
from ragtune.cli.app import app
from ragtune.cost.breakeven import break_even
from ragtune.cost.model import ApproachCost, CostInputs, CostLine, estimate
from ragtune.cost.prices import PriceBook, default_prices_text, load_prices

runner = CliRunner()

# Round numbers, so every expected value below is computed by hand in its comment.
BOOK = PriceBook.model_validate({
    "as_of": "2026-01-01", "self_hosted_per_hour": 0.5,
    "models": {"big": {"input_per_m": 10, "output_per_m": 20}, "small-ft": {"input_per_m": 1, "output_per_m": 2}},
    "embedding_per_m": {"e": 1.0}, "vector_db_per_month": 20, "training_run": 50, "day_rate": 100,
    "effort_days": {"setup": {"rag": 1, "ft": 10, "fewshot": 0}, "data_prep": 2, "evaluation": 3, "per_retrain": 1,
                    "maintenance_per_month": {"rag": 1, "ft": 2, "fewshot": 0}}})
INPUTS = CostInputs(queries_per_month=10_000, months=12, question_tokens=10, prompt_tokens=100, context_tokens=900,
                    fewshot_tokens=400, answer_tokens=50, corpus_tokens=1_000_000, update_tokens_per_month=100_000,
                    retrains_per_year=6, base_model="big", rag_model="big", ft_model="small-ft", embedding_model="e")


def test_rag_by_hand():
    rag = estimate(INPUTS, BOOK)["rag"]
    # inference (100 + 900) x 10/M + 50 x 20/M = 0.011; question embedding 10 x 1/M = 0.00001
    assert rag.per_query == pytest.approx(0.01101)
    assert rag.one_time == pytest.approx(100 + 1.0)           # 1 setup day; 1M corpus tokens x $1/M
    assert rag.monthly_fixed == pytest.approx(100 + 0.1 + 20)  # 1 maintenance day; 100K re-embedded; vector DB
    assert rag.monthly(10_000) == pytest.approx(120.1 + 110.1)
    assert rag.total(10_000, 12) == pytest.approx(101 + 12 * 230.2)  # 2,863.4


def test_fine_tuning_by_hand():
    ft = estimate(INPUTS, BOOK)["ft"]
    assert ft.per_query == pytest.approx(100 * 1e-6 + 50 * 2e-6)   # 0.0002: no context, no embedding
    assert ft.one_time == pytest.approx(1000 + 50 + 500)           # 10 setup days; first run; 2 + 3 days
    # 2 maintenance days; 6 retrains a year = 0.5 a month x ($50 run + 1 day)
    assert ft.monthly_fixed == pytest.approx(200 + 25 + 50)
    assert ft.total(10_000, 12) == pytest.approx(1550 + 12 * 277)  # 4,874
    assert ft.breakdown(10_000, 12) == pytest.approx({"inference": 24, "query embedding": 0, "corpus embedding": 0,
                                                      "vector DB": 0, "training": 50 + 12 * 25,
                                                      "people": 1500 + 12 * 250})


def test_fine_tuned_rag_and_few_shot_by_hand():
    costs = estimate(INPUTS, BOOK)
    both = costs["ft+rag"]
    assert both.per_query == pytest.approx(1000 * 1e-6 + 50 * 2e-6 + 10e-6)  # tuned model with context; embedding
    assert both.one_time == pytest.approx((1 + 10) * 100 + 1.0 + 50 + 500)   # both setups, corpus, run, data + eval
    assert both.monthly_fixed == pytest.approx((1 + 2) * 100 + 0.1 + 20 + 25 + 50)
    few = costs["fewshot"]
    assert few.per_query == pytest.approx((100 + 400) * 10e-6 + 50 * 20e-6)  # 0.006: examples in every prompt
    assert few.one_time == 0 and few.monthly_fixed == 0


def test_self_hosted_and_measured_inference():
    data = BOOK.model_dump()
    data["models"]["local"] = {"hardware_per_hour": 1.8, "seconds_per_query": 2.0}
    book = PriceBook.model_validate(data)
    inputs = INPUTS.model_copy(update={"rag_model": "local", "inference_per_query": {"ft": 0.004}})
    costs = estimate(inputs, book)
    assert costs["rag"].per_query == pytest.approx(2.0 * 1.8 / 3600 + 10e-6)  # seconds x $/hour, whatever the tokens
    assert costs["ft"].per_query == 0.004 and costs["ft"].measured and not costs["rag"].measured


def test_break_even_by_hand_and_the_totals_agree_there():
    costs = estimate(INPUTS, BOOK)
    be = break_even(costs["ft"], costs["rag"], 12)
    # fixed: (1550 - 101) + 12 (275 - 120.1) = 3307.8; saving per monthly query: 12 (0.01101 - 0.0002) = 0.12972
    assert be.kind == "above" and be.queries_per_month == pytest.approx(3307.8 / 0.12972)
    assert costs["ft"].total(be.queries_per_month, 12) == pytest.approx(costs["rag"].total(be.queries_per_month, 12))
    assert be.cheaper_at(30_000) and not be.cheaper_at(20_000)
    both = break_even(costs["ft+rag"], costs["rag"], 12)
    assert both.queries_per_month == pytest.approx(((1651 - 101) + 12 * 275) / (12 * (0.01101 - 0.00111)))


def _cost(name, one_time, monthly, per_query):
    return ApproachCost(name, (CostLine("inference", one_time, monthly, per_query),))


@pytest.mark.parametrize("challenger,kind,q", [
    (_cost("ft", 100, 0, 0.01), "above", 100 / (12 * 0.01)),  # costs more up front, less per query
    (_cost("ft", 100, 0, 0.03), "never", None),               # more up front and per query
    (_cost("ft", 0, 0, 0.01), "always", None),                # no more up front, less per query
    (_cost("ft", 0, 0, 0.02), "always", None),                # identical lines: never more
    (_cost("ft", -120, 0, 0.03), "below", 120 / (12 * 0.01)),  # cheaper up front, dearer per query
])
def test_break_even_kinds(challenger, kind, q):
    be = break_even(challenger, _cost("rag", 0, 0, 0.02), 12)
    assert be.kind == kind and (be.queries_per_month == pytest.approx(q) if q else be.queries_per_month is None)
    if q:
        assert be.cheaper_at(q * 0.9) == (kind == "below") and be.cheaper_at(q * 1.1) == (kind == "above")


def test_shipped_price_file_is_dated_and_valid():
    book = load_prices()
    assert book.as_of == "2026-04-18" and book.vector_db_per_month == 70 and 50 <= book.training_run <= 500
    assert book.models["ft:gpt-4o-mini"].input_per_m == 0.30


def test_price_file_overrides_entry_by_entry(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("as_of: '2027-01-01'\nday_rate: 1000\neffort_days: {setup: {ft: 40}}\n"
                    "models: {gpt-4o-mini: {hardware_per_hour: 2.0, seconds_per_query: 1.0}}\n")
    book, default = load_prices(path), load_prices()
    assert (book.as_of, book.day_rate, book.effort_days.setup["ft"]) == ("2027-01-01", 1000, 40)
    assert book.effort_days.setup["rag"] == default.effort_days.setup["rag"]  # untouched entries stay
    assert book.models["gpt-4o-mini"].input_per_m is None  # a model is replaced whole
    assert book.models["gpt-4o"] == default.models["gpt-4o"]


@pytest.mark.parametrize("text,message", [
    ("models: {m: {input_per_m: 1}}", "either input_per_m and output_per_m"),
    ("day_rate: -5", "day_rate"),
    ("- a list", "expected a mapping"),
    ("vector_db: 3", "vector_db"),
])
def test_bad_price_files_are_rejected(tmp_path, monkeypatch, capsys, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    code, _, err = run_main(monkeypatch, capsys, "cost", "--prices", path)
    assert code == 2 and message in err


def test_unknown_model_names_the_fix(monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "cost", "--rag-model", "gpt-9")
    assert code == 2 and "no price for model 'gpt-9'" in err and "--prices" in err


def test_cost_cli_json_matches_the_model(tmp_path):
    inputs = tmp_path / "in.yaml"
    inputs.write_text(yaml.safe_dump({"queries_per_month": 1000, "context_tokens": 1000}))
    r = runner.invoke(app, ["cost", "--inputs", str(inputs), "--queries-per-month", "250000", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    cfg = CostInputs(queries_per_month=250_000, context_tokens=1000)  # the option overrides the file
    expected = estimate(cfg, load_prices())
    assert data["inputs"]["queries_per_month"] == 250_000
    for name, c in expected.items():
        assert data["approaches"][name]["total"] == pytest.approx(c.total(250_000, 12))
    assert {b["challenger"] for b in data["break_even"]} == {"ft", "ft+rag"}


def test_cost_cli_writes_plots_and_uses_bakeoff_measurements(bakeoff_results, tmp_path):
    from ragtune.bakeoff.results import read_results

    folder = bakeoff_results()
    r = runner.invoke(app, ["cost", "--bakeoff", str(folder), "--out", str(tmp_path / "c"), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["approaches"]["rag"]["measured_inference"]
    # the fake's model is not in the price book: its measured seconds at the book's default machine price
    seconds = read_results(folder).variants["rag"].seconds_per_query
    assert data["inputs"]["inference_per_query"]["rag"] == pytest.approx(seconds * load_prices().self_hosted_per_hour
                                                                         / 3600)
    html = (tmp_path / "c" / "cost.html").read_text()
    assert html.count("<svg") == 2 and "fine-tuned RAG" in html
    table = runner.invoke(app, ["cost", "--queries-per-month", "1000"]).stdout
    assert "RAG" in table and "costs less than RAG above" in " ".join(table.split())


def test_print_prices_is_the_shipped_file():
    r = runner.invoke(app, ["cost", "--print-prices"])
    assert yaml.safe_load(r.stdout) == yaml.safe_load(default_prices_text())
