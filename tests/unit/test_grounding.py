"""An answer is cited and supported by its passage, or marked unsupported with the reason: through `ask`
(terminal and --json) and the server's `ragtune` extension field, on the scripted generator."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import write_files
from ragtune.cli.app import app
from ragtune.serve.app import create_app
from ragtune.serve.state import key_store

QUESTION = "How many times is a failed webhook retried?"
DOC = "A failed webhook is retried 9 times, with exponential backoff between attempts."
runner = CliRunner()


def cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr, r.exception)
    return r


def project_answering(tmp_path, reply: str, doc: str = DOC):
    """A project whose webhooks document says 9, with a generator that always replies ``reply``."""
    write_files(tmp_path / "docs", {"webhooks.md": doc, "billing.md": "Invoices are emailed monthly."})
    proj = tmp_path / "proj"
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted",
        "--set", f"generator.params.script={json.dumps([reply])}")
    cli("ingest", tmp_path / "docs", "-p", proj)
    return proj


def ask_json(proj) -> dict:
    return json.loads(cli("ask", QUESTION, "-p", proj, "--json").stdout)


def test_a_wrong_uncited_answer_is_unsupported_in_ask(tmp_path):
    proj = project_answering(tmp_path, "The answer is: 3")
    a = ask_json(proj)
    assert a["answer"] == "The answer is: 3" and not a["refused"]
    assert a["supported"] is False and a["citations"] == []
    assert "cites no passage" in a["reason"]
    shown = " ".join(cli("ask", QUESTION, "-p", proj).stdout.split())
    assert "A (unsupported): The answer is: 3" in shown and "cites no passage" in shown


@pytest.mark.parametrize("reply, reason", [
    ("A failed webhook is retried 3 times [1].", "does not hold: 3"),
    ("##begin_quote##retried 3 times##end_quote## [1]\n<ANSWER>: 9 [1]", "quote is not in the passage"),
])
def test_a_cited_passage_that_does_not_hold_the_answer_leaves_it_unsupported(tmp_path, reply, reason):
    a = ask_json(project_answering(tmp_path, reply))
    assert a["supported"] is False and [c["source"][-11:] for c in a["citations"]] == ["webhooks.md"]
    assert "the cited passage [1] does not support it" in a["reason"] and reason in a["reason"]


def test_an_uncited_answer_gets_an_inferred_citation_only_when_that_passage_supports_it(tmp_path):
    a = ask_json(project_answering(tmp_path, "A failed webhook is retried 9 times."))
    assert a["supported"] is True and a["reason"] == ""
    assert [(c["source"][-11:], c["inferred"]) for c in a["citations"]] == [("webhooks.md", True)]
    wrong = ask_json(project_answering(tmp_path / "w", "A failed webhook is retried 7 times."))
    assert wrong["supported"] is False and wrong["citations"] == []
    assert "closest one does not support it" in wrong["reason"] and "does not hold: 7" in wrong["reason"]


def test_a_number_spelled_out_in_the_passage_supports_its_digits(tmp_path):
    spelled = "A failed webhook is retried nine times with backoff."
    assert ask_json(project_answering(tmp_path / "a", "It is retried 9 times [1].", spelled))["supported"] is True
    wrong = ask_json(project_answering(tmp_path / "b", "It is retried 8 times [1].", spelled))
    assert wrong["supported"] is False and "does not hold: 8" in wrong["reason"]


def test_a_cited_supported_answer_is_a_plain_answer(tmp_path):
    proj = project_answering(tmp_path, "It is retried 9 times [1].")
    a = ask_json(proj)
    assert a["supported"] is True and a["reason"] == "" and a["citations"][0]["inferred"] is False
    assert "A: It is retried 9 times [1]." in " ".join(cli("ask", QUESTION, "-p", proj).stdout.split())


def test_the_server_reports_an_unsupported_answer_in_its_extension_field(tmp_path):
    proj = project_answering(tmp_path, "The answer is: 3")
    from ragtune.project import Project

    _, key = key_store(Project(proj)).create("tests")
    client = TestClient(create_app(proj), headers={"Authorization": f"Bearer {key}"})
    body = {"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}
    whole = client.post("/v1/chat/completions", json=body)
    assert whole.status_code == 200, whole.text
    info = whole.json()["ragtune"]
    assert info["refused"] is False and info["supported"] is False and info["citations"] == []
    assert "cites no passage" in info["reason"]
    streamed = client.post("/v1/chat/completions", json={**body, "stream": True})
    events = [json.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert events[-1]["ragtune"]["supported"] is False and events[-1]["ragtune"]["reason"] == info["reason"]


def test_the_bakeoff_records_why_a_rag_answer_is_unsupported_and_does_not_judge_one_without_passages(tmp_path):
    proj = project_answering(tmp_path, "The answer is: 3")
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"_id": "1", "question": QUESTION, "answer": "9 times"}) + "\n")
    cli("bakeoff", "--questions", q, "--variants", "base,rag", "--out", tmp_path / "bo", "-p", proj, "--json")
    rows = {r["variant"]: r for r in map(json.loads, (tmp_path / "bo" / "answers.jsonl").read_text().splitlines())}
    assert rows["rag"]["supported"] is False and "cites no passage" in rows["rag"]["reason"]
    assert rows["base"]["supported"] is None and rows["base"]["reason"] == ""
