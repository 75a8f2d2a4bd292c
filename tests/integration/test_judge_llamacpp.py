"""The LLM judge against a real OpenAI-compatible server: llama.cpp's own HTTP server (xllamacpp, in-process
on a loopback port) serving the packaged SmolLM2. What is checked is that its replies are read (the JSON schema
constrains them), not that a 135M model judges well."""

from __future__ import annotations

import pytest

from ragtune.evaluation.judge_openai import OpenAIJudge
from ragtune.generation.llamacpp import LlamaCppGenerator

pytestmark = pytest.mark.integration

CASES = [("How many times do webhooks retry failed deliveries?", "eight times", "They retry eight times.",
          ["Webhooks retry failed deliveries eight times, an hour apart."]),
         ("How fast are refunds issued?", "five business days", "Refunds take two weeks.",
          ["Refunds are issued within five business days."]),
         ("Who configures SAML single sign-on?", "an administrator", "An administrator does.", [])]


@pytest.fixture(scope="module")
def server_url():
    local = LlamaCppGenerator(context=2048)  # held while the tests run: the server lives as long as it does
    yield f"{local.server.listening_address}/v1"


def test_the_packaged_model_returns_judgments_that_are_read(server_url):
    judge = OpenAIJudge(base_url=server_url, model="smollm2", parse_retries=0)
    for question, reference, answer, passages in CASES:
        got = judge.judge(question, reference, answer, passages)
        assert got.parsed and got.tries == 1, got.reply
        assert isinstance(got.correct, bool)
        assert isinstance(got.supported, bool) if passages else got.supported is None
