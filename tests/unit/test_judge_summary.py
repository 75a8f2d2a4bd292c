"""The judge's sanity check against exact match, empty answers and answers sharing no word with the reference, and
its ranking against F1's, on hand-made rows."""

from __future__ import annotations

import warnings

import pytest

from ragtune.bakeoff.judge_summary import Agreement, JudgeSanity, rank_agreement, sanity
from ragtune.evaluation.judge import Judgment
from ragtune.evaluation.qa import QARow


def _row(em, final, correct, refused=False, parsed=True, judged=True, reference="r") -> QARow:
    judgment = Judgment(correct=correct, supported=None, parsed=parsed) if judged else None
    return QARow(id="1", question="q", reference=reference, answerable=bool(reference), answer=final or "I don't know",
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
    assert s.unrelated == Agreement(n=1, agree=1)  # "wrong" shares no token with "r"; "r r" does
    assert (s.judged, s.unparsed) == (11, 2)
    assert s.exact.rate == pytest.approx(2 / 3) and s.exact.text() == "2/3 (67%)"
    assert Agreement().rate is None and Agreement().text() == "0/0"


def test_sanity_counts_the_judge_rejecting_answers_that_share_no_word_with_the_reference():
    def row(final, correct, **kw):
        return _row(0.0, final, correct, reference="The Eiffel Tower", **kw)

    rows = [row("Big Ben", False), row("London", True), row("Paris, France.", False),  # tokens eiffel, tower: none
            row("Eiffel's", False),  # normalised "eiffels", not "eiffel": shares none
            row("The", True),  # an answer of only an article has no token at all: shares none
            row("a TOWER in Paris", True), row("Eiffel!", True), row("It is the tower", False),  # one token each: out
            row("I cannot say", False, refused=True), row("", False), row("  ", True),  # refusal, empty: out
            row("Rome", None, parsed=False), row("Rome", None, judged=False),  # unread, not judged: out
            _row(None, "Rome", False, reference="")]  # an unanswerable question has no reference to share a word with
    s = sanity(rows)
    # unrelated: Big Ben (not correct), London (correct), Paris, France (not), Eiffel's (not), The (correct)
    assert s.unrelated == Agreement(n=5, agree=3)
    assert s.empty == Agreement(n=3, agree=2) and s.exact == Agreement(n=0, agree=0)
    assert (s.judged, s.unparsed) == (13, 1)
    assert s.lenient  # 3 of 5 = 60%, below 80%, on 5 answers


@pytest.mark.parametrize("n, agree, lenient", [
    (5, 3, True), (10, 7, True), (5, 0, True),  # below 80% on at least 5 answers
    (5, 4, False), (10, 8, False), (10, 10, False),  # 80% and above
    (4, 0, False), (4, 3, False), (0, 0, False),  # fewer than 5 say little either way
])
def test_the_judge_is_lenient_below_80_percent_on_at_least_5_unrelated_answers(n, agree, lenient):
    s = JudgeSanity(exact=Agreement(), empty=Agreement(), unrelated=Agreement(n=n, agree=agree), judged=n, unparsed=0)
    assert s.lenient is lenient


def test_a_sanity_check_recorded_before_the_unrelated_answers_were_counted_reads_as_0_of_0():
    old = JudgeSanity.model_validate({"exact": {"n": 3, "agree": 3}, "empty": {"n": 2, "agree": 1}, "judged": 9,
                                      "unparsed": 0})
    assert old.unrelated == Agreement(n=0, agree=0) and not old.lenient


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
