"""The bake-off with the real packaged models (int8 MiniLM, SmolLM2 on llama.cpp) on a few demo
questions: every non-tuned variant answers, and retrieval is what lets the model answer at all."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ragtune.bakeoff.demo import demo_questions_path, kb_path, write_support_qa
from ragtune.cli.app import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_bakeoff_on_demo_questions_with_smollm2(tmp_path):
    project = tmp_path / "p"
    assert runner.invoke(app, ["ingest", str(kb_path()), "-p", str(project), "--json"]).exit_code == 0
    # the plain model's variants (the reader that ships for rag is measured in docs/reader.md)
    assert runner.invoke(app, ["project", "set", "answer.reader=false", "-p", str(project)]).exit_code == 0
    shots = write_support_qa(tmp_path / "shots.jsonl")
    r = runner.invoke(app, ["bakeoff", "--questions", str(demo_questions_path()), "--limit", "4", "--variants",
                            "base,fewshot,rag", "--fewshot", str(shots), "--out", str(tmp_path / "bo"),
                            "-p", str(project), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    v = res["variants"]
    assert all(v[n]["n"] == 4 and v[n]["tokens"]["completion_mean"] > 0 for n in ("base", "fewshot", "rag"))
    # the demo product is fictional: without its documents the model cannot know its facts
    assert v["rag"]["metrics"]["f1"]["mean"] > v["base"]["metrics"]["f1"]["mean"]
    assert v["rag"]["tokens"]["prompt_mean"] > v["fewshot"]["tokens"]["prompt_mean"] > v["base"]["tokens"]["prompt_mean"]
    assert (tmp_path / "bo" / "report.html").stat().st_size > 10_000
