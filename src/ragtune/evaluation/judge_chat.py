"""A judge built on any chat completion: the fixed prompt, the reply read, and a bounded number of
follow-ups when it cannot be read. What fails to read after them is recorded unparsed, never raised:
one bad reply must not stop a bake-off."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ragtune.errors import RagtuneError
from ragtune.evaluation.judge import Judgment
from ragtune.evaluation.judge_prompt import judge_messages, parse_reply, retry_messages
from ragtune.generation.protocol import Message

Ask = Callable[[list[Message], bool], str]
"""``ask(messages, with_support) -> reply text``: one chat completion."""


def check_parse_retries(n: int) -> None:
    if n < 0:
        raise RagtuneError(f"parse_retries must be 0 or more (follow-ups after an unreadable reply), got {n}")


def judge_by_chat(ask: Ask, question: str, reference: str, answer: str, passages: Sequence[str],
                  parse_retries: int) -> Judgment:
    with_support = bool(passages)
    messages = judge_messages(question, reference, answer, passages)
    for tries in range(1, parse_retries + 2):
        reply = ask(messages, with_support)
        verdicts = parse_reply(reply, with_support)
        if verdicts is not None:
            return Judgment(correct=verdicts[0], supported=verdicts[1], reply=reply, tries=tries)
        messages = retry_messages(messages, reply, with_support)
    return Judgment(correct=None, supported=None, parsed=False, reply=reply, tries=parse_retries + 1)
