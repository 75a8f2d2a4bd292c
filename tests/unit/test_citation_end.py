"""The shipped reader's answer ends at its citation: what it writes after its first citation group is dropped, and
streaming stops generating there, through `ask` and the HTTP API; other models' answers are left whole."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import write_files
from ragtune.cli.app import app
from ragtune.generation.fake import ScriptedGenerator
from ragtune.project import Project
from ragtune.rag.citation_end import answer_end, until_citation
from ragtune.rag.prompts import SYSTEM
from ragtune.serve.app import create_app
from ragtune.serve.state import key_store

QUESTION = "How many times is a failed webhook retried?"
# what the reader wrote out of domain: the answer and its citation, then the next passage's title and text
RUN_ON = "9 times [1] Billing Invoices are emailed monthly to the account owner."
runner = CliRunner()


@pytest.mark.parametrize("text, answer", [
    ("$12 [1] Plans and pricing Quillstack offers four plans", "$12 [1]"),
    ("50 MB [1] [2] [3] Quillstack 3.1 release notes [3] Attachments", "50 MB [1] [2] [3]"),
    ("Eight times [1][2].", "Eight times [1][2]"),
    ("$24 [2], [3]\nQuestion: what else?", "$24 [2], [3]"),
    ("$24 [2]", "$24 [2]"),                     # nothing follows: nothing to drop
    ("[1] The Nile is long.", "[1] The Nile is long."),  # a leading citation is not an answer
    ("[1] about 6,650 km [1] more", "[1] about 6,650 km [1]"),
    ("no citation at all", "no citation at all"),
])
def test_the_answer_ends_after_its_first_citation_group(text, answer):
    assert until_citation(text) == answer


@pytest.mark.parametrize("partial, end", [
    ("$12", None), ("$12 [1", None), ("$12 [1]", None), ("$12 [1] ", None), ("$12 [1] [", None),
    ("$12 [1] [2", None), ("$12 [1] P", 7), ("$12 [1].", 7), ("$12 [1] [2] x", 11),
])
def test_while_streaming_it_has_ended_only_once_something_else_follows_the_group(partial, end):
    assert answer_end(partial) == end


def cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr, r.exception)
    return r


@pytest.fixture
def reader_project(tmp_path):
    """A project on the packaged model's engine (so `rag` is the shipped reader) over two documents."""
    write_files(tmp_path / "docs", {"webhooks.md": "A failed webhook is retried 9 times.",
                                    "billing.md": "Invoices are emailed monthly to the account owner."})
    cli("project", "init", "-p", tmp_path / "proj", "--embedder", "hashing", "--generator", "llamacpp",
        "--set", "answer.min_relevance=0", "--set", "answer.reader=true")
    cli("ingest", tmp_path / "docs", "-p", tmp_path / "proj")
    return tmp_path / "proj"


@pytest.fixture
def reader(monkeypatch) -> ScriptedGenerator:
    """The engine every project in the test answers with: it writes RUN_ON word by word."""
    fake = ScriptedGenerator(script=[RUN_ON], piecewise=True)
    monkeypatch.setattr(Project, "generator", lambda self, spec=None: fake)
    return fake


def test_ask_shows_the_readers_answer_up_to_its_citation_and_stops_generating_there(reader_project, reader):
    out = json.loads(cli("ask", QUESTION, "-p", reader_project, "--json").stdout)
    assert out["generated"] == "9 times [1]" and out["answer"] == "9 times [1]" and out["check"] == "kept"
    assert reader.taken == [4]  # "9", "times", "[1]", then "Billing" shows the answer is over
    assert reader.calls[0][0] == {"role": "system", "content": SYSTEM}  # the rules its training data had
    assert out["usage"]["completion_tokens"] == 4


def test_the_plain_model_is_not_cut(reader_project, reader):
    cli("project", "set", "answer.reader=false", "-p", reader_project)
    out = json.loads(cli("ask", QUESTION, "-p", reader_project, "--json").stdout)
    assert out["generated"] == RUN_ON and reader.taken == []


def test_the_server_streams_and_answers_the_readers_answer_up_to_its_citation(reader_project, reader):
    _, key = key_store(Project(reader_project)).create("tests")
    client = TestClient(create_app(reader_project), headers={"Authorization": f"Bearer {key}"})
    asked = {"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}
    whole = client.post("/v1/chat/completions", json=asked).json()
    assert whole["choices"][0]["message"]["content"] == "9 times [1]"
    assert whole["choices"][0]["finish_reason"] == "stop" and whole["usage"]["completion_tokens"] == 4
    streamed = client.post("/v1/chat/completions", json={**asked, "stream": True}).text
    events = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: {")]
    assert "".join(c["delta"].get("content") or "" for e in events for c in e.get("choices", [])) == "9 times [1]"
    assert reader.taken == [4, 4]


def test_eval_qa_scores_the_readers_answer_up_to_its_citation(reader_project, reader, tmp_path):
    questions, results = tmp_path / "q.jsonl", tmp_path / "r.jsonl"
    questions.write_text(json.dumps({"_id": "1", "question": QUESTION, "answer": "9 times"}) + "\n")
    cli("eval", "qa", "--questions", questions, "--results", results, "-p", reader_project)
    row = json.loads(results.read_text())
    assert row["generated"] == "9 times [1]" and row["final"] == "9 times" and row["exact_match"] == 1.0
    assert reader.taken == [4]
