"""One chat request answered by one variant: the grounded path (retrieve, gate, generate, cite, check) or the
client's conversation passed to the model, whole or streamed. What the model is sent is the variant's own
``messages()``, the same the bake-off measures. Synchronous: the app runs it in a thread.

A grounded answer streams once checked against its citations: what the model wrote may be replaced or refused
(``rag.check``), and a sent delta cannot be taken back. Its generation is bounded to the answer format (the
shipped reader's stops at its citation), so the wait is the answer's, not a token limit's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ragtune.app.variants import Variant, question_of
from ragtune.generation.protocol import Completion, Message
from ragtune.project import Project
from ragtune.rag.answer import Answer, finish, generated, prepare
from ragtune.rag.checkers import checker
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


def _done(project: Project, a: Answer, variant: Variant, out: Completion, seconds: float) -> Answer:
    if variant.retrieval:
        return finish(a, out, seconds, checker(project.config.checker))
    return Answer(a.question, out.text, False, prompt_tokens=out.prompt_tokens,
                  completion_tokens=out.completion_tokens, generate_seconds=seconds)


def complete(project: Project, variant: Variant, messages: list[Message], p: Params) -> Reply:
    a, prompt = _plan(project, variant, messages)
    if not prompt:
        return Reply(a, [], p.max_tokens)
    t = time.perf_counter()
    out = generated(project.generator(variant.generator), prompt, p.max_tokens, p.temperature,
                    _stops(variant, messages, p), variant.ends_at_citation)
    return Reply(_done(project, a, variant, out, time.perf_counter() - t), prompt, p.max_tokens)


def stream_reply(project: Project, variant: Variant, messages: list[Message], p: Params) -> Iterator[str | Reply]:
    """Text deltas, then the Reply (whose answer text the deltas spell out). A grounded answer is one delta,
    sent once checked; a conversation passed through streams as the model generates it."""
    if variant.retrieval:
        reply = complete(project, variant, messages, p)
        yield reply.answer.text
        yield reply
        return
    a, prompt = _plan(project, variant, messages)
    t = time.perf_counter()
    parts, prompt_tokens, completion_tokens = [], 0, 0
    for piece in project.generator(variant.generator).stream(prompt, max_tokens=p.max_tokens, temperature=p.temperature,
                                                             stop=_stops(variant, messages, p)):
        parts.append(piece.text)
        prompt_tokens += piece.prompt_tokens
        completion_tokens += piece.completion_tokens
        if piece.text:
            yield piece.text
    out = Completion("".join(parts), prompt_tokens, completion_tokens)
    yield Reply(_done(project, a, variant, out, time.perf_counter() - t), prompt, p.max_tokens)
