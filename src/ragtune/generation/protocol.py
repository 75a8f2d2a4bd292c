"""The generator contract: chat messages in, a completion with its token usage out.
Prompt building lives outside the generator (rag/prompts.py)."""

from __future__ import annotations

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
