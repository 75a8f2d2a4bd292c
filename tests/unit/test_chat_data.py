"""Chat fine-tuning data: every check of `data validate`, reported all at once, and `data split`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragtune.errors import RagtuneError
from ragtune.finetune.chat_tokens import WordCounter
from ragtune.finetune.dataset import read_chat_file
from ragtune.finetune.split import split
from ragtune.finetune.validate import validate


def example(i: int, system: bool = True) -> dict:
    msgs = [{"role": "user", "content": f"Question number {i} about topic {i * 7}?"},
            {"role": "assistant", "content": f"Answer {i}: the value is {i * 3}."}]
    if system:
        msgs.insert(0, {"role": "system", "content": "You are terse."})
    return {"messages": msgs}


def write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def errors(report) -> list[str]:
    return [str(f) for f in report.findings if f.severity == "error"]


def warnings(report) -> list[str]:
    return [str(f) for f in report.findings if f.severity == "warning"]


def test_a_clean_file_passes_with_exact_token_stats(tmp_path):
    f = write(tmp_path / "t.jsonl", [example(i) for i in range(60)])
    report = validate(f, WordCounter())
    assert report.ok and not report.findings
    counter = WordCounter()
    counts = [counter.count(e["messages"]) for e in (example(i) for i in range(60))]
    stats = report.stats["files"][0]
    assert stats["examples"] == 60 and stats["tokens_per_epoch"] == sum(counts)
    assert (stats["tokens_min"], stats["tokens_max"]) == (min(counts), max(counts))


def test_every_problem_is_reported_at_once_with_its_line(tmp_path):
    rows = [example(i) for i in range(12)] + [
        "{not json",
        {"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "   "}]},
        {"messages": [{"role": "user", "content": "q"}]},
        {"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]},
        {"messages": [{"role": "user", "content": "q", "mood": "happy"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "meta": 1},
        [1, 2],
    ]
    report = validate(write(tmp_path / "t.jsonl", rows), WordCounter())
    errs = errors(report)
    assert not report.ok
    expected = {13: "invalid JSON", 14: "role 'robot'", 15: "message 2 (assistant): empty content",
                16: "at least one user and one assistant", 17: "last message must be the assistant",
                18: "unknown key(s) mood", 19: "unknown key(s) meta", 20: "expected a JSON object"}
    for line, text in expected.items():
        assert any(f"t.jsonl:{line}:" in e and text in e for e in errs), (line, text, errs)


def test_prompt_completion_lines_are_converted(tmp_path):
    f = write(tmp_path / "t.jsonl", [{"prompt": "Capital of France?", "completion": "Paris"}])
    cf = read_chat_file(f)
    assert cf.examples[0].messages == [{"role": "user", "content": "Capital of France?"},
                                       {"role": "assistant", "content": "Paris"}]


@pytest.mark.parametrize("n, severity", [(9, "error"), (10, "warning"), (49, "warning"), (50, None)])
def test_example_count_thresholds(tmp_path, n, severity):
    report = validate(write(tmp_path / "t.jsonl", [example(i) for i in range(n)]), WordCounter())
    found = [f.severity for f in report.findings if "examples" in f.message]
    assert found == ([severity] if severity else [])


def test_duplicates_near_duplicates_and_truncation(tmp_path):
    base = [example(i) for i in range(50)]
    near = {"messages": [dict(m) for m in base[3]["messages"]]}
    near["messages"][-1]["content"] += " Indeed."
    long = {"messages": [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "ok"}]}
    report = validate(write(tmp_path / "t.jsonl", [*base, base[0], near, long]), WordCounter(), max_seq_len=100)
    warns = warnings(report)
    assert any("t.jsonl:51:" in w and "exact duplicate of line 1" in w for w in warns)
    assert any("t.jsonl:52:" in w and "near duplicate of line 4" in w for w in warns)
    assert any("t.jsonl:53:" in w and "truncated" in w for w in warns)
    assert report.ok and report.stats["files"][0]["truncated"] == 1


def test_validation_overlap_is_leakage(tmp_path):
    train = write(tmp_path / "train.jsonl", [example(i) for i in range(50)])
    val = write(tmp_path / "val.jsonl", [example(100), example(7)])
    report = validate(train, WordCounter(), val=val)
    assert not report.ok
    assert any("val.jsonl:2:" in e and "line 8" in e and "leaked" in e for e in errors(report))


def test_split_is_deterministic_disjoint_and_complete(tmp_path):
    rows = [example(i) for i in range(100)] + [example(5)]  # a duplicate must stay with its twin
    f = write(tmp_path / "d.jsonl", rows)
    t1, v1, n_train, n_val = split(f, 0.15, seed=3, out_dir=tmp_path / "a")
    t2, v2, *_ = split(f, 0.15, seed=3, out_dir=tmp_path / "b")
    assert t1.read_text() == t2.read_text() and v1.read_text() == v2.read_text()
    assert n_val == 15 or n_val == 16
    assert n_train + n_val == 101
    train = set(t1.read_text().splitlines())
    val = set(v1.read_text().splitlines())
    assert not train & val
    _, v3, *_ = split(f, 0.15, seed=4, out_dir=tmp_path / "c")
    assert v3.read_text() != v1.read_text()


def test_split_refuses_to_overwrite_or_split_bad_files(tmp_path):
    f = write(tmp_path / "d.jsonl", [example(i) for i in range(20)])
    split(f, 0.2)
    with pytest.raises(RagtuneError, match="--force"):
        split(f, 0.2)
    split(f, 0.2, force=True)
    bad = write(tmp_path / "bad.jsonl", [example(1), "{oops"])
    with pytest.raises(RagtuneError, match=re.escape("bad.jsonl:2")):
        split(bad, 0.2)
    with pytest.raises(RagtuneError, match="between 0 and 1"):
        split(f, 1.5)


def test_cli_validate_and_split(tmp_path):
    from typer.testing import CliRunner

    from ragtune.cli.app import app

    runner = CliRunner()
    good = write(tmp_path / "good.jsonl", [example(i) for i in range(60)])
    r = runner.invoke(app, ["data", "validate", str(good), "--base", "words", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    bad = write(tmp_path / "bad.jsonl", [example(i) for i in range(60)] + ["{oops"])
    r = runner.invoke(app, ["data", "validate", str(bad), "--base", "words", "--json"])
    assert r.exit_code == 1
    assert any("bad.jsonl:61" in e for e in json.loads(r.stdout)["errors"])
    r = runner.invoke(app, ["data", "split", str(good), "--val", "0.1", "--seed", "1", "--json"])
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert (out["train_examples"], out["val_examples"]) == (54, 6)
    r = runner.invoke(app, ["data", "validate", out["train"], "--val", out["val"], "--base", "words", "--json"])
    assert r.exit_code == 0, r.stdout


def test_an_undecodable_byte_costs_its_line_only_and_a_number_is_not_called_empty(tmp_path):
    """`data validate` as the user met it: one line holding byte 0xE9 used to reject the whole file
    ("0 valid examples") and hide every other problem."""
    from typer.testing import CliRunner

    from ragtune.cli.app import app

    good = [json.dumps(example(i)).encode() for i in range(60)]
    latin1 = json.dumps(example(99)).replace("Question", "Qu\u00e9stion").encode("latin-1")
    number = json.dumps({"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "x"}]})
    lines = [*good[:30], latin1, *good[30:], b"{oops", number.encode()]
    f = tmp_path / "t.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    r = CliRunner().invoke(app, ["data", "validate", str(f), "--base", "words", "--json"])
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    column = latin1.index(b"\xe9") + 1
    offset = sum(len(x) + 1 for x in good[:30]) + column - 1
    assert report["errors"] == [
        f"error: {f}:31: not UTF-8: byte 0xe9 at column {column} (byte {offset} of the file)",
        f"error: {f}:62: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"error: {f}:63: message 1 (user): content must be a string (got a number)"]
    assert report["stats"]["files"][0]["examples"] == 60
