"""Whether an answer matches its reference: the rule the demo's score counts by. On an answerable question
the answer is right when it holds the reference, normalised as SQuAD normalises (lower case, no punctuation
or articles), as a contiguous run of its tokens (``answer_metrics.containment``): a right answer said in a
sentence counts, a paraphrase does not. On an unanswerable question (empty reference) a refusal is right and
any answer is wrong."""

from __future__ import annotations

from enum import StrEnum

from ragtune.evaluation.qa import QARow


class Outcome(StrEnum):
    RIGHT_ANSWER = "right answer"
    RIGHT_REFUSAL = "right refusal"
    WRONG = "wrong"
    """An answer that does not hold the reference, or any answer to an unanswerable question."""
    WRONG_REFUSAL = "wrong refusal"
    """A refusal of a question the documents answer."""

    @property
    def right(self) -> bool:
        return self in (Outcome.RIGHT_ANSWER, Outcome.RIGHT_REFUSAL)


def outcome(row: QARow) -> Outcome:
    if not row.answerable:
        return Outcome.RIGHT_REFUSAL if row.refused else Outcome.WRONG
    if row.refused:
        return Outcome.WRONG_REFUSAL
    return Outcome.RIGHT_ANSWER if row.containment == 1.0 else Outcome.WRONG
