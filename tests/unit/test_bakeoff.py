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
from ragtune.bakeoff.results import MetricInterval, PairedComparison
from ragtune.bakeoff.run import run_bakeoff
from ragtune.bakeoff.scoring import paired_against, score_variant
from ragtune.bakeoff.statistics import mean_interval, paired_difference, ratio
from ragtune.cli.app import app
from ragtune.cost.prices import ModelPrice, load_prices
from ragtune.documents.types import Chunk, Hit
from ragtune.errors import RagtuneError
from ragtune.evaluation.judge_prompt import JUDGE_PROMPT_VERSION
from ragtune.evaluation.qa import QARow, Question, to_row
from ragtune.rag.answer import Answer

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
    assert supported(text, HITS, "") is expected


def test_supported_needs_passages_and_citation_correctness_checks_only_the_cited_ones():
    assert supported("eight times", [], "") is None
    assert citation_correct("eight times [1]", [1], HITS, "") is True
    assert citation_correct("eight times [2]", [2], HITS, "") is False
    assert citation_correct("eight times", [], HITS, "") is None


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
    both = [r * u for r, u in zip(refused, unans, strict=True)]
    assert ratio(both, refused)["mean"] == pytest.approx(2 / 3)
    assert ratio(both, unans)["mean"] == pytest.approx(2 / 3)
    assert ratio([0, 0], [0, 0])["mean"] is None
    same = paired_difference([0.2, 0.4, 0.6], [0.2, 0.4, 0.6])
    assert same["diff"] == 0 and same["p_value"] == 1.0
    better = paired_difference([1.0] * 12, [0.0] * 6 + [0.5] * 6)
    assert better["diff"] == pytest.approx(0.75) and better["low"] > 0 and better["p_value"] < 0.01


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
    assert res["schema"] == "ragtune.bakeoff/2" and set(res["variants"]) == {"base", "fewshot", "rag"}
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
    r = runner.invoke(app, args[:-1])  # the terminal table prints brackets as text, not as rich markup
    assert r.exit_code == 0 and "[bootstrap 95% interval]" in r.stdout and "| rag |" in r.stdout
    assert "What this run can tell apart" in r.stdout and "| recall | contains |" in r.stdout


def test_bakeoff_rejects_bad_input(kb, tmp_path, monkeypatch, capsys):
    project, q, shots = kb
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "rag,gpt5", "-p", project)
    assert code == 2 and "unknown variant(s) gpt5" in err
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "ft", "-p", project)
    assert code == 2 and "--ft-model" in err
    for name in ("fewshot", "fewshot+rag"):  # an evaluation question shown as a worked example is refused
        code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", name, "-p", project,
                                "--fewshot", q)
        assert code == 2 and "3 few-shot example(s)" in err and "(nearly) evaluation questions" in err
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "fewshot+rag", "-p",
                            project, "--fewshot", shots, "--shots", "9")
    assert code == 2 and "has 2 answered questions; --shots needs 9" in err
    for bad, says in ((["rag=ft:abc"], "the label 'rag' must be"), (["fewshot+rag=ft:abc"], "'fewshot+rag' must be"),
                      (["a+b=ft:abc"], "the label 'a+b' must be"), (["=ft:abc"], "the label '' must be"),
                      (["raft=abc"], "expected ft:<job-id> or LABEL=ft:<job-id>"), (["ft:"], "expected ft:<job-id>"),
                      (["raft=ft:a", "raft=ft:b"], "the label 'raft' is given twice"),
                      (["ft:a", "ft=ft:b"], "the label 'ft' is given twice")):
        flags = [x for spec in bad for x in ("--ft-model", spec)]
        code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "rag,ft", *flags,
                                "-p", project)
        assert code == 2 and says in err, (bad, err)


