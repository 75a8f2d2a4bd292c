"""A bake-off run on the fakes, exported as a Ragas evaluation dataset, and loaded by Ragas itself."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from ragtune.cli.app import app

runner = CliRunner()
QUESTIONS = [{"_id": "q1", "question": "How many requests per minute does the API allow?",
              "answer": "six hundred"},
             {"_id": "q2", "question": "How are refunds issued?", "answer": "to the original card"},
             {"_id": "q3", "question": "What colour is the office carpet?", "answer": ""}]  # unanswerable


@pytest.fixture
def bakeoff(indexed, tmp_path):
    project, _ = indexed
    q = tmp_path / "q.jsonl"
    q.write_text("".join(json.dumps(r) + "\n" for r in QUESTIONS))
    r = runner.invoke(app, ["bakeoff", "--questions", str(q), "--variants", "base,rag", "--out", str(tmp_path / "bo"),
                            "-p", str(project.root), "--json"])
    assert r.exit_code == 0, r.output
    return project, tmp_path / "bo"


def export(project, bo, out, *extra):
    return runner.invoke(app, ["export", "ragas", str(out), "--from", str(bo), "-p", str(project.root), "--json",
                               *extra])


def test_rag_answers_become_ragas_samples_with_the_retrieved_texts(bakeoff, tmp_path):
    project, bo = bakeoff
    r = export(project, bo, tmp_path / "ragas.jsonl")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["samples"] == 3
    rows = [json.loads(x) for x in (tmp_path / "ragas.jsonl").read_text().splitlines()]
    answers = {a["id"]: a for a in map(json.loads, (bo / "answers.jsonl").read_text().splitlines())
               if a["variant"] == "rag"}
    assert [r["user_input"] for r in rows] == [q["question"] for q in QUESTIONS]
    for row, q in zip(rows, QUESTIONS, strict=True):
        a = answers[q["_id"]]
        chunks = {c.chunk_id: c for c in project.store.get(a["contexts"])}
        assert row["retrieved_context_ids"] == a["contexts"] and len(a["contexts"]) > 0
        assert row["retrieved_contexts"] == [f"{chunks[i].title}\n{chunks[i].text}" for i in a["contexts"]]
        assert row["response"] == (a["final"] or a["answer"]) and row["response"]
    assert rows[0]["reference"] == "six hundred" and "six hundred" in " ".join(rows[0]["retrieved_contexts"])
    assert "reference" not in rows[2]  # nothing to compare an unanswerable question with


def test_a_variant_without_answers_or_a_missing_run_is_a_clear_error(bakeoff, tmp_path):
    project, bo = bakeoff
    r = export(project, bo, tmp_path / "x.jsonl", "--variant", "ft+rag")
    assert r.exit_code != 0 and str(r.exception) == "the bake-off has no answers from variant 'ft+rag'; it has base, rag"
    r = export(project, tmp_path / "nowhere", tmp_path / "x.jsonl")
    assert r.exit_code != 0 and "answers.jsonl not found" in str(r.exception)
    assert not (tmp_path / "x.jsonl").exists()


LOAD = """
import json, sys
from ragas import EvaluationDataset
ds = EvaluationDataset.from_jsonl(sys.argv[1])
print(json.dumps([[s.user_input, s.retrieved_contexts, s.retrieved_context_ids, s.response, s.reference]
                  for s in ds.samples]))
"""


def ragas_python() -> str:
    """An interpreter with Ragas: this one, or RAGTUNE_RAGAS_PYTHON (Ragas 0.4 pins openai<2 through
    instructor, which conflicts with ragtune's openai, so it may live in a venv of its own)."""
    try:
        import sys

        import ragas  # noqa: F401

        return sys.executable
    except ImportError:
        python = os.environ.get("RAGTUNE_RAGAS_PYTHON")
        if not python:
            pytest.skip("Ragas is not importable here; set RAGTUNE_RAGAS_PYTHON to a Python that has it")
        return python


def test_ragas_loads_the_export(bakeoff, tmp_path):
    python = ragas_python()
    project, bo = bakeoff
    assert export(project, bo, tmp_path / "ragas.jsonl").exit_code == 0
    rows = [json.loads(x) for x in (tmp_path / "ragas.jsonl").read_text().splitlines()]
    done = subprocess.run([python, "-c", LOAD, str(tmp_path / "ragas.jsonl")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [[r["user_input"], r["retrieved_contexts"], r["retrieved_context_ids"], r["response"],
                       r.get("reference")] for r in rows]
