from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ragtune.generation.protocol import GENERATORS, Completion, GeneratorBase, Message
from ragtune.openai_endpoint import OpenAIEndpoint


@GENERATORS.register("openai")
@dataclass
class OpenAIChatGenerator(OpenAIEndpoint, GeneratorBase):
    """Any OpenAI-compatible /v1/chat/completions endpoint, through the official client."""

    model: str = "gpt-4o-mini"
    """Model name the endpoint knows."""

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        try:
            r = self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature, stop=stop or None)
        except Exception as e:  # the SDK's errors all say what the server answered
            raise self.error("chat", e) from e
        usage = r.usage
        return Completion(r.choices[0].message.content or "", usage.prompt_tokens if usage else 0,
                          usage.completion_tokens if usage else 0)

    def stream(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None) -> Iterator[Completion]:
        """Pieces as the endpoint streams them (see generation.protocol.stream)."""
        try:
            chunks = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                stop=stop or None, stream=True, stream_options={"include_usage": True})
            for chunk in chunks:
                text = "".join(c.delta.content or "" for c in chunk.choices)
                usage = chunk.usage
                if text or usage:
                    yield Completion(text, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)
        except Exception as e:  # the SDK's errors all say what the server answered
            raise self.error("chat", e) from e
