"""Multi-turn: a follow-up is joined to the question it follows up before retrieval, through the API (the
retrieval query a follow-up ran on names what the conversation was about), and the rule itself on known cases."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ragtune.errors import RagtuneError
from ragtune.rag.followup import is_follow_up, standalone
from ragtune.serve.app import create_app
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store, open_state

PRO = "How much does the Pro plan cost per month?"
PLANS = [{"id": "pricing/pro", "title": "Pro plan", "text": "The Pro plan costs 20 euros per month."},
         {"id": "pricing/business", "title": "Business plan", "text": "The Business plan costs 45 euros per month."}]


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


@pytest.mark.parametrize("text, expected", [
    ("and on the Business plan?", True),          # a connective
    ("What about refunds?", True),
    ("Also for annual billing?", True),
    ("Does it retry more often on weekends?", True),   # refers back
    ("Business plan?", True),                      # two content words
    ("When are invoices emailed to customers?", False),
    ("How many times do webhooks retry failed deliveries?", False),
    ("Andrew's account was locked twice this week", False),  # "and" only as a word's start
])
def test_what_counts_as_a_follow_up(text, expected):
    assert is_follow_up(text) is expected


def test_standalone_joins_a_follow_up_to_its_topic_question():
    assert standalone([user(PRO)]) == PRO
    assert standalone([user(PRO), assistant("20 euros."), user("and on the Business plan?")]) == \
        f"{PRO} and on the Business plan?"
    # a chain of follow-ups keeps the topic, without growing
    chain = [user(PRO), assistant("20."), user("and Business?"), assistant("45."), user("and Enterprise?")]
    assert standalone(chain) == f"{PRO} and Enterprise?"
    # a new question is asked as written
    fresh = [user(PRO), assistant("20."), user("When are invoices emailed to customers?")]
    assert standalone(fresh) == "When are invoices emailed to customers?"
    # a conversation opening with a follow-up has nothing to join it to
    assert standalone([user("and on the Business plan?")]) == "and on the Business plan?"
    with pytest.raises(RagtuneError, match="no user message"):
        standalone([assistant("hello")])


@pytest.fixture
def client(indexed):
    project, _ = indexed
    _, key = key_store(project).create("t", scopes=[Scope.chat, Scope.ingest])
    c = TestClient(create_app(project.root), headers={"Authorization": f"Bearer {key}"})
    assert c.post("/v1/ingest", json={"documents": PLANS}).status_code == 200
    return project, c


@pytest.mark.parametrize("stream", [False, True])
def test_a_follow_up_retrieves_with_what_the_conversation_was_about(client, stream):
    project, c = client
    first = c.post("/v1/chat/completions", json={"model": "rag", "messages": [user(PRO)]}).json()
    assert first["ragtune"]["query"] == PRO
    answer = first["choices"][0]["message"]["content"]
    r = c.post("/v1/chat/completions", json={"model": "rag", "stream": stream, "messages": [
        user(PRO), assistant(answer), user("and on the Business plan?")]})
    info = r.json()["ragtune"] if not stream else \
        [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")][-1]["ragtune"]
    assert info["query"] == f"{PRO} and on the Business plan?"
    assert "pricing/business#0" in info["retrieved"]
    # the model is asked the same standalone question, and the log keeps it for the next fine-tune
    row = open_state(project).rows()[-1]
    assert "Pro plan cost per month? and on the Business plan?" in row["prompt"][-1]["content"]
    assert row["request"][-1]["content"] == "and on the Business plan?"


def test_without_the_rewrite_the_follow_up_alone_would_miss_the_topic(client):
    """The oracle for the test above: the follow-up by itself does not name the pricing question."""
    _, c = client
    alone = c.post("/v1/chat/completions", json={"model": "rag", "messages": [user("and on the Business plan?")]}).json()
    assert alone["ragtune"]["query"] == "and on the Business plan?"


def test_a_variant_without_retrieval_gets_the_conversation_and_no_query(client):
    _, c = client
    r = c.post("/v1/chat/completions", json={"model": "base", "messages": [
        user(PRO), assistant("20 euros."), user("and on the Business plan?")]}).json()
    assert r["ragtune"]["query"] is None
