"""One chat request answered by one variant: the grounded path (retrieve, gate, generate, cite) or the
client's conversation passed to the model, whole or streamed. Synchronous: the app runs it in a thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ragtune.errors import RagtuneError
from ragtune.generation.protocol import Completion, Message
from ragtune.project import Project
from ragtune.rag.answer import Answer, finish, prepare
from ragtune.rag.prompts import STOP, grounded_messages
from ragtune.serve.variants import Variant


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


def question_of(messages: list[Message]) -> str:
    """The question a grounded variant answers: the last user message (earlier turns are not retrieved on)."""
    for m in reversed(messages):
        if m["role"] == "user" and m["content"].strip():
            return m["content"]
    raise RagtuneError("the messages hold no user message to answer")


def _plan(project: Project, variant: Variant, messages: list[Message]) -> tuple[Answer, list[Message]]:
    """The prepared answer and the messages to generate from (none when it is already refused)."""
    question = question_of(messages)
    if variant.rag:
        cfg = project.config
        a = prepare(question, project.retriever, cfg.answer, mode=cfg.retrieval.mode)
        return a, [] if a.refused else grounded_messages(question, a.contexts, variant.system)
    # a pass-through conversation; the client's system message wins over a tuned model's trained one
    has_system = any(m["role"] in ("system", "developer") for m in messages)
    prompt = messages if has_system or not variant.system else [{"role": "system", "content": variant.system},
                                                                *messages]
    return Answer(question, "", False), prompt


def _stops(variant: Variant, p: Params) -> list[str]:
    return [*STOP, *p.stop] if variant.rag else p.stop


def _done(a: Answer, variant: Variant, out: Completion, seconds: float) -> Answer:
    if variant.rag:
        return finish(a, out, seconds)
    return Answer(a.question, out.text, False, prompt_tokens=out.prompt_tokens,
                  completion_tokens=out.completion_tokens, generate_seconds=seconds)


def complete(project: Project, variant: Variant, messages: list[Message], p: Params) -> Reply:
    a, prompt = _plan(project, variant, messages)
    if not prompt:
        return Reply(a, [], p.max_tokens)
    t = time.perf_counter()
    out = project.generator(variant.generator).generate(prompt, max_tokens=p.max_tokens, temperature=p.temperature,
                                                        stop=_stops(variant, p))
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
    echo = _EchoFilter(a.question) if variant.rag else None
    parts, prompt_tokens, completion_tokens, sent = [], 0, 0, False
    for piece in project.generator(variant.generator).stream(prompt, max_tokens=p.max_tokens,
                                                             temperature=p.temperature, stop=_stops(variant, p)):
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
