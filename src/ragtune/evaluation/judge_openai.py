"""The judge on any OpenAI-compatible endpoint, through the project's one OpenAI client (``OpenAIEndpoint``:
timeouts, 5xx and 429 retried with backoff by the official client, then an error naming the endpoint)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ragtune.evaluation.judge import JUDGES, Judgment
from ragtune.evaluation.judge_chat import check_parse_retries, judge_by_chat
from ragtune.evaluation.judge_prompt import response_schema
from ragtune.generation.protocol import Message
from ragtune.openai_endpoint import OpenAIEndpoint

KEY_ENV = "RAGTUNE_JUDGE_API_KEY"


def judge_key_env() -> str:
    """The judge's own key variable when it is set, else OPENAI_API_KEY (a judge on the same account)."""
    return KEY_ENV if os.environ.get(KEY_ENV) else "OPENAI_API_KEY"


@JUDGES.register("openai")
@dataclass
class OpenAIJudge(OpenAIEndpoint):
    model: str = "gpt-4o-mini"
    """Model name the endpoint knows."""
    parse_retries: int = 2
    """Follow-ups asking for the format again when a reply cannot be read; then the judgment is unparsed."""
    json_schema: bool = True
    """Constrain the reply to the verdicts' JSON schema (``response_format``), which OpenAI, llama.cpp and
    vLLM honour; off for an endpoint that refuses the parameter."""
    max_tokens: int = 64

    def __post_init__(self) -> None:
        check_parse_retries(self.parse_retries)

    def judge(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> Judgment:
        return judge_by_chat(self._ask, question, reference, answer, passages, self.parse_retries)

    def _ask(self, messages: list[Message], with_support: bool) -> str:
        extra = {"response_format": {"type": "json_schema", "json_schema": {
            "name": "judgment", "strict": True, "schema": response_schema(with_support)}}} if self.json_schema else {}
        try:
            r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=self.max_tokens,
                                                    temperature=0.0, **extra)
        except Exception as e:  # the SDK's errors all say what the server answered
            raise self.error("judge", e) from e
        return r.choices[0].message.content or ""
