from __future__ import annotations

from dataclasses import dataclass

from ragtune.errors import RagtuneError
from ragtune.generation.protocol import GENERATORS, Completion, Message
from ragtune.openai_endpoint import OpenAIEndpoint


@GENERATORS.register("openai")
@dataclass
class OpenAIChatGenerator(OpenAIEndpoint):
    """Any OpenAI-compatible /v1/chat/completions endpoint, through the official client."""

    model: str = "gpt-4o-mini"
    """Model name the endpoint knows."""

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        try:
            r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature, stop=stop or None)
        except Exception as e:  # the SDK's errors all say what the server answered
            raise RagtuneError(f"chat endpoint {self.base_url or 'default'} failed: {e}") from e
        usage = r.usage
        return Completion(r.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                          usage.completion_tokens if usage else 0)
