"""The LLM judge contract: one answer graded against its question's reference (correct?) and, when the
model saw passages, against them (supported?). Built-ins register by name, as plugins do
(``ragtune.judge`` entry points): ``openai`` (any OpenAI-compatible endpoint) and ``scripted`` (the fake)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel

from ragtune.registry import Registry


class Judgment(BaseModel):
    """One judge's verdicts. ``parsed`` is False when no reply could be read within the retries; then both
    verdicts are None and ``reply`` keeps the last unreadable one."""

    correct: bool | None
    supported: bool | None
    """None when no passages were given (an answer without retrieval has nothing to be supported by)."""
    parsed: bool = True
    reply: str = ""
    """The judge's raw reply (the last one asked), kept so a verdict can be audited."""
    tries: int = 1


class AnswerJudge(Protocol):
    def judge(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> Judgment:
        """Grade ``answer``; ``passages`` empty means support is not asked (``Judgment.supported`` None)."""
        ...


JUDGES: Registry[AnswerJudge] = Registry("judge")
