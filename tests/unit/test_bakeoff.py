"""The bake-off: judgments and statistics against hand-computed values, leakage, the cache, and the
whole command end to end on the fakes (and with a tiny model tuned on RAFT data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import CORPUS, make_project, run_main, write_files
from ragtune.bakeoff.judgments import citation_correct, supported
from ragtune.bakeoff.leakage import check_leakage
from ragtune.bakeoff.scoring import score_variant
from ragtune.bakeoff.statistics import mean_interval, paired_difference, ratio
from ragtune.bakeoff.variants import Variant
from ragtune.cli.app import app
from ragtune.config import ComponentSpec
from ragtune.cost.prices import ModelPrice, load_prices
from ragtune.documents.types import Chunk, Hit
from ragtune.errors import RagtuneError

runner = CliRunner()
HITS = [Hit(Chunk("a#0", "a", 0, "Webhooks retry failed deliveries eight times.", title="Webhooks"), 0.9),
        Hit(Chunk("b#0", "b", 0, "Refunds take five business days.", title="Refunds"), 0.5)]


# --- judgments -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Eight times [1]", True),
    ("Webhooks retry eight times.", True),
    ("Webhooks retry twelve times on Sundays.", False),  # 2 of 5 content words are not in the passages
    ("##begin_quote##Webhooks retry failed deliveries eight times.##end_quote## [1]\n<ANSWER>: eight times", True),
    ("##begin_quote##Webhooks retry nine times.##end_quote## [1]\n<ANSWER>: eight times", False),  # a made-up quote
    ("Yes.", None),  # nothing to check
    ("##begin_quote##Refunds take five business days.##end_quote## [2]\n<ANSWER>: yes", True),
])
def test_supported(text, expected):
    assert supported(text, HITS) is expected


def test_supported_needs_passages_and_citation_correctness_checks_only_the_cited_ones():
    assert supported("eight times", []) is None
    assert citation_correct("eight times [1]", [1], HITS) is True
    assert citation_correct("eight times [2]", [2], HITS) is False
    assert citation_correct("eight times", [], HITS) is None


# --- statistics ------------------------------------------------------------------------------------
def test_mean_interval_brackets_the_mean_and_collapses_on_constant_data():
    ci = mean_interval([0, 1, 1, 0, 1, 0.5, 1, 0])
    assert ci["mean"] == pytest.approx(4.5 / 8) and ci["low"] < ci["mean"] < ci["high"] and ci["n"] == 8
    assert mean_interval([0.5, 0.5, 0.5]) == {"mean": 0.5, "low": 0.5, "high": 0.5, "n": 3}
    assert mean_interval([])["mean"] is None


def test_interval_matches_a_hand_rolled_percentile_bootstrap():
    rng = np.random.default_rng(1)
    values = rng.random(60)
    ci = mean_interval(values)
    means = [rng.choice(values, len(values)).mean() for _ in range(4000)]
    low, high = np.percentile(means, [2.5, 97.5])
    assert ci["low"] == pytest.approx(low, abs=0.02) and ci["high"] == pytest.approx(high, abs=0.02)


def test_ratio_and_paired_difference():
    # refused: q1 q2 q3; unanswerable: q2 q3 q4 -> precision 2/3, recall 2/3
    refused, unans = [1, 1, 1, 0], [0, 1, 1, 1]
    both = [r * u for r, u in zip(refused, unans)]
    assert ratio(both, refused)["mean"] == pytest.approx(2 / 3)
    assert ratio(both, unans)["mean"] == pytest.approx(2 / 3)
    assert ratio([0, 0], [0, 0])["mean"] is None
    same = paired_difference([0.2, 0.4, 0.6], [0.2, 0.4, 0.6])
    assert same["diff"] == 0 and same["p_value"] == 1.0
    better = paired_difference([1.0] * 12, [0.0] * 6 + [0.5] * 6)
    assert better["diff"] == pytest.approx(0.75) and better["low"] > 0 and better["p_value"] < 0.01


def test_score_hand_computed():
    def rec(qid, answerable, refused, f1, seconds, supported_=None):
        return {"id": qid, "answerable": answerable, "refused": refused, "exact_match": None if not answerable else
                float(f1 == 1), "f1": f1 if answerable else None, "supported": supported_,
                "citation_correct": None, "prompt_tokens": 100, "completion_tokens": 10, "seconds": seconds}

    records = [rec("1", True, False, 1.0, 1.0, True), rec("2", True, False, 0.5, 2.0, False),
               rec("3", True, True, 0.0, 0.5), rec("4", False, True, None, 0.5), rec("5", False, False, None, 1.0, True)]
    book = load_prices().model_copy(update={"self_hosted_per_hour": 3.6})
    s = score(records, book, Variant("rag", "m", ComponentSpec(type="scripted"), True, ""))
    m = s["metrics"]
    assert m["f1"]["mean"] == pytest.approx(0.5) and m["exact_match"]["mean"] == pytest.approx(1 / 3)
    assert m["faithfulness"]["mean"] == pytest.approx(2 / 3)
    assert m["refusal_precision"]["mean"] == pytest.approx(1 / 2)  # refused 3 and 4; only 4 should be
    assert m["refusal_recall"]["mean"] == pytest.approx(1 / 2)  # 4 and 5 should be refused; 4 was
    assert s["seconds_per_query"] == pytest.approx(1.0) and s["latency_ms"]["p50"] == pytest.approx(1000)
    assert s["cost_per_1k_queries"] == pytest.approx(1000 * 1.0 * 3.6 / 3600)
    hosted = book.model_copy(update={"models": {"m": ModelPrice(input_per_m=2.0, output_per_m=10.0)}})
    s = score(records, hosted, Variant("rag", "m", ComponentSpec(type="scripted"), True, ""))
    assert s["cost_per_1k_queries"] == pytest.approx(1000 * (100 * 2.0 + 10 * 10.0) / 1e6)


# --- leakage ---------------------------------------------------------------------------------------
def test_leakage_fails_loudly_on_exact_and_near_copies(tmp_path):
    train = tmp_path / "t.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"[1] ctx\n\nQuestion: How many times do webhooks retry {i}?"},
                          {"role": "assistant", "content": "eight"}]} for i in range(3)]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert check_leakage(["Who configures SSO?"], [train])["overlaps"] == 0
    with pytest.raises(RagtuneError, match="1 evaluation question"):
        check_leakage(["how many times do webhooks retry 2?"], [train])


# --- the command -----------------------------------------------------------------------------------
QUESTIONS = [{"_id": "1", "question": "How many times do webhooks retry failed deliveries?", "answer": "eight times"},
             {"_id": "2", "question": "Who configures SAML single sign-on?", "answer": "an administrator"},
             {"_id": "3", "question": "How fast are refunds issued to the card?", "answer": "five business days"},
             {"_id": "4", "question": "What is the maximum upload size for avatars?", "answer": ""}]
SHOTS = [{"question": "When are invoices emailed?", "answer": "on the first day of each month"},
         {"question": "Who exports workspace data?", "answer": "administrators"}]


@pytest.fixture
def kb(tmp_path) -> tuple[Path, Path, Path]:
    project = tmp_path / "p"
    make_project(project)
    docs = write_files(tmp_path / "docs", CORPUS)
    assert runner.invoke(app, ["ingest", str(docs), "-p", str(project), "--json"]).exit_code == 0
    q, shots = tmp_path / "q.jsonl", tmp_path / "shots.jsonl"
    q.write_text("".join(json.dumps(r) + "\n" for r in QUESTIONS))
    shots.write_text("".join(json.dumps(r) + "\n" for r in SHOTS))
    return project, q, shots


def test_bakeoff_end_to_end_on_the_fakes(kb, tmp_path):
    project, q, shots = kb
    out = tmp_path / "bo"
    args = ["bakeoff", "--questions", str(q), "--variants", "base,fewshot,rag", "--fewshot", str(shots),
            "--shots", "2", "--unanswerable", "1", "--out", str(out), "-p", str(project), "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["schema"] == "ragtune.bakeoff/1" and set(res["variants"]) == {"base", "fewshot", "rag"}
    assert res["questions"] == {"path": str(q), "n": 5, "answerable": 3, "unanswerable": 2}
    rag = res["variants"]["rag"]
    # the scripted generator answers extractively from the passages and cites them
    assert rag["metrics"]["f1"]["mean"] > 0.3 and rag["metrics"]["faithfulness"]["mean"] == 1.0
    assert rag["metrics"]["refusal_recall"]["mean"] == 1.0  # the unanswerable and the hidden-source one
    base = res["variants"]["base"]
    assert base["n"] == 4 and base["metrics"]["faithfulness"]["mean"] is None  # no context, nothing to judge
    answers = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    hidden = [a for a in answers if a["hidden_doc"]]
    assert len(hidden) == 1 and hidden[0]["variant"] == "rag" and hidden[0]["refused"]
    assert all(not c.startswith(hidden[0]["hidden_doc"]) for c in hidden[0]["contexts"])
    shot = next(a for a in answers if a["variant"] == "fewshot")
    assert shot["prompt_tokens"] > next(a for a in answers if a["variant"] == "base")["prompt_tokens"]
    assert set(res["paired_vs_rag"]) == {"base", "fewshot"}
    md = (out / "report.md").read_text()
    assert "| rag |" in md and "F1 vs rag" in md
    assert "<svg" in (out / "report.html").read_text()
    assert json.loads((out / "results.json").read_text())["variants"] == res["variants"]

    r = runner.invoke(app, args)  # a re-run generates nothing new
    again = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    assert all(a["cached"] for a in again)
    assert [a["answer"] for a in again] == [a["answer"] for a in answers]
    assert json.loads(r.stdout)["variants"]["rag"]["metrics"] == rag["metrics"]


def test_bakeoff_rejects_bad_input(kb, tmp_path, monkeypatch, capsys):
    project, q, shots = kb
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "rag,gpt5", "-p", project)
    assert code == 2 and "unknown variant(s) gpt5" in err
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "ft", "-p", project)
    assert code == 2 and "--ft-model" in err
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "fewshot", "-p", project,
                            "--fewshot", q)
    assert code == 2 and "--shots needs 3" in err


def test_bakeoff_with_a_model_tuned_on_raft_data(kb, tmp_path, tiny_base, monkeypatch, capsys):
    project, q, _ = kb
    train = tmp_path / "raft.jsonl"
    rows = [{"question": f"How many times do webhooks retry, case {i}?", "answer": "eight times"} for i in range(12)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = runner.invoke(app, ["raft", "build", "--qa", str(tmp_path / "qa.jsonl"), "--out", str(train), "-p",
                            str(project), "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["tune", "start", "--train", str(train), "--base", str(tiny_base), "-p", str(project),
                            "--max-steps", "1", "--batch-size", "2", "--grad-accum", "1", "--json"])
    assert r.exit_code == 0, r.output
    ft = json.loads(r.stdout)["model"]
    out = tmp_path / "bo"
    r = runner.invoke(app, ["bakeoff", "--questions", str(q), "--variants", "rag,ft,ft+rag", "--ft-model", ft,
                            "--out", str(out), "-p", str(project), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["variants"]["ft+rag"]["model"] == ft and res["leakage"]["training_questions"] == 12
    answers = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    ft_rag = [a for a in answers if a["variant"] == "ft+rag" and a["answerable"]]
    assert all(a["contexts"] for a in ft_rag) and all(a["completion_tokens"] > 0 for a in ft_rag)

    # an evaluation question that was trained on is refused loudly
    leaked = tmp_path / "leaked.jsonl"
    leaked.write_text(json.dumps({"question": rows[3]["question"], "answer": "eight times"}) + "\n")
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", leaked, "--variants", "ft",
                            "--ft-model", ft, "--out", out, "-p", project)
    assert code == 2 and "appear in the fine-tuning data" in err


def test_bakeoff_without_arguments_runs_the_whole_demo_loop(tmp_path, tiny_base, monkeypatch):
    import ragtune.cli.bakeoff as command

    # two short steps: the loop's wiring is under test here, not the tuning (tests/integration covers that)
    monkeypatch.setattr(command, "DEMO_TUNE", {"max_steps": 2, "batch_size": 2, "grad_accum": 1, "max_seq_len": 1024})
    project = tmp_path / "p"
    make_project(project)
    out = tmp_path / "bo"
    args = ["bakeoff", "--tune-base", str(tiny_base), "--out", str(out), "-p", str(project), "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["variants"]) == ["base", "fewshot", "rag", "ft", "ft+rag"]
    assert res["questions"]["n"] == 24 and res["questions"]["unanswerable"] == 4  # the shipped demo questions
    assert set(res["stages_seconds"]) == {"ingest", "raft_build", "tune", "evaluate"}
    raft = [json.loads(x) for x in (out / "raft.jsonl").read_text().splitlines()]
    assert len(raft) == 80 and res["leakage"]["training_questions"] == 80
    # the extractive fake answers from its passages; a tuned 2-layer random model does not
    assert res["variants"]["rag"]["metrics"]["f1"]["mean"] > res["variants"]["ft+rag"]["metrics"]["f1"]["mean"]
    jobs = json.loads(runner.invoke(app, ["tune", "list", "-p", str(project), "--json"]).stdout)
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    r = runner.invoke(app, args)  # a re-run reuses the RAFT data, the tuned job and every generation
    assert r.exit_code == 0, r.output
    assert len(json.loads(runner.invoke(app, ["tune", "list", "-p", str(project), "--json"]).stdout)) == 1
    assert all(json.loads(x)["cached"] for x in (out / "answers.jsonl").read_text().splitlines())
