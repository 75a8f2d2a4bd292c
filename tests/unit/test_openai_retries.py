"""The OpenAI-compatible generator and embedder against a local fake server that fails on purpose:
which answers are retried, how long the client backs off, and what the user is told."""

from __future__ import annotations

import threading
from itertools import pairwise

import numpy as np
import pytest

from fake_http import FakeServer
from ragtune.embedding.openai_compat import OpenAIEmbedder
from ragtune.errors import RagtuneError
from ragtune.generation.openai_compat import OpenAIChatGenerator

HI = [{"role": "user", "content": "hi"}]
CHAT_OK = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def scripted(*replies):
    """Replies in order; the last one repeats."""
    replies = list(replies)
    return lambda req: replies.pop(0) if len(replies) > 1 else replies[0]


def fail(status, message):
    return status, {"error": {"message": message, "type": "server_error"}}, {}


def test_5xx_is_retried_with_exponential_backoff_then_succeeds():
    with FakeServer(scripted(fail(500, "boom"), fail(503, "busy"), (200, CHAT_OK, {}))) as srv:
        gen = OpenAIChatGenerator(model="m", base_url=srv.url + "/v1", max_retries=2)
        out = gen.generate(HI, max_tokens=4)
    assert out.text == "hello" and out.prompt_tokens == 3
    assert [r.path for r in srv.requests] == ["/v1/chat/completions"] * 3
    first, second = (b.at - a.at for a, b in pairwise(srv.requests))
    # the SDK waits 0.5 s * 2**n less up to 25% jitter: 0.375-0.5 s, then 0.75-1.0 s
    assert 0.37 <= first < 0.7 and 0.74 <= second < 1.3


def test_retries_run_out_with_a_message_naming_endpoint_status_and_server_words():
    with FakeServer(scripted(fail(500, "model crashed"))) as srv:
        gen = OpenAIChatGenerator(model="m", base_url=srv.url + "/v1", max_retries=1)
        with pytest.raises(RagtuneError) as e:
            gen.generate(HI)
    assert len(srv.requests) == 2
    assert str(e.value) == f"chat endpoint {srv.url}/v1 answered HTTP 500 (after 1 retries): model crashed"


def test_429_honours_retry_after():
    with FakeServer(scripted((429, {"error": {"message": "slow down"}}, {"retry-after": "1.5"}),
                             (200, CHAT_OK, {}))) as srv:
        OpenAIChatGenerator(model="m", base_url=srv.url + "/v1", max_retries=3).generate(HI)
    assert len(srv.requests) == 2
    assert 1.45 <= srv.requests[1].at - srv.requests[0].at < 2.2  # the server's delay, not the 0.5 s default


def test_4xx_is_not_retried_and_says_what_the_server_said():
    with FakeServer(scripted(fail(400, "max_tokens must be positive"))) as srv:
        gen = OpenAIChatGenerator(model="m", base_url=srv.url + "/v1", max_retries=5)
        with pytest.raises(RagtuneError, match=r"answered HTTP 400: max_tokens must be positive$"):
            gen.generate(HI)
    assert len(srv.requests) == 1


def test_a_hanging_server_times_out_each_try():
    release = threading.Event()

    def hang(req):
        release.wait(10)
        return 200, CHAT_OK, {}

    with FakeServer(hang) as srv:
        gen = OpenAIChatGenerator(model="m", base_url=srv.url + "/v1", timeout=0.3, max_retries=1)
        try:
            with pytest.raises(RagtuneError, match=rf"^chat endpoint {srv.url}/v1 timed out after 0.3s "
                                                   r"\(after 1 retries\)$"):
                gen.generate(HI)
        finally:
            release.set()
    assert len(srv.requests) == 2


def test_unreachable_port_is_a_connection_error():
    with FakeServer(scripted((200, CHAT_OK, {}))) as srv:
        url = srv.url
    gen = OpenAIChatGenerator(model="m", base_url=url + "/v1", max_retries=0)
    with pytest.raises(RagtuneError, match=rf"^chat endpoint {url}/v1 could not be reached: "):
        gen.generate(HI)


def test_streaming_retries_the_opening_request():
    body = b"".join(b"data: " + part + b"\n\n" for part in (
        b'{"id":"s","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"hel"}}]}',
        b'{"id":"s","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"lo"}}]}',
        b'{"id":"s","object":"chat.completion.chunk","created":0,"model":"m","choices":[],'
        b'"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
        b"[DONE]"))
    with FakeServer(scripted(fail(502, "gateway"), (200, body, {"content-type": "text/event-stream"}))) as srv:
        pieces = list(OpenAIChatGenerator(model="m", base_url=srv.url + "/v1").stream(HI))
    assert [p.text for p in pieces] == ["hel", "lo", ""] and pieces[-1].completion_tokens == 2
    assert srv.requests[1].json()["stream"] is True and len(srv.requests) == 2


def test_embedder_retries_and_reports_the_same_way():
    ok = {"object": "list", "model": "e", "usage": {"prompt_tokens": 2, "total_tokens": 2},
          "data": [{"object": "embedding", "index": 0, "embedding": [3.0, 4.0]}]}
    with FakeServer(scripted(fail(500, "oom"), (200, ok, {}))) as srv:
        vectors = OpenAIEmbedder(model="e", base_url=srv.url + "/v1").embed(["x"])
    np.testing.assert_allclose(vectors, [[0.6, 0.8]])  # normalised 3-4-5
    assert len(srv.requests) == 2
    with (FakeServer(scripted(fail(404, "no such model e"))) as srv,
          pytest.raises(RagtuneError, match=rf"^embedding endpoint {srv.url}/v1 answered HTTP 404: no such model e$")):
        OpenAIEmbedder(model="e", base_url=srv.url + "/v1").embed(["x"])


def test_retry_settings_round_trip_through_the_config_dict():
    gen = OpenAIChatGenerator(model="m", base_url="http://h/v1", timeout=5, max_retries=7)
    params = gen.to_dict()["params"]
    assert params["timeout"] == 5 and params["max_retries"] == 7
    assert gen.client.max_retries == 7 and gen.client.timeout == 5