def test_min_effect_warns_before_the_run_when_the_questions_are_too_few(kb, tmp_path, monkeypatch, capsys):
    project, q, _ = kb
    args = ("bakeoff", "--questions", q, "--variants", "rag", "-p", project, "--out", tmp_path / "bo", "--json")
    # 3 answerable questions; (2.801585 * 0.5 / 0.5)^2 = 7.85 -> 8 needed at the assumed sd 0.5
    code, _, err = run_main(monkeypatch, capsys, *args, "--min-effect", "0.5")
    assert code == 0 and ("warning: 3 answerable questions are too few to detect an F1 difference of 0.5 (80% power, "
                          "two-sided alpha 0.05, paired, assuming the per-question differences have sd 0.5): about 8 "
                          "are needed") in err
    # (2.801585 * 0.2 / 0.5)^2 = 1.26 -> 2 needed: 3 are enough, so no warning
    code, _, err = run_main(monkeypatch, capsys, *args, "--min-effect", "0.5", "--assumed-sd", "0.2")
    assert code == 0 and "warning" not in err
    # (2.801585 * 0.3 / 0.5)^2 = 2.83 -> 3 needed: exactly enough
    code, _, err = run_main(monkeypatch, capsys, *args, "--min-effect", "0.5", "--assumed-sd", "0.3")
    assert code == 0 and "warning" not in err
    # (2.801585 * 0.3 / 0.45)^2 = 3.49 -> 4 needed: one short
    code, _, err = run_main(monkeypatch, capsys, *args, "--min-effect", "0.45", "--assumed-sd", "0.3")
    assert code == 0 and "3 answerable questions are too few" in err and "about 4 are needed" in err
    for bad in (["--min-effect", "0"], ["--min-effect", "1.5"], ["--min-effect", "0.2", "--assumed-sd", "0"]):
        code, _, err = run_main(monkeypatch, capsys, *args, *bad)
        assert code == 2 and "--min-effect must be in (0, 1]" in err


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

    # a second tuned model, on plain fine-tuning data from the same questions, side by side with the first
    plain = tmp_path / "plain.jsonl"
    r = runner.invoke(app, ["raft", "build", "--plain", "--qa", str(tmp_path / "qa.jsonl"), "--out", str(plain), "-p",
                            str(project), "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["tune", "start", "--train", str(plain), "--base", str(tiny_base), "-p", str(project),
                            "--max-steps", "1", "--batch-size", "2", "--grad-accum", "1", "--json"])
    assert r.exit_code == 0, r.output
    ft2 = json.loads(r.stdout)["model"]
    labelled = ["--ft-model", f"raft={ft}", "--ft-model", f"plain={ft2}"]
    r = runner.invoke(app, ["bakeoff", "--questions", str(q), "--variants", "ft+rag,rag,ft", *labelled,
                            "--out", str(tmp_path / "two"), "-p", str(project), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["variants"]) == ["rag", "raft", "raft+rag", "plain", "plain+rag"]
    assert res["tuned_models"] == {"raft": ft, "plain": ft2}
    assert [res["variants"][n]["model"] for n in ("raft", "raft+rag", "plain", "plain+rag")] == [ft, ft, ft2, ft2]
    assert [res["variants"][n]["retrieval"] for n in ("raft", "raft+rag")] == [False, True]
    assert res["leakage"] == {"checked_files": [str(train), str(plain)], "training_questions": 24, "overlaps": 0}
    assert set(res["paired_vs_rag"]) == {"raft", "raft+rag", "plain", "plain+rag"}
    assert res["best_untrained"] == "rag" and set(res["paired_vs_best_untrained"]) == set(res["paired_vs_rag"])
    assert "| raft+rag |" in (tmp_path / "two" / "report.md").read_text()
    # each tuned model's training data is checked: a question only the second one trained on is refused
    r = runner.invoke(app, ["bakeoff", "--questions", str(q), "--variants", "ft", "--ft-model", f"plain={ft2}",
                            "--out", str(tmp_path / "two"), "-p", str(project), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["leakage"]["checked_files"] == [str(plain)]
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", leaked, "--variants", "ft", *labelled,
                            "--out", out, "-p", project)
    assert code == 2 and "appear in the fine-tuning data" in err and str(train) in err


def test_bakeoff_without_arguments_runs_the_whole_demo_loop(tmp_path, tiny_base, monkeypatch):
    import ragtune.bakeoff.demo as demo

    # two short steps: the loop's wiring is under test here, not the tuning (tests/integration covers that)
    monkeypatch.setattr(demo, "DEMO_TUNE", {"max_steps": 2, "batch_size": 2, "grad_accum": 1, "max_seq_len": 1024})
    project = tmp_path / "p"
    make_project(project)
    out = tmp_path / "bo"
    args = ["bakeoff", "--tune-base", str(tiny_base), "--out", str(out), "-p", str(project), "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["variants"]) == ["base", "fewshot", "rag", "fewshot+rag", "ft", "ft+rag"]
    assert res["best_untrained"] in ("base", "fewshot", "rag", "fewshot+rag")
    assert set(res["paired_vs_best_untrained"]) == set(res["variants"]) - {res["best_untrained"]}
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


# --- scoring: known answers that a flipped sign, swapped denominators, EM for F1 or swapped bounds fail --------
def row(qid, reference="ref", *, refused=False, em=None, f1=None, supported_=None, seconds=1.0, variant="v", repeat=0):
    return QARow(id=qid, question=f"question {qid}", reference=reference, answerable=bool(reference),
                 variant=variant, repeat=repeat, answer="x", final="x", refused=refused, exact_match=em, f1=f1,
                 supported=supported_, prompt_tokens=100, completion_tokens=10, seconds=seconds)


def test_a_row_scores_exact_match_and_f1_separately():
    q = Question("1", "How fast are refunds issued?", "five business days")
    r = to_row(q, Answer(q.question, "Refunds take five days [1]", False), seconds=0.5)
    # normalised: "refunds take five days" vs "five business days": 2 common tokens, P 2/4, R 2/3
    assert r.exact_match == 0.0 and r.f1 == pytest.approx(2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3))
    assert r.final == "Refunds take five days" and r.seconds == 0.5 and r.answerable
    exact = to_row(q, Answer(q.question, "<ANSWER>: Five business days.", False))
    assert (exact.exact_match, exact.f1) == (1.0, 1.0)
    refused = to_row(Question("2", "Who?", ""), Answer("Who?", "I don't know", True), judge=lambda a: (True, True))
    assert refused.exact_match is None and refused.f1 is None and refused.final == ""
    assert refused.supported is None  # a refusal is not judged


def test_score_variant_hand_computed():
    rows = [row("1", em=1.0, f1=1.0, supported_=True, seconds=1.0),
            row("2", em=0.0, f1=0.5, supported_=False, seconds=2.0),
            row("3", em=0.0, f1=0.0, refused=True, seconds=0.5),
            row("4", "", refused=True, seconds=0.5),
            row("5", "", supported_=True, seconds=1.0),
            row("6", "", seconds=1.0)]
    book = load_prices().model_copy(update={"self_hosted_per_hour": 3.6})
    s = score_variant(rows, book, "m", True)
    m = s.metrics
    assert m.f1.mean == pytest.approx(0.5) and m.exact_match.mean == pytest.approx(1 / 3)
    assert m.faithfulness.mean == pytest.approx(2 / 3) and m.citation_correctness.mean is None
    # refused: 3, 4; should refuse (unanswerable): 4, 5, 6; both: 4
    assert m.refusal_precision.mean == pytest.approx(1 / 2) and m.refusal_precision.n == 6
    assert m.refusal_recall.mean == pytest.approx(1 / 3)
    for metric in (m.f1, m.exact_match, m.faithfulness, m.refusal_precision, m.refusal_recall):
        assert metric.low <= metric.mean <= metric.high and metric.low < metric.high
    assert s.n == 6 and s.seconds_per_query == pytest.approx(1.0) and s.latency_ms.p50 == pytest.approx(1000)
    assert s.latency_ms.p95 == pytest.approx(1750) and s.tokens.prompt_mean == 100
    assert s.cost_per_1k_queries == pytest.approx(1000 * 1.0 * 3.6 / 3600)
    hosted = book.model_copy(update={"models": {"m": ModelPrice(input_per_m=2.0, output_per_m=10.0)}})
    assert score_variant(rows, hosted, "m", True).cost_per_1k_queries == pytest.approx(1000 * (100 * 2.0 + 10 * 10.0)
                                                                                       / 1e6)


def test_repeats_are_averaged_per_question_first():
    rows = [row("1", f1=1.0, em=1.0), row("1", f1=0.0, em=0.0, repeat=1), row("2", f1=1.0, em=1.0),
            row("2", f1=1.0, em=1.0, repeat=1), row("3", "", refused=True), row("3", "", repeat=1)]
    m = score_variant(rows, load_prices(), "m", True).metrics
    assert m.f1.mean == pytest.approx((0.5 + 1.0) / 2) and m.f1.n == 2
    assert m.refusal_recall.mean == pytest.approx(0.5) and m.refusal_precision.mean == pytest.approx(1.0)


def test_paired_comparisons_are_variant_minus_rag_on_common_questions():
    rag = [row(str(i), f1=0.0 if i < 6 else 1.0, em=0.0 if i < 6 else 1.0, variant="rag") for i in range(10)]
    # ft wins F1 on 6 of 10 questions and EM on 3; a question rag never saw does not count
    ft = [row(str(i), f1=1.0, em=1.0 if i < 3 or i >= 6 else 0.0, variant="ft") for i in range(10)]
    ft.append(row("extra", f1=0.0, em=0.0, variant="ft"))
    base = [row(str(i), f1=0.0, em=0.0, variant="base") for i in range(10)]
    paired = paired_against({"rag": rag, "ft": ft, "base": base})
    assert set(paired) == {"ft", "base"}
    f1, em = paired["ft"].f1, paired["ft"].exact_match
    assert f1.diff == pytest.approx(0.6) and em.diff == pytest.approx(0.3) and f1.n == 10
    assert 0 < f1.low < f1.diff < f1.high and f1.p_value < 0.05
    worse = paired["base"].f1
    assert worse.diff == pytest.approx(-0.4) and worse.low < worse.diff < worse.high < 0
    assert paired_against({"ft": ft}) == {}
    assert f1.text() == f"+0.60 [{f1.low:+.2f}, {f1.high:+.2f}]"


def test_intervals_render_mean_then_low_then_high():
    assert MetricInterval(mean=0.5, low=0.3, high=0.7, n=20).text() == "0.50 [0.30, 0.70]"
    assert MetricInterval(mean=None, low=None, high=None, n=0).text() == "–"
    assert PairedComparison(diff=-0.1, low=-0.18, high=-0.02, p_value=0.01, n=20).text() == "-0.10 [-0.18, -0.02]"


@pytest.mark.parametrize("low, high, apart", [(-0.18, -0.02, True), (0.01, 0.2, True), (-0.1, 0.1, False),
                                              (0.0, 0.2, False), (-0.2, 0.0, False), (None, None, False)])
def test_variants_are_told_apart_only_when_the_interval_excludes_zero(low, high, apart):
    diff = None if low is None else (low + high) / 2
    assert PairedComparison(diff=diff, low=low, high=high, p_value=0.5, n=20).told_apart is apart


# --- progress and Ctrl-C ---------------------------------------------------------------------------
def test_progress_is_reported_per_variant_and_per_question(indexed, tmp_path):
    from bakeoff_fixture import QUESTIONS, variants

    project, _ = indexed
    calls = []
    run_bakeoff(project, QUESTIONS[:3] + QUESTIONS[-1:], variants(names=("base", "rag")), tmp_path / "bo",
                load_prices(), repeats=2, progress=lambda stage, n, total=None: calls.append((stage, n, total)))
    assert calls[0] == ("variants", 0, 2)
    assert calls.count(("base", 1, 8)) == 8 and calls.count(("rag", 1, 8)) == 8  # 4 questions x 2 repeats
    assert calls.count(("variants", 1, 2)) == 2 and calls[-1] == ("variants", 1, 2)


def test_an_interrupted_bakeoff_keeps_its_cache_and_resumes_to_the_same_numbers(kb, tmp_path, monkeypatch):
    import sqlite3

    from ragtune.generation.fake import ScriptedGenerator

    project, q, _ = kb
    args = ["--questions", str(q), "--variants", "base,rag", "--unanswerable", "1", "-p", str(project), "--json"]
    whole = runner.invoke(app, ["bakeoff", *args, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output

    generate, calls = ScriptedGenerator.generate, []

    def stop_at_the_sixth(self, *a, **k):  # Ctrl-C arrives while the 6th answer is generated
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return generate(self, *a, **k)

    monkeypatch.setattr(ScriptedGenerator, "generate", stop_at_the_sixth)
    out = tmp_path / "bo"
    r = runner.invoke(app, ["bakeoff", *args, "--out", str(out)])
    assert r.exit_code == 130 and "interrupted" in r.stderr and "re-run the same command to resume" in r.stderr
    assert not (out / "results.json").exists() and not (out / "answers.jsonl").exists()
    with sqlite3.connect(out / "cache.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from generations").fetchone() == (5,)  # the 5 finished ones

    monkeypatch.setattr(ScriptedGenerator, "generate", generate)
    r = runner.invoke(app, ["bakeoff", *args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    answers = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    assert sum(a["cached"] for a in answers) == 5
    resumed, complete = json.loads(r.stdout), json.loads(whole.stdout)
    for name in ("base", "rag"):
        assert resumed["variants"][name]["metrics"] == complete["variants"][name]["metrics"]
    assert resumed["paired_vs_rag"] == complete["paired_vs_rag"]
    assert [a["answer"] for a in answers] == [json.loads(x)["answer"]
                                              for x in (tmp_path / "whole" / "answers.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("low, high, p_holm, differs", [(0.01, 0.2, 0.049, True), (0.01, 0.2, 0.05, False),
                                                        (0.01, 0.2, None, True), (-0.2, -0.01, 0.01, True),
                                                        (-0.1, 0.1, 0.01, False), (None, None, None, False)])
def test_a_difference_counts_when_its_interval_excludes_zero_and_it_survives_holm(low, high, p_holm, differs):
    diff = None if low is None else (low + high) / 2
    assert PairedComparison(diff=diff, low=low, high=high, p_value=0.01, n=20, p_holm=p_holm).differs() is differs


# --- the LLM judge ----------------------------------------------------------------------------------
def _judge_endpoint(req):
    """A judge on a local fake endpoint: correct when the answer holds the reference, supported when passages came."""
    text = req.json()["messages"][1]["content"]
    reference = text.split("Reference answer: ")[1].split("\n")[0]
    answer = text.split("Answer to grade: ")[1].split("\n")[0]
    verdicts = {"correct": reference.lower() in answer.lower()}
    if "Passages:" in text:
        verdicts["supported"] = True
    message = {"role": "assistant", "content": json.dumps(verdicts)}
    return 200, {"id": "j", "object": "chat.completion", "created": 0, "model": "judge-m",
                 "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}, {}


def test_bakeoff_with_an_llm_judge_stores_its_setup_verdicts_and_sanity_and_caches_them(kb, tmp_path, monkeypatch):
    from fake_http import FakeServer

    project, q, _ = kb
    monkeypatch.setenv("RAGTUNE_JUDGE_API_KEY", "sk-secret-judge")
    out = tmp_path / "bo"
    with FakeServer(_judge_endpoint) as srv:
        args = ["bakeoff", "--questions", str(q), "--variants", "base,rag", "--judge-base-url", srv.url + "/v1",
                "--judge-model", "judge-m", "--out", str(out), "-p", str(project), "--json"]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        asked = len(srv.requests)
        again = runner.invoke(app, args)  # a re-run asks the judge nothing
        assert again.exit_code == 0 and len(srv.requests) == asked
        md = runner.invoke(app, args[:-1]).stdout
    res = json.loads(r.stdout)
    answers = [json.loads(x) for x in (out / "answers.jsonl").read_text().splitlines()]
    judged = [a for a in answers if a["judgment"]]
    # base and rag each answer the 3 answerable questions; the unanswerable one is not judged
    assert asked == len(judged) == 6 and all(a["answerable"] for a in judged)
    assert all(a["judgment"]["supported"] is None for a in judged if a["variant"] == "base")
    rag_rows = [a for a in judged if a["variant"] == "rag"]
    assert all(a["judgment"]["supported"] is (None if a["refused"] else True) for a in rag_rows)  # a refusal claims nothing
    for variant in ("base", "rag"):
        rows = [a for a in judged if a["variant"] == variant]
        expected = sum(a["reference"].lower() in (a["final"] or a["answer"]).lower() for a in rows) / len(rows)
        assert res["variants"][variant]["metrics"]["judge_correct"]["mean"] == pytest.approx(expected)
    assert res["variants"]["base"]["metrics"]["judge_supported"]["n"] == 0
    assert res["paired_vs_rag"]["base"]["judge_correct"]["n"] == 3
    judge = res["judge"]
    assert judge["setup"]["model"] == "judge-m" and judge["setup"]["base_url"] == srv.url + "/v1"
    assert judge["setup"]["prompt_version"] == JUDGE_PROMPT_VERSION and judge["setup"]["rubric"].startswith("correct: true when")
    assert "sk-secret-judge" not in (out / "results.json").read_text()
    exact = [a for a in judged if a["exact_match"] == 1.0]
    assert judge["sanity"]["exact"] == {"n": len(exact), "agree": len(exact)} and judge["sanity"]["unparsed"] == 0
    # base refuses every question and rag's answers hold their reference: no answer shares no word with it
    # (a bake-off with such answers: test_bakeoff_report.py)
    assert judge["sanity"]["unrelated"] == {"n": 0, "agree": 0}
    assert sorted(judge["ranking"]["by_f1"]) == ["base", "rag"]
    assert "## LLM judge: judge-m at " + srv.url + f"/v1 (prompt version {JUDGE_PROMPT_VERSION})" in md and "Kendall's tau" in md
    assert "No LLM judge" not in md


def test_bakeoff_without_a_judge_says_lexical_metrics_only(kb, tmp_path, monkeypatch, capsys):
    project, q, _ = kb
    r = runner.invoke(app, ["bakeoff", "--questions", str(q), "--variants", "rag", "--out", str(tmp_path / "bo"),
                            "-p", str(project)])
    assert r.exit_code == 0 and r.stdout.count("No LLM judge in this run: lexical metrics only") == 1
    assert json.loads((tmp_path / "bo" / "results.json").read_text())["judge"] is None
    code, _, err = run_main(monkeypatch, capsys, "bakeoff", "--questions", q, "--variants", "rag", "-p", project,
                            "--judge-base-url", "http://127.0.0.1:9/v1")
    assert code == 2 and "--judge-base-url needs --judge-model" in err


def test_the_rag_variants_can_retrieve_with_a_tuned_retriever_job(kb, tmp_path, monkeypatch, capsys):
    """``--retriever-job``: the retrieval variants use the job's embedder over a temporary index (the hashing
    embedder at another dimension plays the tuned model); each variant records what it retrieved with."""
    from ragtune.app import retriever
    from ragtune.config import ComponentSpec
    from ragtune.finetune.jobs import job_store
    from ragtune.project import Project
    from test_retriever_tuning import finished_job

    project, q, _ = kb
    job = finished_job(Project(project), "embedder", tmp_path)
    real = retriever.tuned_component
    monkeypatch.setattr(retriever, "tuned_component",
                        lambda root, j: (real(root, j)[0], ComponentSpec(type="hashing", params={"dimension": 96})))
    config_before = (project / "config.json").read_text()
    args = ("bakeoff", "--questions", q, "--variants", "base,rag", "-p", project, "--json")
    code, out, err = run_main(monkeypatch, capsys, *args, "--out", tmp_path / "tuned", "--retriever-job", job.id)
    assert code == 0, err
    variants = json.loads(out)["variants"]
    assert variants["rag"]["retriever"] == f"job {job.id}'s embedder" and variants["base"]["retriever"] is None
    assert variants["rag"]["metrics"]["f1"]["mean"] > 0.3  # the scripted generator still finds its answers
    assert (project / "config.json").read_text() == config_before and not list(project.glob(".eval-*"))
    assert f"retrieved with job {job.id}'s embedder" in (tmp_path / "tuned" / "report.md").read_text()
    code, out, _ = run_main(monkeypatch, capsys, *args, "--out", tmp_path / "plain")
    assert code == 0 and json.loads(out)["variants"]["rag"]["retriever"] == "project"
    job_store(project).update(job.id, status="failed", error="boom")
    code, _, err = run_main(monkeypatch, capsys, *args, "--out", tmp_path / "bad", "--retriever-job", job.id)
    assert code == 2 and "only a succeeded retriever job can be used" in err
