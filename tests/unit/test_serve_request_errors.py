"""Bad requests answer 400 in OpenAI's error shape with the field as the user wrote it and the problem in
words: no validator internals ("function-after[...]", "35: JSON decode error")."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragtune.serve.app import create_app
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store


@pytest.fixture
def client(project):
    _, key = key_store(project).create("tests", 1e9, 10**6, [Scope.chat, Scope.ingest])  # no 429s
    return TestClient(create_app(project.root), headers={"Authorization": f"Bearer {key}"})


def error(client, path: str, body: str) -> dict:
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    e = r.json()["error"]
    assert e["type"] == "invalid_request_error"
    assert "function-after" not in e["message"] and "JSON decode error" not in e["message"]
    return e


def test_malformed_json_names_where_it_breaks(client):
    e = error(client, "/v1/chat/completions", '{"messages": [{"role": "user",\n "content": }]}')
    assert e["code"] == "invalid_json" and e["param"] is None
    assert e["message"] == "the request body is not valid JSON: Expecting value at line 2, column 13"


def test_wrong_type_says_what_was_expected_and_what_came(client):
    e = error(client, "/v1/chat/completions", '{"messages": [{"role": "user", "content": 42}]}')
    assert e["param"] == "messages[0].content"
    assert e["message"] == "messages[0].content: expected a string or an array, got a number"
    e = error(client, "/v1/chat/completions", '{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}')
    assert e["message"] == "temperature: expected a number, got a string"
    e = error(client, "/v1/ingest", '{"documents": [{"id": "a", "text": "x", "metadata": {"tags": [1]}}]}')
    assert e["param"] == "documents[0].metadata.tags"
    assert e["message"].endswith("got an array") and "a string" in e["message"]


def test_missing_field_is_named(client):
    e = error(client, "/v1/chat/completions", '{"model": "rag"}')
    assert e["param"] == "messages" and e["message"] == "messages: this field is required"
    # inside a list part that matched its shape, the deeper problem is the one reported
    e = error(client, "/v1/chat/completions", '{"messages": [{"role": "user", "content": [{"type": "text"}]}]}')
    assert e["message"] == "messages[0].content[0].text: this field is required"
    e = error(client, "/v1/chat/completions", "")
    assert e["message"] == "the request needs a JSON body"
    e = error(client, "/v1/chat/completions", "[1]")
    assert e["message"] == "the request body: expected an object, got an array"


def test_other_problems_keep_the_validator_words_without_internals(client):
    e = error(client, "/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800"}]}')
    assert e["message"] == "messages[0].content: text must be valid Unicode (it holds a lone surrogate)"
    e = error(client, "/v1/chat/completions", '{"messages": [], "max_tokens": 0}')
    assert e["param"] == "messages" and "max_tokens: " in e["message"]


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_ingest_refuses_empty_text(client, project, text):
    body = json.dumps({"documents": [{"id": "ok", "text": "fine"}, {"id": "blank", "text": text}]})
    e = error(client, "/v1/ingest", body)
    assert e["param"] == "documents[1].text"
    assert e["message"] == "documents[1].text: the document's text is empty (or only whitespace)"
    assert project.index_spec() is None  # nothing written


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=6)
FIELDS = st.sampled_from(["role", "content", "messages", "stop", "temperature", "model", "user", "max_tokens"])


@given(body=st.fixed_dictionaries({"messages": st.lists(st.dictionaries(FIELDS, JSON, max_size=3), max_size=2)},
                                  optional={"stop": JSON, "temperature": JSON, "model": JSON, "user": JSON}))
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_no_bad_body_shows_validator_internals(client, body):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code in (200, 400, 404), r.text
    if r.status_code == 400:
        message = r.json()["error"]["message"]
        assert not any(internal in message for internal in ("function-after", "constrained-", "list[", "Value error"))
