from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ragtune.generation.protocol import GENERATORS, Completion, GeneratorBase, Message

_CONTEXT_ITEM = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=^\[\d+\]|\Z)", re.MULTILINE | re.DOTALL)


@GENERATORS.register("scripted")
@dataclass
class ScriptedGenerator(GeneratorBase):
    """Deterministic fake for tests and examples.

    With a ``script`` it replies with those texts in turn. Without one it answers extractively:
    the sentence of the numbered context sharing most words with the question, cited as [n];
    with no overlap at all it says the context does not hold the answer."""

    script: list[str] = field(default_factory=list)
    """Replies, returned in order and cycled."""
    calls: list[list[Message]] = field(default_factory=list, init=False, repr=False)
    limits: list[tuple[int, list[str]]] = field(default_factory=list, init=False, repr=False)
    """Each call's (max_tokens, stop): what bounds the answer, as a real engine would be told."""
    piecewise: bool = False
    """Stream each reply word by word, as an engine streams tokens (otherwise in one piece)."""
    taken: list[int] = field(default_factory=list, init=False, repr=False)
    """Each piecewise stream's count of pieces its reader took: fewer than the reply's words when it stopped."""

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        self.calls.append(list(messages))
        self.limits.append((max_tokens, list(stop or [])))
        prompt = "\n".join(m["content"] for m in messages)
        text = self.script[(len(self.calls) - 1) % len(self.script)] if self.script else self._extract(messages[-1]["content"])
        return Completion(text, len(prompt.split()), len(text.split()))

    def stream(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None) -> Iterator[Completion]:
        whole = self.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        words = re.findall(r"\s*\S+", whole.text) if self.piecewise else []
        if not words:
            yield whole
            return
        self.taken.append(0)
        for i, word in enumerate(words):
            self.taken[-1] += 1
            yield Completion(word, whole.prompt_tokens if i == 0 else 0, 1)

    @staticmethod
    def _extract(user: str) -> str:
        context, _, question = user.rpartition("Question:")
        qwords = {w for w in re.findall(r"\w+", question.lower()) if len(w) > 3}
        best, best_n, best_overlap = "", 0, 0
        for n, body in _CONTEXT_ITEM.findall(context):
            for sentence in re.split(r"(?<=[.!?])\s+|\n+", body):
                overlap = len(qwords & set(re.findall(r"\w+", sentence.lower())))
                if overlap > best_overlap:
                    best, best_n, best_overlap = sentence.strip(), int(n), overlap
        if not best:
            return "The provided documents do not contain the answer."
        return f"{best} [{best_n}]"
