"""ragtune's built-in worked examples: invented, so they leak nothing of the data ragtune is measured on (the
demo knowledge base and its questions, the mini-wiki dev questions); each is a well-formed grounded example;
and the `rag` variant gets them where answer.worked_examples (or --examples) puts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import make_project
from fake_http import FakeServer
from ragtune.app.demo import demo_rows, kb_path
from ragtune.app.variants import resolve
from ragtune.cli.app import app
from ragtune.config import AnswerConfig, ComponentSpec
from ragtune.evaluation.answer_metrics import containment, normalize
from ragtune.rag.worked_examples import worked_examples, worked_shots

MINIWIKI = Path(__file__).parents[2].parent / "shared" / "data" / "miniwiki" / "questions.dev.jsonl"
EXAMPLES = worked_examples()
SHINGLE = 5


def shingles(text: str) -> set[tuple[str, ...]]:
    words = normalize(text).split()
    return {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def test_three_examples_each_citing_the_passage_that_holds_its_answer():
    assert len(EXAMPLES) == 3
    for e in EXAMPLES:
        assert containment(e.passages[e.cite - 1].text, e.answer) == 1.0
        assert not any(containment(p.text, e.answer) for n, p in enumerate(e.passages, start=1) if n != e.cite)
    user, answer = worked_shots()[1]
    assert answer == "once a week [3]"
    assert user.startswith("[1] Feeding a starter\nFeed a starter kept at room temperature") and \
           user.endswith("\n\nQuestion: How often does a sourdough starter kept in the refrigerator need feeding?")
    assert user.count("\n[") == 2  # three numbered passages, as grounded_user numbers retrieved ones


def test_no_example_comes_from_the_demo_knowledge_base_or_its_questions():
    demo_q = {normalize(r["question"]) for r in demo_rows()}
    demo_a = {normalize(r["answer"]) for r in demo_rows() if r["answer"]}
    kb = set().union(*(shingles(p.read_text(encoding="utf-8")) for p in kb_path().rglob("*") if p.is_file()))
    assert len(kb) > 10_000  # the pages were read
    for e in EXAMPLES:
        assert normalize(e.question) not in demo_q and normalize(e.answer) not in demo_a
        for p in e.passages:
            assert not shingles(p.text) & kb, p.text  # no run of 5 words in common with any page


@pytest.mark.skipif(not MINIWIKI.exists(), reason=f"shared data not found at {MINIWIKI}")
def test_no_example_is_a_miniwiki_question_or_answer():
    rows = [json.loads(line) for line in MINIWIKI.read_text().splitlines() if line.strip()]
    assert len(rows) == 459
    questions, answers = {normalize(r["question"]) for r in rows}, {normalize(r["answer"]) for r in rows}
    text = normalize(MINIWIKI.read_text())
    for e in EXAMPLES:
        assert normalize(e.question) not in questions and normalize(e.question) not in text
        assert normalize(e.answer) not in answers


def test_rag_gets_the_examples_for_llamacpp_models_unless_switched_off(tmp_path):
    local = make_project(tmp_path / "local", generator=ComponentSpec(type="llamacpp"),
                         answer=AnswerConfig(reader=False))
    reader = make_project(tmp_path / "reader", generator=ComponentSpec(type="llamacpp"),
                          answer=AnswerConfig(reader=True))
    assert resolve(reader, "rag").shots == ()  # the shipped reader is asked as it was trained
    assert resolve(local, "rag").shots == worked_shots()
    assert resolve(local, "rag", examples=False).shots == ()
    assert resolve(local, "base").shots == ()  # no retrieval: not grounded examples
    off = make_project(tmp_path / "off", generator=ComponentSpec(type="llamacpp"),
                       answer=AnswerConfig(worked_examples=False, reader=False))
    assert resolve(off, "rag").shots == () and resolve(off, "rag", examples=True).shots == worked_shots()
    fake = make_project(tmp_path / "fake")
    assert resolve(fake, "rag").shots == ()
    assert resolve(fake, "rag", model="qwen2.5-coder-0.5b").shots == worked_shots()  # --model: a llama.cpp model
    assert resolve(fake, "rag", model="m", base_url="http://x/v1").shots == ()  # an endpoint's model


def test_ask_sends_the_examples_before_the_question(tmp_path, monkeypatch, corpus_dir):
    def chat(req):
        return 200, {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "five days [1]"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}, {}

    def ask(*extra):
        result = CliRunner().invoke(app, ["ask", "How long do refunds take?", "-p", str(proj), "--base-url",
                                          srv.url + "/v1", "--json", *extra])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return srv.requests[-1].json()["messages"]

    monkeypatch.setenv("OPENAI_API_KEY", "k")
    proj = tmp_path / "p"
    for args in (["project", "init", "-p", proj, "--embedder", "hashing", "--set", "answer.min_relevance=-1",
                  "--set", "answer.min_coverage=0"], ["ingest", corpus_dir / "kb", "-p", proj]):
        assert CliRunner().invoke(app, [str(a) for a in args]).exit_code == 0
    with FakeServer(chat) as srv:
        assert [m["role"] for m in ask()] == ["system", "user"]
        sent = ask("--examples")
        assert [m["content"] for m in sent[1:7]] == [x for shot in worked_shots() for x in shot]
        assert sent[-1]["content"].endswith("Question: How long do refunds take?")
        assert CliRunner().invoke(app, ["project", "set", "answer.worked_examples=true", "-p", str(proj)]).exit_code == 0
        assert len(ask()) == 8 and len(ask("--no-examples")) == 2
