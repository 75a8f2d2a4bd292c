"""The scripted judge: deterministic, for tests and examples. It goes through the real prompt and reply
reading, so what it was asked (``calls``) is exactly what an endpoint would be sent.

With a ``script`` it replies with those texts in turn (cycled). Without one it replies by rule: correct when
the answer holds the reference as a contiguous run of tokens, supported when every token of the answer occurs
in the passages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragtune.component import Component
from ragtune.evaluation.answer_metrics import containment, normalize
from ragtune.evaluation.judge import JUDGES, Judgment
from ragtune.evaluation.judge_chat import check_parse_retries, judge_by_chat
from ragtune.generation.protocol import Message


@JUDGES.register("scripted")
@dataclass
class ScriptedJudge(Component):
    script: list[str] = field(default_factory=list)
    """Raw replies, returned in order and cycled."""
    parse_retries: int = 2
    calls: list[list[Message]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        check_parse_retries(self.parse_retries)

    def judge(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> Judgment:
        def ask(messages: list[Message], with_support: bool) -> str:
            self.calls.append(list(messages))
            if self.script:
                return self.script[(len(self.calls) - 1) % len(self.script)]
            verdicts = {"correct": containment(answer, reference) == 1.0}
            if with_support:
                seen = set(normalize(" ".join(passages)).split())
                verdicts["supported"] = bool(normalize(answer)) and set(normalize(answer).split()) <= seen
            return json.dumps(verdicts)

        return judge_by_chat(ask, question, reference, answer, passages, self.parse_retries)
