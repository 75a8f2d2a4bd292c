"""An answer is shown only when its cited passage supports it: otherwise the passage sentence that answers the
question is shown in its place, or a refusal with the reason. Through `ask` (terminal and --json), the server's
content and `ragtune` extension field (whole and streamed) and the bake-off's rows, on the scripted generator."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import write_files
from ragtune.cli.app import app
from ragtune.project import Project
from ragtune.serve.app import create_app
from ragtune.serve.state import key_store

QUESTION = "How many times is a failed webhook retried?"
DOC = "A failed webhook is retried 9 times. Backoff between attempts is exponential."
SENTENCE = "A failed webhook is retried 9 times. [1]"
# two sentences answer the question equally well: neither clearly does
TWO_ANSWERS = "A failed webhook is retried 9 times by default. A failed webhook is retried 3 times in the sandbox."
REFUSAL = "I don't know: the provided documents do not contain the answer."
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


def shown(proj) -> str:
    return " ".join(cli("ask", QUESTION, "-p", proj).stdout.split())


def test_a_wrong_uncited_answer_is_replaced_by_the_supporting_sentence(tmp_path):
    proj = project_answering(tmp_path, "The answer is: 3")
    a = ask_json(proj)
    assert (a["answer"], a["refused"], a["check"], a["supported"]) == (SENTENCE, False, "replaced", False)
    assert a["generated"] == "The answer is: 3"
    assert [(c["n"], c["source"][-11:], c["inferred"]) for c in a["citations"]] == [(1, "webhooks.md", False)]
    assert a["reason"] == "it cites no passage, and no passage holds its words"
    text = shown(proj)
    assert f"A (from the passage): {SENTENCE}" in text and "no passage holds its words" in text
    assert "answer is: 3" not in text


@pytest.mark.parametrize("reply, reason", [
    ("A failed webhook is retried 3 times [1].", "the passage does not hold: 3"),
    ("##begin_quote##retried 3 times##end_quote## [1]\n<ANSWER>: 9 [1]",
     "its quote is not in the passage: 'retried 3 times'"),
])
def test_an_answer_its_cited_passage_does_not_support_is_replaced(tmp_path, reply, reason):
    a = ask_json(project_answering(tmp_path, reply))
    assert (a["answer"], a["check"], a["generated"]) == (SENTENCE, "replaced", reply)
    assert a["reason"] == f"the cited passage [1] does not support it: {reason}"


def test_an_unsupported_answer_is_refused_when_no_sentence_clearly_answers(tmp_path):
    doc = TWO_ANSWERS
    a = ask_json(project_answering(tmp_path, "It is retried 5 times [1].", doc))
    assert (a["answer"], a["refused"], a["check"], a["citations"]) == (REFUSAL, True, "refused", [])
    assert a["reason"] == ("the cited passage [1] does not support it: the passage does not hold: 5; "
                           "no passage sentence clearly answers the question")
    assert f"A (refused): {REFUSAL}" in shown(project_answering(tmp_path / "t", "It is retried 5 times [1].", doc))


def test_an_answer_citing_nothing_stands_only_through_a_passage_that_supports_it(tmp_path):
    a = ask_json(project_answering(tmp_path, "A failed webhook is retried 9 times."))
    assert (a["answer"], a["check"], a["supported"], a["reason"]) == (
        "A failed webhook is retried 9 times.", "kept", True, "")
    assert [(c["source"][-11:], c["inferred"]) for c in a["citations"]] == [("webhooks.md", True)]
    other = ask_json(project_answering(tmp_path / "o", "Purple elephants."))
    assert (other["answer"], other["check"]) == (SENTENCE, "replaced")
    assert other["reason"] == "it cites no passage, and no passage holds its words"


def test_a_cited_supported_answer_is_shown_as_written(tmp_path):
    proj = project_answering(tmp_path, "It is retried 9 times [1].")
    a = ask_json(proj)
    assert (a["answer"], a["check"], a["supported"], a["reason"]) == ("It is retried 9 times [1].", "kept", True, "")
    assert a["citations"][0]["inferred"] is False
    assert "A: It is retried 9 times [1]." in shown(proj)


def test_a_number_spelled_out_in_the_passage_supports_its_digits(tmp_path):
    spelled = "A failed webhook is retried nine times with backoff."
    assert ask_json(project_answering(tmp_path / "a", "It is retried 9 times [1].", spelled))["check"] == "kept"
    wrong = ask_json(project_answering(tmp_path / "b", "It is retried 8 times [1].", spelled))
    assert wrong["check"] == "replaced" and wrong["answer"] == "A failed webhook is retried nine times with backoff. [1]"


def client_for(proj) -> TestClient:
    _, key = key_store(Project(proj)).create("tests")
    return TestClient(create_app(proj), headers={"Authorization": f"Bearer {key}"})


def final_event(streamed) -> tuple[str, dict]:
    events = [json.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    text = "".join(c["delta"].get("content") or "" for e in events for c in e.get("choices", []))
    return text, events[-1]["ragtune"]


@pytest.mark.parametrize("reply, content, check", [
    ("The answer is: 3", SENTENCE, "replaced"),
    ("It is retried 9 times [1].", "It is retried 9 times [1].", "kept"),
])
def test_the_server_shows_only_a_checked_answer_and_says_what_the_check_did(tmp_path, reply, content, check):
    client = client_for(project_answering(tmp_path, reply))
    body = {"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}
    whole = client.post("/v1/chat/completions", json=body)
    assert whole.status_code == 200, whole.text
    info = whole.json()["ragtune"]
    assert whole.json()["choices"][0]["message"]["content"] == content
    assert (info["check"], info["generated"], info["supported"]) == (check, reply, check == "kept")
    text, last = final_event(client.post("/v1/chat/completions", json={**body, "stream": True}))
    assert text == content
    assert (last["check"], last["reason"], last["generated"]) == (check, info["reason"], reply)


def test_the_server_refuses_an_answer_nothing_supports(tmp_path):
    doc = TWO_ANSWERS
    client = client_for(project_answering(tmp_path, "It is retried 5 times [1].", doc))
    body = {"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}
    info = client.post("/v1/chat/completions", json=body).json()
    text, last = final_event(client.post("/v1/chat/completions", json={**body, "stream": True}))
    assert text == REFUSAL and last["refused"] and last["check"] == "refused"
    assert last["reason"].endswith("no passage sentence clearly answers the question")
    assert info["ragtune"]["check"] == "refused" and info["choices"][0]["message"]["content"] == REFUSAL


def test_the_bakeoff_records_what_the_check_did_and_judges_faithfulness_on_what_the_model_wrote(tmp_path):
    proj = project_answering(tmp_path, "The answer is: 3")
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"_id": "1", "question": QUESTION, "answer": "9 times"}) + "\n")
    cli("bakeoff", "--questions", q, "--variants", "base,rag", "--out", tmp_path / "bo", "-p", proj, "--json")
    rows = {r["variant"]: r for r in map(json.loads, (tmp_path / "bo" / "answers.jsonl").read_text().splitlines())}
    rag = rows["rag"]
    assert (rag["check"], rag["answer"], rag["generated"]) == ("replaced", SENTENCE, "The answer is: 3")
    assert rag["final"] == "A failed webhook is retried 9 times." and rag["f1"] == pytest.approx(0.5)
    assert rag["supported"] is False and rag["reason"] == "it cites no passage, and no passage holds its words"
    assert (rows["base"]["check"], rows["base"]["supported"], rows["base"]["reason"]) == (None, None, "")
    results = json.loads((tmp_path / "bo" / "results.json").read_text())
    assert results["variants"]["rag"]["metrics"]["faithfulness"]["mean"] == 0.0
