"""An answer that ends at its citation: the shipped reader's trained format is a short answer and one citation
group ("$24 [2]"). Out of domain it runs on after the citation, copying the next passage's title ("$12 [1] Plans
and pricing Quillstack offers four plans..."), so what follows the group is not its answer, and generating it
only adds to the wait. Only for a model trained to that format: others may cite several passages mid-sentence."""

from __future__ import annotations

import re

from ragtune.generation.protocol import Completion, Generator, Message

_GROUP = re.compile(r"\[\d+\](?:[\s,]*\[\d+\])*")
"""A citation group: "[1]", "[1][2]", "[1] [2]", "[1], [2]"."""
_OPEN = re.compile(r"[\s,]*(?:\[\d*)?")
"""What may still grow into another citation of the group (spaces, an unclosed "[2")."""


def answer_end(text: str) -> int | None:
    """Where the answer ends: after its first citation group that follows some words (a leading "[1]" is not
    an answer), once something other than more of the group follows it; None while it may go on."""
    for m in _GROUP.finditer(text):
        if text[:m.start()].strip():
            return None if _OPEN.fullmatch(text, m.end()) else m.end()
    return None


def until_citation(text: str) -> str:
    """``text`` without what follows its first citation group."""
    end = answer_end(text)
    return text if end is None else text[:end]


def generate_until_cited(generator: Generator, messages: list[Message], max_tokens: int, temperature: float,
                         stop: list[str]) -> Completion:
    """The answer, streamed until it has ended (``answer_end``) and cut there, so the wait is the answer's. The
    usage is what the engine reported for the pieces taken."""
    text, prompt_tokens, completion_tokens = "", 0, 0
    for piece in generator.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop):
        text += piece.text
        prompt_tokens += piece.prompt_tokens
        completion_tokens += piece.completion_tokens
        if answer_end(text) is not None:
            break  # the stream, left unreferenced, is closed here: the engine stops generating
    return Completion(until_citation(text), prompt_tokens, completion_tokens)
