"""The OpenAI-compatible generator against a real server: llama.cpp's own HTTP server (started by
xllamacpp in-process on a loopback port) serving the packaged SmolLM2."""

from __future__ import annotations

import pytest

from ragtune.errors import RagtuneError
from ragtune.generation.llamacpp import LlamaCppGenerator
from ragtune.generation.openai_compat import OpenAIChatGenerator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url():
    local = LlamaCppGenerator(context=2048)
    server = local._load()
    address = server.listening_address
    assert address.startswith("http://127.0.0.1:")
    yield f"{address}/v1"


def test_chat_through_the_official_client(server_url):
    gen = OpenAIChatGenerator(model="smollm2", base_url=server_url)
    out = gen.generate([{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert out.text.strip()
    assert out.prompt_tokens > 0 and 0 < out.completion_tokens <= 8


def test_unreachable_endpoint_is_a_clear_error():
    gen = OpenAIChatGenerator(model="x", base_url="http://127.0.0.1:9/v1", timeout=2)
    gen.client.max_retries = 0
    with pytest.raises(RagtuneError, match="chat endpoint http://127.0.0.1:9/v1 failed"):
        gen.generate([{"role": "user", "content": "hi"}], max_tokens=4)
