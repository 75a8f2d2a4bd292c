"""The OpenAI-compatible generator against a real server: llama.cpp's own HTTP server (started by
xllamacpp in-process on a loopback port) serving the packaged SmolLM2."""

from __future__ import annotations

import re

import pytest

from ragtune.embedding.openai_compat import OpenAIEmbedder
from ragtune.errors import RagtuneError
from ragtune.generation.llamacpp import LlamaCppGenerator
from ragtune.generation.openai_compat import OpenAIChatGenerator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url():
    local = LlamaCppGenerator(context=2048)
    server = local.server
    address = server.listening_address
    assert address.startswith("http://127.0.0.1:")
    yield f"{address}/v1"


def test_chat_through_the_official_client(server_url):
    gen = OpenAIChatGenerator(model="smollm2", base_url=server_url)
    out = gen.generate([{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert out.text.strip()
    assert out.prompt_tokens > 0 and 0 < out.completion_tokens <= 8


def test_streaming_pieces_add_up_to_the_whole_answer(server_url):
    gen = OpenAIChatGenerator(model="smollm2", base_url=server_url)
    msgs = [{"role": "user", "content": "Name three colours."}]
    pieces = list(gen.stream(msgs, max_tokens=12))
    assert len([p for p in pieces if p.text]) > 1  # really streamed, not one block
    assert "".join(p.text for p in pieces) == gen.generate(msgs, max_tokens=12).text  # greedy: same text
    assert pieces[-1].completion_tokens == 12


def test_a_real_4xx_is_not_retried_and_quotes_the_server(server_url):
    gen = OpenAIChatGenerator(model="smollm2", base_url=server_url, max_retries=3)
    too_long = "word " * 5000  # beyond the server's 2048-token context
    with pytest.raises(RagtuneError, match=rf"^chat endpoint {server_url} answered HTTP 400: .*context"):
        gen.generate([{"role": "user", "content": too_long}], max_tokens=4)


@pytest.fixture(scope="module")
def embedding_url():
    """The same GGUF served by llama.cpp in embedding mode (mean pooling: OpenAI's /v1/embeddings)."""
    import xllamacpp as xlc

    from ragtune.generation.models import resolve_gguf

    params = xlc.CommonParams()
    params.model.path = str(resolve_gguf("smollm2-135m"))
    params.embedding = True
    params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.n_ctx = 512
    params.verbosity = -1
    server = xlc.Server(params)
    yield f"{server.listening_address}/v1"


def test_embeddings_through_the_official_client(embedding_url):
    emb = OpenAIEmbedder(model="smollm2", base_url=embedding_url)
    v = emb.embed(["the cat sat on the mat", "a cat sat on a mat", "stock markets fell sharply"])
    assert v.shape == (3, 576) and emb.dimension == 576  # SmolLM2-135M's hidden size
    assert abs(float(v[0] @ v[0]) - 1) < 1e-5  # normalised
    assert v[0] @ v[1] > v[0] @ v[2]  # the paraphrase is nearer than the unrelated sentence


def test_unreachable_endpoint_is_a_clear_error():
    gen = OpenAIChatGenerator(model="x", base_url="http://127.0.0.1:9/v1", timeout=2, max_retries=0)
    with pytest.raises(RagtuneError, match=re.escape("chat endpoint http://127.0.0.1:9/v1 could not be reached")):
        gen.generate([{"role": "user", "content": "hi"}], max_tokens=4)
