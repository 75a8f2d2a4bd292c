"""What a bake-off says about its LLM judge: which judge with which rubric and prompt, a sanity check against
exact match (an answer equal to the reference should be judged correct; an empty answer or a refusal should
not, nor, nearly always, an answer sharing no word with the reference), and whether the judge ranks the variants
as F1 does."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import combinations

from pydantic import BaseModel
from scipy import stats

from ragtune.evaluation.answer_metrics import reference_recall
from ragtune.evaluation.judge_prompt import JUDGE_PROMPT_VERSION, RUBRIC
from ragtune.evaluation.qa import QARow


class JudgeSetup(BaseModel):
    """Who judged and how; the key is never stored (it stays in the environment)."""

    model: str
    base_url: str = ""
    """Empty: OPENAI_BASE_URL or OpenAI."""
    prompt_version: str = JUDGE_PROMPT_VERSION
    rubric: str = RUBRIC


class Agreement(BaseModel):
    """Of ``n`` answers whose right verdict is known without a judge, ``agree`` the judge got right."""

    n: int = 0
    agree: int = 0

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    def text(self) -> str:
        return f"{self.agree}/{self.n}" + ("" if self.rate is None else f" ({self.rate:.0%})")


LENIENT_BELOW = 0.8
"""A judge that calls fewer of the unrelated answers not correct than this passes wrong answers too often for its
verdicts to rank variants..."""
LENIENT_MIN = 5
"""...once there are at least this many of them (fewer say little either way)."""


class JudgeSanity(BaseModel):
    exact: Agreement
    """Answers with exact match 1, judged correct."""
    empty: Agreement
    """Empty answers and refusals to answerable questions, judged not correct."""
    unrelated: Agreement = Agreement()
    """Answers to answerable questions, neither empty nor refusals, sharing none of the reference's tokens
    (reference recall 0, on the answer metrics' normalisation), judged not correct. Such answers are almost
    always wrong, but a correct paraphrase ("Lisbon" for "the capital of Portugal") can land here: a signal of a
    judge lenient on wrong answers, not a proof. 0/0 in results written before it was measured."""
    judged: int
    unparsed: int
    """Judgments whose reply could not be read within the retries (left out of every figure)."""

    @property
    def lenient(self) -> bool:
        """Whether the judge passes answers sharing no word with the reference too often (agreement below
        LENIENT_BELOW on at least LENIENT_MIN of them) for its verdicts to rank the variants."""
        rate = self.unrelated.rate
        return self.unrelated.n >= LENIENT_MIN and rate is not None and rate < LENIENT_BELOW


class RankAgreement(BaseModel):
    """The variants ordered by mean F1 and by mean judge correctness, best first."""

    by_f1: list[str]
    by_judge: list[str]
    kendall_tau: float | None
    """Kendall's tau-b of the two orders; None with fewer than two variants or a constant score."""
    disagreements: list[tuple[str, str]]
    """(a, b): F1 ranks a above b and the judge b above a."""


class JudgeSummary(BaseModel):
    setup: JudgeSetup
    sanity: JudgeSanity
    ranking: RankAgreement


def _agreement(rows: list[QARow], correct: bool) -> Agreement:
    """Of ``rows``, how many the judge gave the verdict ``correct``."""
    return Agreement(n=len(rows), agree=sum(bool(r.judgment and r.judgment.correct is correct) for r in rows))


def _empty(r: QARow) -> bool:
    return r.refused or not r.final.strip()


def sanity(rows: Iterable[QARow]) -> JudgeSanity:
    judged = [r for r in rows if r.judgment is not None]
    read = [r for r in judged if r.judgment and r.judgment.parsed]
    unrelated = [r for r in read if r.answerable and not _empty(r) and reference_recall(r.final, r.reference) == 0]
    return JudgeSanity(exact=_agreement([r for r in read if r.exact_match == 1.0], correct=True),
                       empty=_agreement([r for r in read if _empty(r)], correct=False),
                       unrelated=_agreement(unrelated, correct=False),
                       judged=len(judged), unparsed=len(judged) - len(read))


def rank_agreement(f1: dict[str, float | None], judge: dict[str, float | None]) -> RankAgreement:
    """Over the variants both scored: the two orders, Kendall's tau-b and every pair they order oppositely
    (ties are no disagreement)."""
    scored = {n: (f, j) for n, f in f1.items() if f is not None and (j := judge.get(n)) is not None}
    by_f1 = sorted(scored, key=lambda n: -scored[n][0])
    by_judge = sorted(scored, key=lambda n: -scored[n][1])
    tau = None
    if len(scored) > 1:
        value = float(stats.kendalltau([f for f, _ in scored.values()], [j for _, j in scored.values()]).statistic)
        tau = None if math.isnan(value) else value
    # by_f1 puts a at or above b; a pair the judge orders the other way (not tied) is a disagreement
    opposite = [(a, b) for a, b in combinations(by_f1, 2)
                if scored[a][0] > scored[b][0] and scored[a][1] < scored[b][1]]
    return RankAgreement(by_f1=by_f1, by_judge=by_judge, kendall_tau=tau, disagreements=opposite)
