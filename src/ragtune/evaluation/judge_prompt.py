"""The judge's fixed rubric and prompt, and the reading of its reply. ``JUDGE_PROMPT_VERSION`` names this
text: change the wording and the version goes up, so cached and stored judgments of another prompt are
never mixed with these."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.generation.protocol import Message

JUDGE_PROMPT_VERSION = "2"
CORRECT = ("correct: true when the answer gives the same fact as the reference answer (other wording, more "
           "detail or a whole sentence are fine); false when it contradicts the reference, misses its key fact, "
           "hedges between several answers, is empty, or declines to answer.")
SUPPORTED = ("supported: true when every claim the answer makes is stated in the passages or follows directly "
             "from them; false when any claim is not in the passages.")
RUBRIC = f"{CORRECT}\n{SUPPORTED}"
SYSTEM = "You grade answers to questions. Reply with one JSON object and nothing else."
RETRY = 'That reply could not be read. Reply with only the JSON object {example}.'


# The format with placeholders, not a filled-in example: a small judge (Qwen2.5-Coder-0.5B in the recorded
# bake-off) copied version 1's example verdict word for word for every answer.
def _example(with_support: bool) -> str:
    return '{"correct": true|false, "supported": true|false}' if with_support else '{"correct": true|false}'


def judge_messages(question: str, reference: str, answer: str, passages: Sequence[str]) -> list[Message]:
    """The judge's prompt: the rubric's criteria that apply (support only with passages), then the case."""
    with_support = bool(passages)
    parts = ["Grade the answer.", CORRECT, *([SUPPORTED] if with_support else []), "",
             f"Question: {question}", f"Reference answer: {reference}"]
    if with_support:
        parts += ["Passages:", *(f"[{n}] {p}" for n, p in enumerate(passages, start=1))]
    parts += [f"Answer to grade: {answer}", "", f"Reply with {_example(with_support)}."]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def retry_messages(asked: list[Message], reply: str, with_support: bool) -> list[Message]:
    """The conversation asked again after an unreadable ``reply``: the reply, then a reminder of the format
    (a deterministic model asked the same words again would only repeat itself)."""
    return [*asked, {"role": "assistant", "content": reply},
            {"role": "user", "content": RETRY.format(example=_example(with_support))}]


def _verdict(name: str, reply: str) -> bool | None:
    """The last ``name: true|false|yes|no`` of ``reply`` (JSON or plain lines, quoted or not); None when absent.
    The last, because a judge that reasons first states its verdict at the end."""
    found = re.findall(rf'\b{name}\b"?\s*[:=]\s*"?(true|false|yes|no)\b', reply, flags=re.IGNORECASE)
    return found[-1].lower() in ("true", "yes") if found else None


def parse_reply(reply: str, with_support: bool) -> tuple[bool, bool | None] | None:
    """(correct, supported) read from the judge's reply; None when a verdict asked for is missing.
    ``supported`` is None when it was not asked, whatever the reply says."""
    correct = _verdict("correct", reply)
    supported = _verdict("supported", reply) if with_support else None
    if correct is None or (with_support and supported is None):
        return None
    return correct, supported


def response_schema(with_support: bool) -> dict:
    """The reply's JSON schema, for endpoints that constrain output to it (OpenAI's and llama.cpp's
    ``response_format``): a small model then cannot answer in prose."""
    fields = ["correct", "supported"] if with_support else ["correct"]
    return {"type": "object", "properties": {f: {"type": "boolean"} for f in fields}, "required": fields,
            "additionalProperties": False}
