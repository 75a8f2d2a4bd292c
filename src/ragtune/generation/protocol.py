"""The generator contract: chat messages in, a completion with its token usage out.
Prompt building lives outside the generator (rag/prompts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, TypedDict

from ragtune.registry import Registry


class Message(TypedDict):
    role: str
    content: str


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator(Protocol):
    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion: ...


GENERATORS: Registry[Generator] = Registry("generator")


def stream(generator: Generator, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
           stop: list[str] | None = None) -> Iterator[Completion]:
    """The completion in pieces as it is generated: each piece's text is the next delta and its token counts
    add up to the usage. Streaming is optional: a generator without a ``stream`` method yields its whole
    completion once, so the one-method protocol stays the contract."""
    if hasattr(generator, "stream"):
        yield from generator.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
    else:
        yield generator.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
