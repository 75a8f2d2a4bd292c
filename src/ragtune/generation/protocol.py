"""The generator contract: chat messages in, a completion with its token usage out.
Prompt building lives outside the generator (rag/prompts.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from ragtune.component import Component
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

    def stream(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None) -> Iterator[Completion]:
        """The completion in pieces as it is generated: each piece's text is the next delta and its token
        counts add up to the usage."""
        ...

    def warm_up(self) -> None:
        """Load the model now rather than on the first request (idempotent)."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class GeneratorBase(Component, ABC):
    """What a generator inherits: streaming is optional, so without an engine of its own ``stream``
    yields the whole completion once and ``generate`` stays the one method to write."""

    @abstractmethod
    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion: ...

    def stream(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None) -> Iterator[Completion]:
        yield self.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)


GENERATORS: Registry[Generator] = Registry("generator")
