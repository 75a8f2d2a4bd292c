"""The web page's routes in-process (TestClient) on the fakes: nothing without a key, the sign-in cookie and
what it may do, scopes, and the chat page's data paths (passages, the API through the cookie, feedback that
the fine-tuning export takes)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from ragtune.serve.app import create_app
from ragtune.serve.caller import COOKIE, WEB_HEADER
from ragtune.serve.export import export_finetune
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store, open_state

QUESTION = "How many times do webhooks retry failed deliveries?"
WEBHOOKS = "Webhooks retry failed deliveries eight times with exponential backoff."
WEB = {WEB_HEADER: "1"}


@pytest.fixture
def web(indexed):
    """(project, a client with no key, keys by name)."""
    project, _ = indexed
    store = key_store(project)
    keys = {name: store.create(name, scopes=scopes)[1] for name, scopes in
            [("chat", [Scope.chat]), ("ingest", [Scope.ingest]), ("admin", [Scope.admin])]}
    return project, TestClient(create_app(project.root)), keys


def signed_in(client: TestClient, key: str) -> TestClient:
    r = client.post("/sign-in", data={"key": key, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.mark.parametrize("path", ["/", "/ui/passage?chunk_id=kb/webhooks.md%230"])
def test_without_a_key_every_page_is_the_sign_in_form(web, path):
    _, client, _ = web
    r = client.get(path)
    assert r.status_code == 401 and "<h1>Sign in</h1>" in r.text
    assert "Webhooks" not in r.text and "<nav" not in r.text and 'value="rag"' not in r.text


def test_a_wrong_key_is_refused_on_the_form(web):
    _, client, _ = web
    r = client.post("/sign-in", data={"key": "rtk-nope"}, follow_redirects=False)
    assert r.status_code == 401 and "not valid" in r.text and COOKIE not in r.headers.get("set-cookie", "")


def test_sign_in_sets_an_http_only_strict_session_cookie_and_goes_back(web):
    _, client, keys = web
    r = client.post("/sign-in", data={"key": keys["chat"], "next": "/"}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert r.headers["location"] == "/"
    assert cookie.startswith(f"{COOKIE}={keys['chat']};") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # a session cookie
    page = client.get("/")
    assert page.status_code == 200 and "<h1>Chat</h1>" in page.text
    assert 'value="auto"' in page.text and 'value="base"' in page.text and 'value="rag"' in page.text


@pytest.mark.parametrize("target, expected", [("/x", "/x"), ("https://evil.example/", "/"), ("//evil.example", "/")])
def test_sign_in_only_goes_back_to_this_server(web, target, expected):
    _, client, keys = web
    r = client.post("/sign-in", data={"key": keys["chat"], "next": target}, follow_redirects=False)
    assert r.headers["location"] == expected


def test_a_sign_in_posted_from_another_site_is_refused(web):
    _, client, keys = web
    r = client.post("/sign-in", data={"key": keys["chat"]}, headers={"Origin": "https://evil.example"},
                    follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_sign_out_forgets_the_key(web):
    _, client, keys = web
    signed_in(client, keys["chat"])
    r = client.post("/sign-out", follow_redirects=False)
    assert r.status_code == 303 and f'{COOKIE}=""' in r.headers["set-cookie"]
    assert client.get("/").status_code == 401


def test_a_revoked_key_signs_the_page_out(web):
    project, client, keys = web
    signed_in(client, keys["chat"])
    key_id = next(k.id for k in key_store(project).list() if k.name == "chat")
    key_store(project).revoke(key_id)
    assert client.get("/").status_code == 401


def test_a_page_needs_its_scope(web):
    _, client, keys = web
    signed_in(client, keys["ingest"])
    r = client.get("/")
    assert r.status_code == 403 and "lacks the chat scope" in r.text
    assert signed_in(client, keys["admin"]).get("/").status_code == 200


def test_an_htmx_request_without_a_key_reloads_into_the_sign_in_form(web):
    _, client, _ = web
    r = client.get("/ui/passage", params={"chunk_id": "kb/webhooks.md#0"}, headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Refresh"] == "true"


def test_passage_shows_the_chunk_text_escaped(web):
    _, client, keys = web
    signed_in(client, keys["admin"])
    r = client.post("/v1/ingest", headers=WEB, json={"documents": [
        {"id": "x", "text": "Tags like <script>alert(1)</script> stay text.", "title": "X"}]})
    assert r.status_code == 200, r.text
    page = client.get("/ui/passage", params={"chunk_id": "x#0"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert "no longer in the index" in client.get("/ui/passage", params={"chunk_id": "gone#0"}).text


def test_the_cookie_authenticates_reads_and_only_the_pages_own_writes(web):
    _, client, keys = web
    signed_in(client, keys["chat"])
    assert client.get("/v1/models").status_code == 200
    body = {"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}
    # a cross-site form could send the cookie, but never the page's header
    assert client.post("/v1/chat/completions", json=body).status_code == 401
    assert client.post("/v1/chat/completions", json=body, headers=WEB).status_code == 200


def test_feedback_from_the_page_is_exported_for_fine_tuning(web, tmp_path):
    project, client, keys = web
    signed_in(client, keys["chat"])
    r = client.post("/v1/chat/completions", headers=WEB, json={
        "model": "rag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]})
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    iid = events[-1]["ragtune"]["interaction_id"]
    assert "".join(c["delta"].get("content", "") for e in events for c in e["choices"]).startswith(WEBHOOKS)
    r = client.post("/v1/feedback", headers=WEB, json={"interaction_id": iid, "rating": "down",
                                                       "corrected_answer": "Eight times."})
    assert r.status_code == 200, r.text
    report = export_finetune(open_state(project), tmp_path / "ft.jsonl")
    (line,) = [json.loads(x) for x in (tmp_path / "ft.jsonl").read_text().splitlines()]
    assert report.corrected == 1 and line["messages"][-1] == {"role": "assistant", "content": "Eight times."}
    assert QUESTION in line["messages"][-2]["content"]


def test_without_required_keys_the_page_opens_directly(indexed):
    project, _ = indexed
    data = json.loads(project.config_path.read_text())
    data["serve"]["require_key"] = False
    project.config_path.write_text(json.dumps(data))
    assert TestClient(create_app(project.root)).get("/").status_code == 200


def test_the_static_files_are_served_without_a_key(web):
    _, client, _ = web
    for name in ("htmx.min.js", "chat.js", "ragtune.css"):
        assert client.get(f"/static/{name}").status_code == 200
