"""One chat request answered by one variant: the grounded path (retrieve, gate, generate, cite) or the
client's conversation passed to the model, whole or streamed. What the model is sent is the variant's own
``messages()``, the same the bake-off measures. Synchronous: the app runs it in a thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ragtune.app.variants import Variant, question_of
from ragtune.generation.protocol import Completion, Message
from ragtune.project import Project
from ragtune.rag.answer import Answer, finish, prepare
from ragtune.rag.followup import standalone


@dataclass
class Params:
    max_tokens: int
    temperature: float
    stop: list[str]


@dataclass
class Reply:
    answer: Answer
    prompt: list[Message]
    """What the model was given (empty when the answer was refused before generating)."""
    max_tokens: int

    @property
    def finish_reason(self) -> str:
        return "length" if self.answer.completion_tokens >= self.max_tokens else "stop"


def _plan(project: Project, variant: Variant, messages: list[Message]) -> tuple[Answer, list[Message]]:
    """The prepared answer and the messages to generate from (none when it is already refused)."""
    if variant.retrieval:
        question = standalone(messages)  # a follow-up retrieves with what the conversation was about
        cfg = project.config
        a = prepare(question, project.retriever, cfg.answer, mode=cfg.retrieval.mode)
        return a, [] if a.refused else variant.messages(messages, a.contexts)
    return Answer(question_of(messages), "", False), variant.messages(messages)


def _stops(variant: Variant, messages: list[Message], p: Params) -> list[str]:
    return [*variant.stop(messages), *p.stop]


def _done(a: Answer, variant: Variant, out: Completion, seconds: float) -> Answer:
    if variant.retrieval:
        return finish(a, out, seconds)
    return Answer(a.question, out.text, False, prompt_tokens=out.prompt_tokens,
                  completion_tokens=out.completion_tokens, generate_seconds=seconds)


def complete(project: Project, variant: Variant, messages: list[Message], p: Params) -> Reply:
    a, prompt = _plan(project, variant, messages)
    if not prompt:
        return Reply(a, [], p.max_tokens)
    t = time.perf_counter()
    out = project.generator(variant.generator).generate(prompt, max_tokens=p.max_tokens, temperature=p.temperature,
                                                        stop=_stops(variant, messages, p))
    return Reply(_done(a, variant, out, time.perf_counter() - t), prompt, p.max_tokens)


def stream_reply(project: Project, variant: Variant, messages: list[Message], p: Params) -> Iterator[str | Reply]:
    """Text deltas as they are generated, then the Reply (whose answer text the deltas spell out, up to
    trailing whitespace)."""
    a, prompt = _plan(project, variant, messages)
    if not prompt:
        yield a.text
        yield Reply(a, [], p.max_tokens)
        return
    t = time.perf_counter()
    echo = _EchoFilter(a.question) if variant.retrieval else None
    parts, prompt_tokens, completion_tokens, sent = [], 0, 0, False
    for piece in project.generator(variant.generator).stream(prompt, max_tokens=p.max_tokens, temperature=p.temperature,
                                                             stop=_stops(variant, messages, p)):
        parts.append(piece.text)
        prompt_tokens += piece.prompt_tokens
        completion_tokens += piece.completion_tokens
        delta = echo.feed(piece.text) if echo else piece.text
        if echo and not sent:
            delta = delta.lstrip()  # as the whole answer is stripped once its echo is gone
        if delta:
            sent = True
            yield delta
    if echo and (tail := echo.flush()):
        sent = True
        yield tail
    out = Completion("".join(parts), prompt_tokens, completion_tokens)
    final = _done(a, variant, out, time.perf_counter() - t)
    if not sent and final.text:  # nothing but an echo, or nothing at all: the refusal is the answer
        yield final.text
    yield Reply(final, prompt, p.max_tokens)


class _EchoFilter:
    """Holds back the start of a streamed answer while it may still be the model repeating the question, and
    drops that repetition, as drop_echo does for a whole answer (small models often echo before answering)."""

    def __init__(self, question: str):
        self.prefixes = [f"Question: {question}", question]
        self.held, self.open = "", False

    def feed(self, text: str) -> str:
        if self.open:
            return text
        self.held += text
        head = self.held.lstrip().lower()
        if any(p.lower().startswith(head) and len(head) < len(p) for p in self.prefixes):
            return ""
        return self.flush()

    def flush(self) -> str:
        if self.open:
            return ""
        self.open = True
        text = self.held.lstrip()
        for prefix in self.prefixes:
            if text.lower().startswith(prefix.lower()):
                text = text[len(prefix):].lstrip()
        return text
