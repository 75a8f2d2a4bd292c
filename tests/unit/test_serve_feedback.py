"""The interaction log, retention, the fine-tuning export (checked by `data validate`) and the A/B report."""

import json
import math

import pytest
from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.finetune.chat_tokens import chat_counter
from ragtune.finetune.validate import validate
from ragtune.serve.ab_report import report
from ragtune.serve.export import export_finetune
from ragtune.serve.interactions import Interaction, InteractionLog
from ragtune.serve.state_sql import connect

runner = CliRunner()
DAY = 86400.0


def prompt(i: int) -> list[dict]:
    return [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": f"[1] Doc {i}\nFact number {i} is {i * 7}.\n\nQuestion: What is fact {i}?"}]


def sqlite_state(path) -> InteractionLog:
    return connect(f"sqlite:///{path}", path.parent)


def add(log: InteractionLog, i: int, variant: str = "rag", created: float = 1000 * DAY, **kw) -> str:
    it = Interaction(f"chatcmpl-{i}", variant, kw.pop("assigned", True), kw.pop("latency_ms", 10.0),
                     prompt=prompt(i), answer=f"Fact {i} is {i * 7} [1].", created=created, **kw)
    log.record(it)
    return it.id


def test_feedback_latest_wins_and_retention_prunes(tmp_path):
    log = sqlite_state(tmp_path / "i.db")
    old, new = add(log, 1, created=1 * DAY), add(log, 2, created=10 * DAY)
    log.feedback(new, "down")
    log.feedback(new, "up", "Fact 2 is fourteen.")
    rows = log.rows()
    assert [(r["id"], r["rating"], r["corrected"]) for r in rows] == [(old, None, None),
                                                                      (new, "up", "Fact 2 is fourteen.")]
    assert log.prune(retention_days=5, now=12 * DAY) == 1
    assert [r["id"] for r in log.rows()] == [new] and log.rows()[0]["rating"] == "up"
    assert log.prune(None) == 0
    assert [r["id"] for r in log.rows(since=11 * DAY)] == []


def test_export_takes_approved_and_corrected_answers_and_passes_validate(tmp_path):
    log = sqlite_state(tmp_path / "i.db")
    for i in range(12):
        add(log, i)
    for i in range(8):
        log.feedback(f"chatcmpl-{i}", "up")
    log.feedback("chatcmpl-8", "down", "Fact 8 is fifty-six [1].")
    log.feedback("chatcmpl-9", "down")
    # 10, 11: unrated; 12: rated but logged without bodies
    log.record(Interaction("chatcmpl-12", "rag", True, 5.0), bodies=False)
    log.feedback("chatcmpl-12", "up")
    # a failed (timed out) request is never exported
    log.record(Interaction("chatcmpl-13", "rag", True, 5.0, status=504, error="timeout", prompt=prompt(13)))
    log.feedback("chatcmpl-13", "up")

    out = tmp_path / "ft.jsonl"
    r = export_finetune(log, out)
    assert (r.examples, r.approved, r.corrected, r.without_bodies) == (9, 8, 1, 1)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0] == {"messages": [*prompt(0), {"role": "assistant", "content": "Fact 0 is 0 [1]."}]}
    assert lines[8]["messages"][-1]["content"] == "Fact 8 is fifty-six [1]."
    assert validate(out, chat_counter("words")).ok is False  # 9 < the 10 examples fine-tuning needs

    log.feedback("chatcmpl-10", "up")
    r = export_finetune(log, out, force=True)
    assert r.examples == 10
    checked = validate(out, chat_counter("words"))
    assert checked.ok, checked.to_dict()
    assert export_finetune(log, tmp_path / "all.jsonl", min_rating="down").examples == 11  # adds 9's thumbs down


