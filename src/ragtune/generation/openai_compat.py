from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ragtune.component import Component
from ragtune.errors import RagtuneError
from ragtune.generation.protocol import GENERATORS, Completion, Message


@GENERATORS.register("openai")
@dataclass
class OpenAIChatGenerator(Component):
    """Any OpenAI-compatible /v1/chat/completions endpoint, through the official client."""

    model: str = "gpt-4o-mini"
    """Model name the endpoint knows."""
    base_url: str = ""
    """Endpoint base URL, e.g. http://127.0.0.1:8080/v1; empty means OPENAI_BASE_URL or OpenAI."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the key (the key itself is never saved in config)."""
    timeout: float = 120.0
    """Seconds before a request is abandoned."""
    _client: Any = field(default=None, init=False, repr=False)

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url or None, timeout=self.timeout,
                                  api_key=os.environ.get(self.api_key_env) or "not-needed")
        try:
            r = self._client.chat.completions.create(model=self.model, messages=messages,
                                                     max_tokens=max_tokens, temperature=temperature,
                                                     stop=stop or None)
        except Exception as e:  # the SDK's errors all say what the server answered
            raise RagtuneError(f"chat endpoint {self.base_url or 'default'} failed: {e}") from e
        usage = r.usage
        return Completion(r.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                          usage.completion_tokens if usage else 0)
