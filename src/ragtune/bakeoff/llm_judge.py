"""The LLM judge over a bake-off's answers: every answer to an answerable question graded for correctness
against the reference, and for support by the passages its model was shown (none without retrieval, none for
a refusal, which claims nothing). An answer is judged as it is scored: its final text (after a RAFT marker,
without citation markers), or a refusal's own words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragtune.bakeoff.judge_summary import JudgeSetup
from ragtune.errors import RagtuneError
from ragtune.evaluation.judge import AnswerJudge
from ragtune.evaluation.judge_openai import OpenAIJudge, judge_key_env
from ragtune.evaluation.qa import QARow

Passages = Callable[[Sequence[str]], list[str]]
"""Chunk ids -> their texts, in the order given."""


@dataclass
class JudgeRun:
    """The judge a bake-off asks, and what the results record of it."""

    judge: AnswerJudge
    setup: JudgeSetup

    @classmethod
    def openai(cls, base_url: str | None, model: str | None) -> JudgeRun | None:
        """The judge of ``--judge-base-url`` / ``--judge-model`` (None when neither is given). The setup records
        the endpoint the client resolved (OPENAI_BASE_URL or OpenAI's when no URL is given), never the key."""
        if model is None:
            if base_url is not None:
                raise RagtuneError("--judge-base-url needs --judge-model (the model name the endpoint serves)")
            return None
        judge = OpenAIJudge(base_url=base_url or "", model=model, api_key_env=judge_key_env())
        return cls(judge, JudgeSetup(model=model, base_url=str(judge.client.base_url).rstrip("/")))


def judge_rows(rows: dict[str, list[QARow]], judge: AnswerJudge, passages: Passages,
               progress: Callable[..., None] = lambda *a, **k: None) -> None:
    """Fill each answerable row's ``judgment`` in place."""
    todo = [r for rs in rows.values() for r in rs if r.answerable]
    progress("judge", 0, total=len(todo))
    for r in todo:
        shown = [] if r.refused else passages(r.contexts)
        r.judgment = judge.judge(r.question, r.reference, r.final or r.answer, shown)
        progress("judge", 1, total=len(todo))