def test_logs_export_cli_with_since(tmp_path):
    proj = tmp_path / "p"
    log = sqlite_state(proj / "interactions.db")
    for i in range(12):
        add(log, i, created=1_700_000_000 + i * DAY)  # 2023-11-14 22:13 UTC onwards, one a day
        log.feedback(f"chatcmpl-{i}", "up")
    out = tmp_path / "ft.jsonl"
    res = runner.invoke(app, ["logs", "export", "--finetune", str(out), "-p", str(proj), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["examples"] == 12
    res = runner.invoke(app, ["data", "validate", str(out), "--base", "words", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["ok"]
    res = runner.invoke(app, ["logs", "export", "--finetune", str(out), "-p", str(proj), "--since", "2023-11-20",
                              "--force", "--json"])
    assert json.loads(res.stdout)["examples"] == 6  # days 6..11 start on or after 2023-11-20 00:00 UTC
    res = runner.invoke(app, ["logs", "export", "--finetune", str(out), "-p", str(proj)])
    assert res.exit_code != 0 and "exists" in str(res.exception)


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Sum of the hypergeometric probabilities of tables with fixed margins no likelier than the observed."""
    n, row, col = a + b + c + d, a + b, a + c
    def prob(x):
        return math.comb(col, x) * math.comb(n - col, row - x) / math.comb(n, row)
    observed = prob(a)
    return sum(prob(x) for x in range(max(0, row + col - n), min(row, col) + 1) if prob(x) <= observed * (1 + 1e-7))


def test_ab_report_against_hand_computed_statistics(tmp_path):
    rows = []
    def row(variant, rating, latency, assigned=True, status=200):
        rows.append({"variant": variant, "rating": rating, "latency_ms": latency, "assigned": assigned,
                     "status": status, "corrected": None, "refused": False})
    for i in range(100):  # control: 40 up, 10 down, 50 unrated; latencies 1..100
        row("rag", "up" if i < 40 else "down" if i < 50 else None, float(i + 1))
    for i in range(20):   # treatment: 2 up, 8 down
        row("ft+rag:abc", "up" if i < 2 else "down" if i < 10 else None, 200.0)
    row("base", "up", 5.0, assigned=False)  # named its model: left out by default
    row("rag", None, 9999.0, status=504)    # failed: never counted
    r = report(rows)
    assert r["control"] == "rag" and set(r["variants"]) == {"rag", "ft+rag:abc"}
    rag, ft = r["variants"]["rag"], r["variants"]["ft+rag:abc"]
    assert (rag["requests"], rag["up"], rag["down"]) == (100, 40, 10)
    assert rag["feedback_rate"]["rate"] == 0.5 and rag["up_rate"]["rate"] == 0.8
    assert (rag["up_rate"]["low"], rag["up_rate"]["high"]) == pytest.approx(wilson(40, 50))
    assert (ft["up_rate"]["low"], ft["up_rate"]["high"]) == pytest.approx(wilson(2, 10))
    assert rag["latency_ms_p50"] == 50.5 and rag["latency_ms_p95"] == pytest.approx(95.05)
    assert ft["vs_control"]["p_value"] == pytest.approx(fisher_two_sided(2, 8, 40, 10))
    assert ft["vs_control"]["significant"] is True and ft["vs_control"]["up_rate_diff"] == pytest.approx(-0.6)
    assert set(report(rows, assigned_only=False)["variants"]) == {"rag", "ft+rag:abc", "base"}


def test_ab_report_cli(tmp_path):
    proj = tmp_path / "p"
    log = sqlite_state(proj / "interactions.db")
    for i in range(6):
        add(log, i, variant="rag" if i < 4 else "base")
        log.feedback(f"chatcmpl-{i}", "up" if i % 2 == 0 else "down")
    res = runner.invoke(app, ["ab", "report", "-p", str(proj), "--json"])
    data = json.loads(res.stdout)
    assert data["control"] == "rag" and data["variants"]["base"]["requests"] == 2
    assert data["variants"]["base"]["vs_control"]["significant"] is False
    res = runner.invoke(app, ["ab", "report", "-p", str(proj)])
    assert res.exit_code == 0 and "not significant" in res.stdout and "control" in res.stdout
    res = runner.invoke(app, ["ab", "report", "-p", str(tmp_path / "none")])
    assert res.exit_code != 0 and "no interactions logged" in str(res.exception)
