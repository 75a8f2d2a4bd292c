"""The judge's sanity check against exact match and its ranking against F1's, on hand-made rows."""

from __future__ import annotations

import warnings

import pytest

from ragtune.bakeoff.judge_summary import Agreement, rank_agreement, sanity
from ragtune.evaluation.judge import Judgment
from ragtune.evaluation.qa import QARow


def _row(em, final, correct, refused=False, parsed=True, judged=True) -> QARow:
    judgment = Judgment(correct=correct, supported=None, parsed=parsed) if judged else None
    return QARow(id="1", question="q", reference="r", answerable=True, answer=final or "I don't know",
                 final=final, refused=refused, exact_match=em, f1=em, judgment=judgment)


def test_sanity_counts_agreement_with_exact_match_and_with_empty_answers():
    rows = [_row(1.0, "r", True), _row(1.0, "r", True), _row(1.0, "r", False),  # EM 1: 2 of 3 judged correct
            _row(0.0, "", False, refused=True), _row(0.0, "", True, refused=True),  # refusals: 1 of 2 not correct
            _row(0.0, "   ", False),  # an empty answer that was not a refusal
            _row(0.0, "x", False, refused=True),  # refused, with words left: still a refusal
            _row(0.0, "wrong", False), _row(0.5, "r r", True),  # neither: not in the check
            _row(1.0, "r", None, parsed=False), _row(0.0, "", None, refused=True, parsed=False),  # unread: left out
            _row(1.0, "r", None, judged=False)]  # not judged at all
    s = sanity(rows)
    assert s.exact == Agreement(n=3, agree=2) and s.empty == Agreement(n=4, agree=3)
    assert (s.judged, s.unparsed) == (11, 2)
    assert s.exact.rate == pytest.approx(2 / 3) and s.exact.text() == "2/3 (67%)"
    assert Agreement().rate is None and Agreement().text() == "0/0"


def test_ranking_agreement_kendall_tau_and_the_pairs_ordered_oppositely():
    f1 = {"base": 0.1, "rag": 0.3, "fewshot+rag": 0.5, "ft+rag": 0.4}
    judge = {"base": 0.2, "rag": 0.7, "fewshot+rag": 0.6, "ft+rag": 0.5}
    r = rank_agreement(f1, judge)
    assert r.by_f1 == ["fewshot+rag", "ft+rag", "rag", "base"] and r.by_judge == ["rag", "fewshot+rag", "ft+rag", "base"]
    assert r.disagreements == [("fewshot+rag", "rag"), ("ft+rag", "rag")]
    # 6 pairs, 4 concordant and 2 discordant: tau = (4 - 2) / 6
    assert r.kendall_tau == pytest.approx(1 / 3)


def test_ranking_leaves_out_unscored_variants_and_ties_are_no_disagreement():
    r = rank_agreement({"a": 0.5, "b": 0.5, "c": None, "d": 0.9}, {"a": 0.2, "b": 0.8, "c": 0.9})
    assert r.by_f1 == ["a", "b"] and r.by_judge == ["b", "a"] and r.disagreements == []
    assert r.kendall_tau is None  # F1 is constant over the two: tau undefined
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one variant: no tau, and no scipy small-sample warning on the terminal
        one = rank_agreement({"a": 0.5}, {"a": 0.1})
    assert (one.by_f1, one.kendall_tau, one.disagreements) == (["a"], None, [])
    judge_tie = rank_agreement({"a": 0.5, "b": 0.3}, {"a": 0.5, "b": 0.5})
    assert judge_tie.disagreements == [] and judge_tie.kendall_tau is None
    same = rank_agreement({"a": 0.1, "b": 0.2, "c": 0.3}, {"a": 0.0, "b": 0.5, "c": 1.0})
    assert same.kendall_tau == pytest.approx(1.0) and same.disagreements == []
    reverse = rank_agreement({"a": 0.1, "b": 0.2}, {"a": 0.9, "b": 0.5})
    assert reverse.kendall_tau == pytest.approx(-1.0) and reverse.disagreements == [("b", "a")]
    far = rank_agreement({"a": 0.9, "b": 0.2}, {"a": 0.1, "b": 0.5})  # a's judge score is below b's F1
    assert far.disagreements == [("a", "b")]
