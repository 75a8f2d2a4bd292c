"""`ragtune demo` scores its own answers: each demo question's answer against its reference by the rule of
evaluation/outcome.py, and the total. Known answers: the scripted generator (and a fake OpenAI-compatible
endpoint for --base-url) say exactly what each question gets, so every verdict and the total are known."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fake_http import FakeServer
from ragtune.app.demo import demo_rows
from ragtune.cli.app import app
from ragtune.rag.check import CHECKERS, Outcome, SupportVerdict
from ragtune.rag.prompts import REFUSAL

runner = CliRunner()
ROWS = demo_rows()
# every question reaches the model: the relevance and coverage gates would refuse some before it with the
# hashing embedder, and then the script's replies would no longer line up with the questions
# and the support check keeps every answer: with the hashing embedder the reference's page is rarely passage [1],
# and what the demo scores is the shown answer, whatever the check made of it (tests of the check: test_support*)
NO_GATES = ["--set", "answer.min_relevance=-1", "--set", "answer.min_coverage=0", "--set",
            'checker={"type": "keep-every-answer"}']


@CHECKERS.register("keep-every-answer")
class KeepEveryAnswer:
    def check(self, question, answer, passages):
        return SupportVerdict(Outcome.kept)
SPECIAL = {
    "q01": ("Run qs login [1].", "right answer"),              # the reference inside a sentence
    "q02": ("Use filter:keyword [1].", "wrong"),               # the wrong filter
    "q03": ("The Business plan costs $24 per member [1].", "right answer"),  # "$24" normalises to "24"
    "q04": (REFUSAL, "wrong refusal"),                         # the knowledge base holds it
    "q07": ("A version mismatch [1].", "wrong"),               # a paraphrase of "Version conflict" is not a match
    "q21": (REFUSAL, "right refusal"),
    "q22": ("Yes, notes can be edited offline [2].", "wrong"),  # an answer where the documents hold none
    "q23": ("I don't know: the provided documents do not contain the answer.", "right refusal"),
}


def reply(row: dict) -> str:
    return SPECIAL[row["_id"]][0] if row["_id"] in SPECIAL else (f"{row['answer']} [1]" if row["answer"] else REFUSAL)


def expected(row: dict) -> str:
    return SPECIAL[row["_id"]][1] if row["_id"] in SPECIAL else ("right answer" if row["answer"] else "right refusal")


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def scripted_project(tmp_path):
    proj = tmp_path / "p"
    script = json.dumps([reply(r) for r in ROWS])
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted", *NO_GATES,
        "--set", f"generator.params={json.dumps({'script': json.loads(script)})}")
    return proj


def test_demo_json_scores_every_question_and_totals_them(tmp_path):
    assert [r["_id"] for r in ROWS] == [f"q{n:02d}" for n in range(1, 25)]  # the script follows this order
    got = json.loads(cli("demo", "-p", scripted_project(tmp_path), "--json").stdout)
    answers = {a["question"]: a for a in got["answers"]}
    assert len(answers) == 24
    for row in ROWS:
        a = answers[row["question"]]
        assert (a["reference"], a["source"], a["outcome"]) == (row["answer"], row["source"], expected(row)), row["_id"]
        assert a["right"] == a["outcome"].startswith("right")
        assert a["citation"] == (a["citations"][0]["doc_id"] if a["citations"] else "")
    # 16 answerable questions answered with their reference + q01, q03; wrong: q02, q07, q22; q04 refused; 3 right
    # refusals (q21, q23, q24)
    assert got["score"] == {"questions": 24, "right": 20, "outcomes": {
        "right answer": 17, "right refusal": 3, "wrong": 3, "wrong refusal": 1}}
    assert got["model"] == "scripted" and got["worked_examples"] is False  # not a llama.cpp model
    assert got["context_words"] is None  # only the packaged SmolLM2 reads cut passages unless the config says so


def test_demo_prints_each_verdict_and_the_score(tmp_path):
    shown = " ".join(cli("demo", "-p", scripted_project(tmp_path)).stdout.split())
    assert "Q: Which search filter restricts Quillstack search results to a single notebook? A: Use filter:keyword" \
           in shown
    assert "reference: notebook: (getting-started/search-syntax.html) wrong" in shown
    assert "reference: (not in the documents) right refusal" in shown
    assert "Score: 20 of 24 right (right answer: 17, right refusal: 3, wrong: 3, wrong refusal: 1) with scripted right " \
           "answer: the answer holds" in shown


def test_demo_says_when_the_passages_the_model_reads_are_cut(tmp_path):
    proj = scripted_project(tmp_path)
    cli("project", "set", "-p", proj, "answer.context_words=40")
    got = json.loads(cli("demo", "-p", proj, "--json").stdout)
    shown = " ".join(cli("demo", "-p", proj).stdout.split())
    assert got["context_words"] == 40
    assert "with scripted, passages cut to 40 words right answer:" in shown


def test_demo_against_an_endpoint_sends_its_model_and_examples_only_when_asked(tmp_path, monkeypatch):
    """--base-url/--model: any OpenAI-compatible model gets the same scored demo. An endpoint's model is asked
    without the built-in worked examples unless --examples says so."""
    by_question = {r["question"]: reply(r) for r in ROWS}

    def chat(req):
        user = req.json()["messages"][-1]["content"]
        text = by_question[user.rpartition("Question: ")[2]]
        return 200, {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}, {}

    monkeypatch.setenv("OPENAI_API_KEY", "k")
    proj = tmp_path / "p"
    cli("project", "init", "-p", proj, "--embedder", "hashing", *NO_GATES)
    with FakeServer(chat) as srv:
        plain = json.loads(cli("demo", "-p", proj, "--base-url", srv.url + "/v1", "--model", "big-1", "--json").stdout)
        sent = [r.json() for r in srv.requests]
        assert len(sent) == 24 and {s["model"] for s in sent} == {"big-1"}
        assert all([m["role"] for m in s["messages"]] == ["system", "user"] for s in sent)
        srv.requests.clear()
        shots = json.loads(cli("demo", "-p", proj, "--base-url", srv.url + "/v1", "--model", "big-1", "--examples",
                               "--json").stdout)
        assert all(len(r.json()["messages"]) == 2 + 2 * 3 for r in srv.requests)
    for got in (plain, shots):
        assert got["model"] == "big-1" and got["score"]["right"] == 20
    assert (plain["worked_examples"], shots["worked_examples"]) == (False, True)
