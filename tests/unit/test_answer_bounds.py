"""Generation stops at the answer: the answer format's stop sequences and token cap reach the generator from
`ask`, the server and the bake-off, on the scripted generator (which records what it was asked with)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import write_files
from ragtune.app.variants import resolve
from ragtune.cli.app import app
from ragtune.config import AnswerConfig
from ragtune.generation.fake import ScriptedGenerator
from ragtune.project import Project
from ragtune.raft.format import RAFT_SYSTEM
from ragtune.rag.answer import answer
from ragtune.serve.app import create_app
from ragtune.serve.state import key_store

QUESTION = "How many times is a failed webhook retried?"
STOP = ["\nQuestion:", "\n\n"]
runner = CliRunner()


def cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr, r.exception)
    return r


@pytest.fixture
def proj(tmp_path):
    write_files(tmp_path / "docs", {"webhooks.md": "A failed webhook is retried 9 times.",
                                    "billing.md": "Invoices are emailed monthly."})
    cli("project", "init", "-p", tmp_path / "proj", "--embedder", "hashing", "--generator", "scripted",
        "--set", 'generator.params.script=["It is retried 9 times [1]."]')
    cli("ingest", tmp_path / "docs", "-p", tmp_path / "proj")
    return tmp_path / "proj"


@pytest.fixture
def recorded(monkeypatch) -> ScriptedGenerator:
    """The one generator every project in the test answers with."""
    fake = ScriptedGenerator(script=["It is retried 9 times [1]."])
    monkeypatch.setattr(Project, "generator", lambda self, spec=None: fake)
    return fake


def test_ask_bounds_a_short_answer_by_its_format(proj, recorded):
    cli("ask", QUESTION, "-p", proj)
    assert recorded.limits == [(64, STOP)]  # the documented default for a short cited answer
    cli("project", "set", "answer.max_tokens=40", "-p", proj)
    cli("ask", QUESTION, "-p", proj)
    assert recorded.limits[-1] == (40, STOP)


def test_the_server_bounds_grounded_and_brief_answers_unless_the_client_asks(proj, recorded):
    _, key = key_store(Project(proj)).create("tests")
    client = TestClient(create_app(proj), headers={"Authorization": f"Bearer {key}"})
    asked = [{"role": "user", "content": QUESTION}]
    for body in ({"model": "rag"}, {"model": "rag", "stream": True}, {"model": "base"},
                 {"model": "rag", "max_tokens": 20, "stop": "END"}):
        assert client.post("/v1/chat/completions", json={**body, "messages": asked}).status_code == 200
    assert recorded.limits == [(64, STOP), (64, STOP), (64, STOP), (20, [*STOP, "END"])]


def test_the_bakeoff_bounds_every_variant(proj, recorded, tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"_id": "1", "question": QUESTION, "answer": "9 times"}) + "\n")
    cli("bakeoff", "--questions", q, "--variants", "base,rag", "--out", tmp_path / "bo", "-p", proj, "--json")
    assert recorded.limits == [(64, STOP), (64, STOP)]


def test_a_raft_answer_gets_room_for_its_quote(proj):
    p = Project(proj)
    cfg = AnswerConfig()
    assert (cfg.max_tokens, cfg.quoted_max_tokens) == (64, 160)
    assert replace(resolve(p, "rag"), system=RAFT_SYSTEM).max_tokens(cfg) == 160
    assert resolve(p, "rag").max_tokens(cfg) == resolve(p, "base").max_tokens(cfg) == 64
    gen = ScriptedGenerator(script=["##begin_quote##A failed webhook is retried 9 times.##end_quote## [1]\n"
                                    "<ANSWER>: 9 times [1]"])
    a = answer(QUESTION, p.retriever, gen, AnswerConfig(min_relevance=0.0, quoted_max_tokens=120),
               system=RAFT_SYSTEM)
    assert gen.limits == [(120, STOP)] and a.check == "kept" and a.plain_text == "9 times"
