"""The API in-process (FastAPI's TestClient) on the fakes: auth, limits, chat with citations, streaming,
ingest and search, feedback, and config changes taking effect without a restart."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from ragtune.serve.app import create_app
from ragtune.serve.keys import Scope
from ragtune.serve.state import key_store, open_state

QUESTION = "How many times do webhooks retry failed deliveries?"
WEBHOOKS = "Webhooks retry failed deliveries eight times with exponential backoff."


def set_serve(project, **fields) -> None:
    """Edit config.json as a user would while the server runs (mtime must change: sleep past its granularity)."""
    data = json.loads(project.config_path.read_text())
    data["serve"].update(fields)
    time.sleep(0.01)
    project.config_path.write_text(json.dumps(data))


@pytest.fixture
def served(indexed):
    project, _ = indexed
    _, key = key_store(project).create("tests", scopes=[Scope.chat, Scope.ingest])
    client = TestClient(create_app(project.root), headers={"Authorization": f"Bearer {key}"})
    return project, client, key


def sse(response) -> list:
    events = [line[len("data: "):] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_chat_answers_with_citations_in_the_extension_field(served):
    project, client, _ = served
    r = client.post("/v1/chat/completions", json={"model": "rag", "messages": [{"role": "user", "content": QUESTION}]})
    assert r.status_code == 200, r.text
    body = r.json()
    # the scripted generator answers extractively: the best-overlapping sentence, cited as [n]
    content = body["choices"][0]["message"]["content"]
    assert content.startswith(WEBHOOKS) and content.endswith("]")
    info = body["ragtune"]
    assert info["variant"] == "rag" and info["assigned"] is False and info["refused"] is False
    assert [c["doc_id"] for c in info["citations"]] == ["kb/webhooks.md"]
    n = info["citations"][0]["n"]
    assert content == f"{WEBHOOKS} [{n}]" and info["retrieved"][n - 1] == info["citations"][0]["chunk_id"]
    assert body["id"] == info["interaction_id"] and body["usage"]["total_tokens"] > 0
    rows = open_state(project).rows()
    assert [r["id"] for r in rows] == [body["id"]]
    assert rows[0]["answer"] == content and rows[0]["chunk_ids"] == info["retrieved"]
    assert rows[0]["prompt"][0]["role"] == "system" and QUESTION in rows[0]["prompt"][1]["content"]


def test_stream_spells_the_same_answer_and_ends_with_citations(served):
    _, client, _ = served
    msg = {"messages": [{"role": "user", "content": QUESTION}], "model": "rag"}
    whole = client.post("/v1/chat/completions", json=msg).json()
    r = client.post("/v1/chat/completions", json={**msg, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse(r)
    text = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    last = events[-1]
    assert last["choices"] == [] and last["ragtune"]["citations"] == whole["ragtune"]["citations"]
    assert last["ragtune"]["interaction_id"] != whole["id"] and last["usage"] == whole["usage"]
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


def test_refusal_without_generation_when_nothing_is_relevant(served):
    _, client, _ = served
    r = client.post("/v1/chat/completions", json={"model": "rag", "messages": [
        {"role": "user", "content": "Who painted the ceiling of the Sistine Chapel?"}]})
    info = r.json()["ragtune"]
    assert info["refused"] is True and info["reason"] and info["citations"] == []


def test_base_variant_passes_the_conversation_through(served):
    project, client, _ = served
    r = client.post("/v1/chat/completions", json={"model": "base", "messages": [
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}]})
    assert r.status_code == 200
    # no passages: the scripted generator says the context does not hold the answer; nothing is cited
    assert r.json()["ragtune"]["citations"] == [] and r.json()["ragtune"]["retrieved"] == []
    prompt = open_state(project).rows()[-1]["prompt"]
    assert prompt == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello there"}]


def test_auth_unknown_model_and_validation_errors_are_openai_shaped(served):
    _, client, _ = served
    msg = {"messages": [{"role": "user", "content": "hi"}]}
    r = client.post("/v1/chat/completions", json=msg, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = client.post("/v1/chat/completions", json=msg, headers={"Authorization": ""})
    assert r.status_code == 401
    r = client.post("/v1/chat/completions", json={**msg, "model": "ft:nope"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = client.post("/v1/chat/completions", json={"messages": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert client.get("/health", headers={}).json()["status"] == "ok"


def test_revoked_key_stops_working_without_restart(served):
    project, client, _ = served
    assert client.get("/v1/models").status_code == 200
    store = key_store(project)
    store.revoke(store.list()[0].id)
    assert client.get("/v1/models").status_code == 401


def test_rate_limit_answers_429_with_retry_after(served):
    project, client, _ = served
    set_serve(project, rate_limit_per_minute=6, rate_limit_burst=2)
    assert [client.get("/v1/models").status_code for _ in range(3)] == [200, 200, 429]
    r = client.get("/v1/models")
    # 6 per minute refills one request every 10 s; the bucket is empty, so at most 10 s to wait
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 10


def test_size_limits_answer_413(served):
    project, client, _ = served
    set_serve(project, max_message_chars=50, max_body_bytes=2048)
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 51}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "message_too_long"
    r = client.post("/v1/ingest", json={"documents": [{"id": "big", "text": "y" * 3000}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():  # no content-length: the limit counts what arrives
        for _ in range(5):
            yield b" " * 1000
    r = client.post("/v1/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_generation_timeout_answers_504(served, monkeypatch):
    from ragtune.generation.fake import ScriptedGenerator

    project, client, _ = served
    set_serve(project, timeout_seconds=0.2)
    slow = ScriptedGenerator.generate

    def generate(self, *args, **kwargs):
        time.sleep(1.0)
        return slow(self, *args, **kwargs)

    monkeypatch.setattr(ScriptedGenerator, "generate", generate)
    t = time.perf_counter()
    r = client.post("/v1/chat/completions", json={"model": "base", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 504 and time.perf_counter() - t < 0.9
    r = client.post("/v1/chat/completions", json={"model": "base", "stream": True,
                                                  "messages": [{"role": "user", "content": "hi"}]})
    events = [line for line in r.text.splitlines() if line.startswith("data: ")]
    assert json.loads(events[-1][6:])["error"]["code"] is None and "longer than" in events[-1]
    statuses = [row["status"] for row in open_state(project).rows()]
    assert statuses == [504, 504]


def test_weights_change_without_restart_and_assignment_is_recorded(served):
    project, client, _ = served
    msg = {"messages": [{"role": "user", "content": QUESTION}]}
    first = client.post("/v1/chat/completions", json={**msg, "user": "u1"}).json()["ragtune"]
    assert first["variant"] == "rag" and first["assigned"] is True
    set_serve(project, variants={"base": 1.0, "rag": 0.0})
    second = client.post("/v1/chat/completions", json={**msg, "user": "u1", "model": "auto"}).json()["ragtune"]
    assert second["variant"] == "base" and second["assigned"] is True
    set_serve(project, variants={"nonexistent": 1.0})  # refused: the server keeps the previous weights
    third = client.post("/v1/chat/completions", json={**msg, "user": "u1"}).json()["ragtune"]
    assert third["variant"] == "base"
    rows = open_state(project).rows()
    assert [(r["variant"], r["assigned"]) for r in rows] == [("rag", True), ("base", True), ("base", True)]
    assert len({r["subject"] for r in rows}) == 1 and "u1" not in rows[0]["subject"]


def test_ingest_then_search_then_chat_on_the_new_document(served):
    _, client, _ = served
    doc = {"id": "parrots", "title": "Parrot care", "text": "Parrots need cuttlebone for calcium every week.",
           "metadata": {"category": "pets"}}
    r = client.post("/v1/ingest", json={"documents": [doc]})
    assert r.status_code == 200 and r.json()["added"] == 1 and r.json()["chunks"] == 1
    assert client.post("/v1/ingest", json={"documents": [doc]}).json()["unchanged"] == 1
    hits = client.post("/v1/search", json={"query": "parrot cuttlebone calcium", "k": 2}).json()["data"]
    assert hits[0]["doc_id"] == "parrots" and hits[0]["metadata"]["category"] == "pets"
    filtered = client.post("/v1/search", json={"query": "parrot cuttlebone", "filter": ["category=billing"]}).json()
    assert filtered["data"] and all(h["doc_id"] != "parrots" for h in filtered["data"])
    r = client.post("/v1/search", json={"query": "x", "filter": ["nonsense"]})
    assert r.status_code == 400
    bad = client.post("/v1/ingest", json={"documents": [{"id": "a", "text": "t", "metadata": {"doc_id": "x"}}]})
    assert bad.status_code == 200 and bad.json()["added"] == 0 and "reserved" in bad.json()["skipped"][0]


def test_feedback_only_on_ones_own_interactions(served):
    project, client, _ = served
    iid = client.post("/v1/chat/completions", json={"model": "rag", "messages": [
        {"role": "user", "content": QUESTION}]}).json()["id"]
    r = client.post("/v1/feedback", json={"interaction_id": iid, "rating": "down", "corrected_answer": "Eight times."})
    assert r.status_code == 200 and r.json() == {"interaction_id": iid, "rating": "down", "corrected": True}
    assert client.post("/v1/feedback", json={"interaction_id": "chatcmpl-x", "rating": "up"}).status_code == 404
    _, other = key_store(project).create("other")
    r = client.post("/v1/feedback", json={"interaction_id": iid, "rating": "up"},
                    headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404
    row = open_state(project).rows()[0]
    assert (row["rating"], row["corrected"]) == ("down", "Eight times.")


def test_embeddings_float_and_base64_agree(served):
    import base64

    import numpy as np

    project, client, _ = served
    r = client.post("/v1/embeddings", json={"input": ["refund policy", "webhooks"], "model": "any"})
    floats = [d["embedding"] for d in r.json()["data"]]
    expected = project.embedder.embed(["refund policy", "webhooks"])
    assert np.allclose(floats, expected, atol=1e-6)
    r = client.post("/v1/embeddings", json={"input": "webhooks", "encoding_format": "base64"})
    vec = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(vec, expected[1], atol=1e-6)
    assert client.post("/v1/embeddings", json={"input": ["ok", " "]}).status_code == 400


def test_bodies_can_be_left_out_of_the_log(served):
    project, client, _ = served
    set_serve(project, log_bodies=False)
    client.post("/v1/chat/completions", json={"model": "rag", "messages": [{"role": "user", "content": QUESTION}]})
    row = open_state(project).rows()[0]
    assert row["request"] is None and row["prompt"] is None and row["answer"] is None
    assert row["chunk_ids"] and row["citations"] and row["completion_tokens"] > 0


def test_models_list_succeeded_fine_tunes_and_remotes(served):
    from ragtune.finetune.jobs import JobStore
    from ragtune.finetune.trainer import job_dir

    project, client, _ = served
    jobs = JobStore(project.root / "jobs.db")
    done, failed, gone = (jobs.create("smollm2-135m", "t.jsonl", "x", None, None, {}) for _ in range(3))
    for job, status in ((done, "succeeded"), (failed, "failed"), (gone, "succeeded")):
        jobs.update(job.id, status=status)
    (job_dir(project.root, done.id) / "adapter").mkdir(parents=True)  # `gone` has lost its adapter folder
    set_serve(project, remotes={"partner": {"generator": {"type": "scripted", "params": {"script": ["from afar"]}},
                                            "rag": False}})
    listed = {m["id"]: m["owned_by"] for m in client.get("/v1/models").json()["data"]}
    assert listed == {"base": "ragtune", "rag": "ragtune", f"ft:{done.id}": "ragtune", f"ft+rag:{done.id}": "ragtune",
                      "partner": "remote"}
    r = client.post("/v1/chat/completions", json={"model": "partner", "messages": [{"role": "user", "content": "hi"}]})
    assert r.json()["choices"][0]["message"]["content"] == "from afar" and r.json()["model"] == "partner"
    r = client.post("/v1/chat/completions", json={"model": f"ft:{failed.id}", "messages": [
        {"role": "user", "content": "hi"}]})
    assert r.status_code == 404 and "is not usable" in r.json()["error"]["message"]


def test_weights_set_with_project_init(tmp_path):
    from typer.testing import CliRunner

    from ragtune.cli.app import app

    res = CliRunner().invoke(app, ["project", "init", "-p", str(tmp_path / "p"), "--set", "serve.variants.rag=0.9",
                                   "--set", "serve.variants.ft+rag:abc=0.1", "--set", "serve.retention_days=30",
                                   "--json"])
    assert res.exit_code == 0, res.output
    serve = json.loads(res.stdout)["serve"]
    assert serve["variants"] == {"rag": 0.9, "ft+rag:abc": 0.1} and serve["retention_days"] == 30
    assert serve["host"] == "127.0.0.1" and serve["require_key"] is True
